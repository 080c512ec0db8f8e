"""Outlook's throttling limits per (app, mailbox): requests per 10-minute
window with a Retry-After that counts down, and requests in flight."""
import threading
import time

import pytest
import requests


def test_over_the_window_limit_is_429_until_the_window_passes(alice, control, sandbox):
    assert control.post("/throttling", json={"requests_per_window": 3}).status_code == 200
    assert [alice.get("/me").status_code for _ in range(3)] == [200, 200, 200]
    throttled = alice.get("/me")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    first_wait = int(throttled.headers["Retry-After"])
    assert 598 <= first_wait <= 600
    sandbox.world.clock.advance(200)
    later_wait = int(alice.get("/me").headers["Retry-After"])
    assert first_wait - 201 <= later_wait <= first_wait - 199  # counts down with the clock
    sandbox.world.clock.advance(later_wait)
    assert alice.get("/me").status_code == 200


def test_limits_are_per_app_and_mailbox(alice, bob, control, sandbox):
    control.post("/throttling", json={"requests_per_window": 1})
    assert alice.get("/me").status_code == 200
    assert alice.get("/me").status_code == 429
    # Another mailbox, or another app on the same mailbox, is not affected.
    assert bob.get("/me").status_code == 200
    token = control.post("/tokens", json={"mailbox": "alice@contoso.com", "client_id": "another-app"}).json()
    other_app = requests.get(sandbox.graph_url + "/me", headers={"Authorization": f"Bearer {token['access_token']}"},
                             verify=sandbox.ca_path, timeout=10)
    assert other_app.status_code == 200


def test_throttling_switched_off(alice, control):
    control.post("/throttling", json={"requests_per_window": 1, "enabled": False})
    assert [alice.get("/me").status_code for _ in range(3)] == [200, 200, 200]
    # Requests made while throttling was off do not count once it is back on.
    assert control.post("/settings", json={"throttling": True}).json()["throttling"] is True
    assert [alice.get("/me").status_code for _ in range(2)] == [200, 429]


def test_concurrency_limit_frees_slots_when_requests_finish(alice, control):
    control.post("/throttling", json={"concurrent": 1})
    control.post("/faults", json={"method": "GET", "path": "/me", "status": None, "delay": 0.5, "times": 1})
    slow = threading.Thread(target=alice.get, args=("/me",))
    slow.start()
    # Wait until the slow request has met its fault rule; it takes the only
    # slot right after, and keeps it for the 0.5 s delay.
    for _ in range(50):
        if control.get("/faults").json()["value"][0]["hits"] == 1:
            break
        time.sleep(0.02)
    time.sleep(0.1)
    blocked = alice.get("/me/calendars")
    slow.join()
    assert blocked.status_code == 429
    assert blocked.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
    assert blocked.headers["Retry-After"]
    assert alice.get("/me/calendars").status_code == 200


def test_failed_requests_release_their_slot(alice, control):
    control.post("/throttling", json={"concurrent": 1})
    assert alice.get("/me/calendars/unknown-id").status_code == 404
    assert alice.get("/me").status_code == 200


def test_throttling_settings_are_reported(control):
    settings = control.get("/throttling").json()
    assert settings == {"enabled": True, "requests_per_window": 10000, "concurrent": 4, "window_seconds": 600}


@pytest.mark.parametrize("spec", [{"concurrent": 0}, {"requests_per_window": "10"}, {"enabled": "no"},
                                  {"burst": 3}])
def test_throttling_validation(control, spec):
    assert control.post("/throttling", json=spec).status_code == 400
