"""The /_sandbox control API: seeding, mailboxes, apps, clock, settings,
statistics, fault rules and input validation."""
import pytest

from outlook_sandbox.seed import load_seed_file


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def test_index_lists_the_control_routes(control):
    response = control.get("/")
    assert response.status_code == 200
    routes = {(r["method"], r["path"]) for r in response.json()["routes"]}
    assert {("POST", "/_sandbox/seed"), ("GET", "/_sandbox/mailboxes"), ("GET", "/_sandbox/stats"),
            ("POST", "/_sandbox/clock")} <= routes


def test_mailboxes_list_tenant_calendars_and_counts(control):
    response = control.get("/mailboxes")
    assert response.status_code == 200
    by_address = {m["address"]: m for m in response.json()["value"]}
    assert set(by_address) == {"alice@contoso.com", "bob@contoso.com", "carol@outlook.com"}
    alice = by_address["alice@contoso.com"]
    assert alice["tenant"] == "contoso.com" and alice["personal"] is False
    assert alice["display_name"] == "Alice Martin" and alice["time_zone"] == "Europe/Brussels"
    assert [(c["name"], c["is_default"], c["event_count"]) for c in alice["calendars"]] == [("Calendar", True, 0)]
    assert by_address["carol@outlook.com"]["personal"] is True


def test_add_mailbox_then_sign_in_as_it(control, graph_as):
    response = control.post("/mailboxes", json={"address": "dave@contoso.com", "display_name": "Dave Rowe",
                                                "time_zone": "Asia/Tokyo"})
    assert response.status_code == 201
    assert response.json()["address"] == "dave@contoso.com"
    me = graph_as("dave@contoso.com").get("/me")
    assert me.json()["displayName"] == "Dave Rowe"
    assert control.post("/mailboxes", json={"address": "DAVE@contoso.com"}).status_code == 409


@pytest.mark.parametrize("spec", [
    {},
    {"address": "not-an-address"},
    {"address": "x@contoso.com", "personal": "yes"},
    {"address": "x@contoso.com", "time_zone": "Mars/Olympus"},
    {"address": "x@contoso.com", "colour": "red"},
])
def test_add_mailbox_validation(control, spec):
    response = control.post("/mailboxes", json=spec)
    assert response.status_code == 400
    assert _error_code(response) == "BadRequest"


def test_events_of_unknown_mailbox_is_404(control):
    response = control.get("/mailboxes/nobody@contoso.com/events")
    assert response.status_code == 404
    assert _error_code(response) == "ErrorInvalidUser"


def test_mailbox_events_show_stored_events(alice, control):
    created = alice.post("/me/events", json={
        "subject": "Inspect me", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Europe/Brussels"},
        "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Brussels"}})
    assert created.status_code == 201
    events = control.get("/mailboxes/alice@contoso.com/events").json()["value"]
    assert len(events) == 1
    event = events[0]
    assert event["subject"] == "Inspect me" and event["type"] == "singleInstance"
    assert event["calendar"] == "Calendar" and event["isCancelled"] is False
    assert event["start"] == "2026-12-01T08:00:00Z"  # stored in UTC
    assert event["iCalUId"] == created.json()["iCalUId"]
    assert event["changeKey"] == created.json()["changeKey"]


def test_seed_is_additive_and_reset_replaces(control):
    extra = {"mailboxes": [{"address": "erin@contoso.com", "calendars": [{"name": "Trips"}]},
                           {"address": "alice@contoso.com", "calendars": [{"name": "Side"}]}]}
    assert control.post("/seed", json=extra).status_code == 200
    by_address = {m["address"]: m for m in control.get("/mailboxes").json()["value"]}
    assert len(by_address) == 4
    # An existing mailbox is reused, not duplicated.
    assert [c["name"] for c in by_address["alice@contoso.com"]["calendars"]] == ["Calendar", "Side"]
    assert control.post("/seed", params={"reset": "true"}, json={"mailboxes": [{"address": "z@z.example"}]}
                        ).status_code == 200
    assert [m["address"] for m in control.get("/mailboxes").json()["value"]] == ["z@z.example"]


@pytest.mark.parametrize("seed", [
    {"mailboxes": "alice"},
    {"mailboxes": [{"display_name": "No address"}]},
    {"apps": [{"client_id": "x"}]},
    {"apps": [{"client_id": "x", "client_secret": "y", "secret_expires": "tomorrow"}]},
    {"tenants": [{"id": "no-domain"}]},
    {"settings": {"auto_consent": "yes"}},
])
def test_invalid_seed_is_400_and_changes_nothing(control, seed):
    before = control.get("/mailboxes").json()
    response = control.post("/seed", json=seed)
    assert response.status_code == 400
    assert _error_code(response) == "BadRequest"
    assert control.get("/mailboxes").json() == before


