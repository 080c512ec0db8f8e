"""Subscriptions (change notifications): creation with the validation
handshake against a real local HTTP receiver, delivery of created/updated/
deleted notifications with clientState, renewal, expiry, retries and
lifecycle notifications."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from conftest import GraphSession, mint_token
from outlook_sandbox import notifications


class Receiver:
    """A webhook endpoint on 127.0.0.1 that echoes validation tokens and
    records notification POSTs. ``statuses`` is a list of statuses to answer
    notifications with, one per POST (then 202)."""

    def __init__(self, tls: bool = False):
        self.validations: list[dict] = []
        self.posts: list[dict] = []
        self.statuses: list[int] = []
        self.echo_token = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    receiver.validations.append({"path": self.path, "query": query,
                                                 "content_type": self.headers.get("Content-Type")})
                    token = query["validationToken"][0] if receiver.echo_token else "wrong"
                    self._answer(200, token.encode("utf-8"), "text/plain")
                    return
                receiver.posts.append({"path": self.path, "body": json.loads(body)})
                status = receiver.statuses.pop(0) if receiver.statuses else 202
                self._answer(status, b"", "text/plain")

            def _answer(self, status, payload, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:  # a throwaway certificate no CA store knows
            import ssl
            import trustme
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server.server_port}"

    def notifications(self) -> list[dict]:
        return [item for post in self.posts for item in post["body"]["value"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _in(minutes: float, world) -> str:
    return (world.clock.now() + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _subscribe(session, sandbox, receiver, **overrides):
    body = {"changeType": "created,updated,deleted", "notificationUrl": receiver.url + "/notify?tenant=t1",
            "resource": "/me/events", "expirationDateTime": _in(600, sandbox.world),
            "clientState": "s3cret", **overrides}
    return session.post("/subscriptions", json=body)


def _create_event(session, subject="Standup"):
    response = session.post("/me/events", json={
        "subject": subject,
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"}})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_runs_validation_handshake_and_returns_subscription(sandbox, alice, receiver):
    response = _subscribe(alice, sandbox, receiver)
    assert response.status_code == 201, response.text
    sub = response.json()
    assert sub["changeType"] == "created,updated,deleted"
    assert sub["clientState"] == "s3cret"
    assert sub["resource"] == "/me/events"
    assert sub["applicationId"]
    assert sub["creatorId"] == sandbox.world.mailbox_by_address("alice@contoso.com").id
    [validation] = receiver.validations
    # The existing query string is kept and the token appended with '&'.
    assert validation["query"]["tenant"] == ["t1"]
    assert validation["query"]["validationToken"][0].startswith("Validation: ")
    assert validation["content_type"] == "text/plain; charset=utf-8"
    assert [s["id"] for s in alice.get("/subscriptions").json()["value"]] == [sub["id"]]


def test_failed_handshake_is_400_and_creates_nothing(sandbox, alice, receiver):
    receiver.echo_token = False
    response = _subscribe(alice, sandbox, receiver)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"
    assert "validation" in response.json()["error"]["message"].lower()
    assert alice.get("/subscriptions").json()["value"] == []


def test_unreachable_endpoint_is_400(sandbox, alice, receiver):
    url = receiver.url
    receiver.close()
    response = _subscribe(alice, sandbox, receiver, notificationUrl=url + "/gone")
    assert response.status_code == 400
    assert alice.get("/subscriptions").json()["value"] == []


@pytest.mark.parametrize("overrides, code", [
    ({"changeType": "created,moved"}, "InvalidRequest"),
    ({"changeType": ""}, "InvalidRequest"),
    ({"resource": "/me/messages"}, "InvalidRequest"),
    ({"clientState": "x" * 129}, "InvalidRequest"),
    ({"notificationUrl": "ftp://example.com/hook"}, "InvalidRequest"),
    ({"expirationDateTime": None}, "InvalidRequest"),
    ({"expirationDateTime": "tomorrow"}, "BadRequest"),
])
def test_invalid_subscription_requests_are_400(sandbox, alice, receiver, overrides, code):
    response = _subscribe(alice, sandbox, receiver, **overrides)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert receiver.validations == []


def test_http_notification_url_refused_when_https_is_enforced(sandbox, alice, receiver, control):
    settings = control.post("/notifications/settings", json={"allow_http": False})
    assert settings.json()["allow_http"] is False
    response = _subscribe(alice, sandbox, receiver)
    assert response.status_code == 400
    assert "HTTPS" in response.json()["error"]["message"]


def test_expiration_limits(sandbox, alice, receiver):
    too_far = _subscribe(alice, sandbox, receiver, expirationDateTime=_in(4231, sandbox.world))
    assert too_far.status_code == 400
    assert "4230 minutes" in too_far.json()["error"]["message"]
    short = _subscribe(alice, sandbox, receiver, expirationDateTime=_in(5, sandbox.world))
    assert short.status_code == 201
    expires = datetime.fromisoformat(short.json()["expirationDateTime"][:26] + "+00:00")
    assert expires - sandbox.world.clock.now() > timedelta(minutes=44)


def test_other_users_resource_is_forbidden(sandbox, alice, receiver):
    response = _subscribe(alice, sandbox, receiver, resource="/users/bob@contoso.com/events")
    assert response.status_code == 403


def test_only_the_creating_app_sees_the_subscription(sandbox, alice, receiver):
    sub = _subscribe(alice, sandbox, receiver).json()
    other_app = GraphSession(sandbox, mint_token(sandbox, "alice@contoso.com", client_id="another-app"))
    assert other_app.get("/subscriptions").json()["value"] == []
    assert other_app.get(f"/subscriptions/{sub['id']}").status_code == 404
    assert other_app.delete(f"/subscriptions/{sub['id']}").status_code == 404
    assert alice.get(f"/subscriptions/{sub['id']}").status_code == 200


def test_notifications_for_created_updated_deleted(sandbox, alice, receiver):
    sub = _subscribe(alice, sandbox, receiver).json()
    event = _create_event(alice)
    assert alice.patch(f"/me/events/{quote(event['id'], safe='')}", json={"subject": "Daily"}).status_code == 200
    assert alice.delete(f"/me/events/{quote(event['id'], safe='')}").status_code == 204
    assert notifications.wait_idle(sandbox.world, 10)
    items = receiver.notifications()
    assert [n["changeType"] for n in items] == ["created", "updated", "deleted"]
    alice_id = sandbox.world.mailbox_by_address("alice@contoso.com").id
    for item in items:
        assert item["subscriptionId"] == sub["id"]
        assert item["clientState"] == "s3cret"
        assert item["tenantId"] == sandbox.world.mailbox_by_address("alice@contoso.com").tenant_id
        assert item["resource"] == f"Users/{alice_id}/Events/{event['id']}"
        assert item["resourceData"]["id"] == event["id"]
        assert item["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
    assert items[0]["resourceData"]["@odata.etag"].startswith('W/"')
    # The query string of notificationUrl is part of every POST.
    assert all(post["path"] == "/notify?tenant=t1" for post in receiver.posts)
    log = sandbox_log(sandbox)
    assert log and all(entry["delivered"] and entry["status"] == 202 for entry in log)


def sandbox_log(sandbox) -> list[dict]:
    import requests
    return requests.get(sandbox.base_url + "/_sandbox/notifications", verify=sandbox.ca_path,
                        timeout=10).json()["value"]


def test_change_type_filter_and_other_mailboxes(sandbox, alice, bob, receiver):
    _subscribe(alice, sandbox, receiver, changeType="deleted")
    event = _create_event(alice)
    _create_event(bob)
    alice.delete(f"/me/events/{quote(event['id'], safe='')}")
    assert notifications.wait_idle(sandbox.world, 10)
    assert [n["changeType"] for n in receiver.notifications()] == ["deleted"]


def test_calendar_resource_watches_only_that_calendar(sandbox, alice, receiver):
    other = alice.post("/me/calendars", json={"name": "Projects"}).json()
    created = _subscribe(alice, sandbox, receiver, resource=f"/me/calendars/{other['id']}/events",
                         changeType="created")
    assert created.status_code == 201, created.text
    _create_event(alice)  # default calendar: not watched
    alice.post(f"/me/calendars/{quote(other['id'], safe='')}/events", json={
        "subject": "Kick-off", "start": {"dateTime": "2026-12-02T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-02T10:00:00", "timeZone": "UTC"}})
    assert notifications.wait_idle(sandbox.world, 10)
    assert len(receiver.notifications()) == 1


def test_failed_delivery_is_retried(sandbox, alice, receiver):
    _subscribe(alice, sandbox, receiver, changeType="created")
    receiver.statuses = [500]
    _create_event(alice)
    assert notifications.wait_idle(sandbox.world, 10)
    assert len(receiver.posts) == 2  # 500, then retried after 1 s
    assert receiver.posts[0]["body"] == receiver.posts[1]["body"]
    attempts = [(e["attempt"], e["status"], e["delivered"]) for e in sandbox_log(sandbox)]
    assert attempts == [(1, 500, False), (2, 202, True)]


def test_renew_and_expiry(sandbox, graph_as, receiver):
    alice = graph_as("alice@contoso.com", lifetime=10 * 24 * 3600)  # outlives the time travel
    sub = _subscribe(alice, sandbox, receiver, expirationDateTime=_in(60, sandbox.world)).json()
    renewed = alice.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": _in(4000, sandbox.world)})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > sub["expirationDateTime"]
    too_far = alice.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": _in(5000, sandbox.world)})
    assert too_far.status_code == 400
    sandbox.world.clock.advance(4001 * 60)
    _create_event(alice)
    assert notifications.wait_idle(sandbox.world, 10)
    assert receiver.posts == []
    assert alice.get(f"/subscriptions/{sub['id']}").status_code == 404
    assert alice.get("/subscriptions").json()["value"] == []


def test_delete_stops_notifications(sandbox, alice, receiver):
    sub = _subscribe(alice, sandbox, receiver).json()
    assert alice.delete(f"/subscriptions/{sub['id']}").status_code == 204
    assert alice.delete(f"/subscriptions/{sub['id']}").json()["error"]["code"] == "ResourceNotFound"
    _create_event(alice)
    assert notifications.wait_idle(sandbox.world, 10)
    assert receiver.posts == []


def test_lifecycle_notifications(sandbox, alice, receiver, control):
    sub = _subscribe(alice, sandbox, receiver, lifecycleNotificationUrl=receiver.url + "/lifecycle").json()
    assert len(receiver.validations) == 2  # both URLs are validated
    assert control.post(f"/subscriptions/{sub['id']}/lifecycle", json={"event": "missed"}).status_code == 202
    assert control.post(f"/subscriptions/{sub['id']}/lifecycle",
                        json={"event": "subscriptionRemoved"}).status_code == 202
    assert notifications.wait_idle(sandbox.world, 10)
    lifecycle = [p for p in receiver.posts if p["path"] == "/lifecycle"]
    events = [item["lifecycleEvent"] for post in lifecycle for item in post["body"]["value"]]
    assert events == ["missed", "subscriptionRemoved"]
    assert lifecycle[0]["body"]["value"][0]["clientState"] == "s3cret"
    assert alice.get(f"/subscriptions/{sub['id']}").status_code == 404
    bad = control.post(f"/subscriptions/{sub['id']}/lifecycle", json={"event": "missed"})
    assert bad.status_code == 404


def test_reset_drops_subscriptions(sandbox, alice, receiver, control):
    _subscribe(alice, sandbox, receiver)
    assert control.post("/reset", json={}).status_code == 204
    assert control.get("/subscriptions").json()["value"] == []


def test_attendee_subscription_sees_incoming_invitation(sandbox, alice, bob, receiver):
    _subscribe(bob, sandbox, receiver, changeType="created")
    alice.post("/me/events", json={
        "subject": "Sync", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": "bob@contoso.com"}}]})
    assert notifications.wait_idle(sandbox.world, 10)
    [item] = receiver.notifications()
    bob_copy = bob.get("/me/events").json()["value"][0]
    assert item["resourceData"]["id"] == bob_copy["id"]


def test_subscriptions_per_mailbox_are_limited(sandbox, alice, receiver, monkeypatch):
    from outlook_sandbox.handlers import subscriptions
    monkeypatch.setattr(subscriptions, "MAX_PER_MAILBOX", 1)
    assert _subscribe(alice, sandbox, receiver).status_code == 201
    response = _subscribe(alice, sandbox, receiver)
    assert response.status_code == 403
    assert "1" in response.json()["error"]["message"]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # deliberate for loopback
def test_https_receiver_on_loopback_with_private_certificate(sandbox, alice):
    receiver = Receiver(tls=True)
    try:
        assert _subscribe(alice, sandbox, receiver).status_code == 201
        _create_event(alice)
        assert notifications.wait_idle(sandbox.world, 10)
        assert [n["changeType"] for n in receiver.notifications()] == ["created"]
    finally:
        receiver.close()


def test_notifications_go_out_while_freezegun_moves_the_clock(sandbox, alice, receiver):
    # Request threads then see freezegun's monotonic clock and the delivery worker (a thread
    # freezegun ignores) the real one: a notification queued under it must still be due at once.
    from freezegun import freeze_time

    _subscribe(alice, sandbox, receiver)
    with freeze_time(datetime.now() + timedelta(minutes=30), tick=True):
        _create_event(alice)
        assert notifications.wait_idle(sandbox.world, 10)
    assert [n["changeType"] for n in receiver.notifications()] == ["created"]