def test_demo_seed_loads(control):
    response = control.post("/seed", params={"reset": "true"}, json=load_seed_file("demo"))
    assert response.status_code == 200, response.text
    mailboxes = {m["address"]: m for m in control.get("/mailboxes").json()["value"]}
    assert {"admin@yourcompany.example.com", "mark.brown23@example.com", "alice@contoso.com",
            "bob@contoso.com"} <= set(mailboxes)
    assert [m["address"] for m in mailboxes.values() if m["personal"]] == ["carol@outlook.com"]
    assert all(m["event_count"] > 0 for m in mailboxes.values())
    alice_events = control.get("/mailboxes/alice@contoso.com/events").json()["value"]
    assert {"singleInstance", "seriesMaster"} <= {e["type"] for e in alice_events}
    # The meeting Alice organizes is in Bob's calendar too, with the same iCalUId.
    review = next(e for e in alice_events if e["subject"] == "Design review with Bob")
    bob_events = control.get("/mailboxes/bob@contoso.com/events").json()["value"]
    assert review["iCalUId"] in {e["iCalUId"] for e in bob_events}


def test_register_app(control):
    response = control.post("/apps", json={"client_id": "abc", "client_secret": "s3cret",
                                           "redirect_uris": ["https://odoo.example/microsoft_account/authentication"],
                                           "secret_expires": "2027-01-01T00:00:00Z"})
    assert response.status_code == 201
    assert response.json()["secret_expires"] == "2027-01-01T00:00:00Z"
    assert "s3cret" not in response.text
    assert control.post("/apps", json={"client_id": "abc", "client_secret": "x"}).status_code == 409


@pytest.mark.parametrize("spec", [
    {"client_secret": "s"},
    {"client_id": "a", "client_secret": ""},
    {"client_id": "a", "client_secret": "s", "redirect_uris": "https://x"},
    {"client_id": "a", "client_secret": "s", "redirect_uris": ["odoo://x"]},
    {"client_id": "a", "client_secret": "s", "secret_expires": "2027-01-01T00:00:00"},
    {"client_id": "a", "client_secret": "s", "scopes": []},
])
def test_register_app_validation(control, spec):
    assert control.post("/apps", json=spec).status_code == 400


def test_clock_moves_forward_and_expires_tokens(alice, control):
    before = control.get("/clock").json()
    response = control.post("/clock", json={"advance_seconds": 3600})
    assert response.status_code == 200
    assert response.json()["offset_seconds"] - before["offset_seconds"] == 3600
    assert response.json()["now"] > before["now"]
    assert alice.get("/me").status_code == 401


@pytest.mark.parametrize("spec", [{}, {"advance_seconds": -5}, {"advance_seconds": "60"},
                                  {"advance_seconds": True}, {"advance_seconds": 5, "extra": 1}])
def test_clock_validation(control, spec):
    assert control.post("/clock", json=spec).status_code == 400


def test_settings(control, sandbox):
    response = control.post("/settings", json={"auto_consent": True, "throttling": False})
    assert response.json() == {"auto_consent": True, "throttling": False}
    assert sandbox.world.auto_consent is True and sandbox.world.throttling_enabled is False
    assert control.post("/settings", json={"auto_consent": 1}).status_code == 400
    assert control.post("/settings", json={"consent": True}).status_code == 400


def test_stats_count_per_endpoint_and_mailbox(alice, bob, control):
    control.delete("/stats")
    alice.get("/me")
    alice.get("/me")
    alice.get("/me/calendars")
    bob.get("/me")
    stats = control.get("/stats").json()
    assert stats["total"] == 4
    assert stats["by_endpoint"] == {"GET /me": 3, "GET /me/calendars": 1}
    assert stats["by_mailbox"] == {"alice@contoso.com": 3, "bob@contoso.com": 1}
    assert {"endpoint": "GET /me", "mailbox": "alice@contoso.com", "count": 2} in stats["rows"]
    assert control.delete("/stats").status_code == 204
    assert control.get("/stats").json()["total"] == 0


def test_unreadable_json_body_is_400_in_graph_envelope(control):
    response = control.post("/mailboxes", data=b"address=x", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("spec", [
    {"status": "429"},
    {"status": 200},
    {"times": 0},
    {"delay": -1},
    {"retry_after": "soon"},
    {"status": None},
    {"path": 5},
    {"when": "always"},
])
def test_fault_rule_validation(control, spec):
    response = control.post("/faults", json=spec)
    assert response.status_code == 400, response.text
    assert control.get("/faults").json()["value"] == []


def test_fault_rules_are_listed_and_cleared(control):
    control.post("/faults", json={"method": "get", "path": "/me/events*", "status": 500})
    rules = control.get("/faults").json()["value"]
    assert [(r["method"], r["path"], r["status"], r["hits"]) for r in rules] == [("GET", "/me/events*", 500, 0)]
    assert control.delete("/faults").status_code == 204
    assert control.get("/faults").json()["value"] == []


def test_mint_token_validation(control):
    assert control.post("/tokens", json={"mailbox": "nobody@contoso.com"}).status_code == 404
    assert control.post("/tokens", json={"mailbox": "alice@contoso.com", "lifetime": "long"}).status_code == 400
