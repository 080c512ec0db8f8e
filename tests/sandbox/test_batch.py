"""JSON batching (POST /$batch): limits, per-item status, dependsOn and 424,
per-item auth, faults and throttling, malformed batches."""
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

JSON = {"Content-Type": "application/json"}


def _calendar(item_id: str, name: str, **extra) -> dict:
    return {"id": item_id, "method": "POST", "url": "/me/calendars", "headers": JSON, "body": {"name": name},
            **extra}


def _by_id(response) -> dict:
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["responses"]}


def test_twenty_events_in_one_batch_then_listed(alice):
    items = [{"id": str(n), "method": "POST", "url": "/me/events", "headers": JSON,
              "body": {"subject": f"Batch event {n}",
                       "start": {"dateTime": f"2026-12-{n:02d}T09:00:00", "timeZone": "UTC"},
                       "end": {"dateTime": f"2026-12-{n:02d}T10:00:00", "timeZone": "UTC"}}}
             for n in range(1, 21)]
    responses = _by_id(alice.post("/$batch", json={"requests": items}))
    assert [responses[str(n)]["status"] for n in range(1, 21)] == [201] * 20
    # Bodies come back as JSON objects, not strings.
    assert responses["7"]["body"]["subject"] == "Batch event 7"
    listed = alice.get("/me/events", params={"$top": 50, "$select": "subject"})
    assert listed.status_code == 200
    assert {e["subject"] for e in listed.json()["value"]} >= {f"Batch event {n}" for n in range(1, 21)}
    # Query options in an item's URL reach the handler.
    page = alice.post("/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/me/events?$top=2&$select=subject"}]}).json()["responses"][0]
    assert page["status"] == 200
    assert len(page["body"]["value"]) == 2 and "@odata.nextLink" in page["body"]


def test_items_are_answered_in_request_order_with_json_bodies(alice):
    response = alice.post("/$batch", json={"requests": [
        {"id": "me", "method": "GET", "url": "/me"},
        _calendar("new", "Holidays"),
        {"id": "list", "method": "GET", "url": "me/calendars", "dependsOn": ["new"]},
    ]})
    items = response.json()["responses"]
    assert [i["id"] for i in items] == ["me", "new", "list"]
    assert items[0]["status"] == 200 and items[0]["body"]["mail"] == "alice@contoso.com"
    assert items[1]["status"] == 201 and items[1]["headers"]["Content-Type"].startswith("application/json")
    assert "Holidays" in {c["name"] for c in items[2]["body"]["value"]}


def test_more_than_twenty_requests_rejects_the_whole_batch(alice, sandbox):
    items = [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]
    response = alice.post("/$batch", json={"requests": items})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"
    assert sandbox.world.stats[("GET /me", "alice@contoso.com")] == 0  # nothing ran


def test_depends_on_runs_in_order_and_failed_dependency_is_424(alice):
    responses = _by_id(alice.post("/$batch", json={"requests": [
        # "second" would be a duplicate (409) had it run before "first".
        _calendar("second", "Travel", dependsOn=["first"]),
        _calendar("first", "Travel"),
        _calendar("third", "Travel", dependsOn=["second"]),
        {"id": "fourth", "method": "GET", "url": "/me", "dependsOn": ["third"]},
        {"id": "free", "method": "GET", "url": "/me"},
    ]}))
    assert responses["first"]["status"] == 201
    assert responses["second"]["status"] == 409
    assert responses["second"]["body"]["error"]["code"] == "ErrorFolderExists"
    # A failed dependency fails its dependents, transitively, without running them.
    for item_id in ("third", "fourth"):
        assert responses[item_id]["status"] == 424
        assert responses[item_id]["body"]["error"]["code"] == "FailedDependency"
    assert responses["free"]["status"] == 200
    names = [c["name"] for c in alice.get("/me/calendars").json()["value"]]
    assert names.count("Travel") == 1


def test_fault_on_one_path_gives_per_item_429_with_retry_after(alice, control):
    control.post("/faults", json={"method": "GET", "path": "/me/calendars", "status": 429,
                                  "retry_after": 7, "times": None})
    responses = _by_id(alice.post("/$batch", json={"requests": [
        {"id": "a", "method": "GET", "url": "/me/calendars"},
        {"id": "b", "method": "GET", "url": "/me"},
        {"id": "c", "method": "GET", "url": "/me/calendar"},
    ]}))
    assert responses["a"]["status"] == 429
    assert responses["a"]["headers"]["Retry-After"] == "7"
    assert responses["a"]["body"]["error"]["code"] == "TooManyRequests"
    assert responses["b"]["status"] == 200
    assert responses["c"]["status"] == 200


def test_independent_items_run_in_parallel(alice, control):
    control.post("/faults", json={"method": "GET", "path": "/me", "status": None, "delay": 0.4, "times": None})
    started = time.monotonic()
    responses = alice.post("/$batch", json={"requests": [
        {"id": str(n), "method": "GET", "url": "/me"} for n in range(4)]}).json()["responses"]
    assert [r["status"] for r in responses] == [200] * 4
    assert time.monotonic() - started < 1.2  # four delays of 0.4 s overlapped


def test_items_over_the_concurrency_limit_are_throttled_per_item(alice, control):
    control.post("/throttling", json={"concurrent": 2})
    control.post("/faults", json={"method": "GET", "path": "/me", "status": None, "delay": 0.4, "times": None})
    responses = alice.post("/$batch", json={"requests": [
        {"id": str(n), "method": "GET", "url": "/me"} for n in range(4)]}).json()["responses"]
    statuses = sorted(r["status"] for r in responses)
    # Four run in parallel against a limit of two in flight.
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1
    throttled = next(r for r in responses if r["status"] == 429)
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
    assert "Retry-After" in throttled["headers"]


def test_each_item_is_authorized_on_its_own(graph_as):
    session = graph_as("alice@contoso.com", scopes=["https://graph.microsoft.com/User.Read"])
    responses = _by_id(session.post("/$batch", json={"requests": [
        {"id": "me", "method": "GET", "url": "/me"}, {"id": "cal", "method": "GET", "url": "/me/calendars"}]}))
    assert responses["me"]["status"] == 200
    assert responses["cal"]["status"] == 403
    assert responses["cal"]["body"]["error"]["code"] == "ErrorAccessDenied"


@pytest.mark.parametrize("revoke", [False, True])
def test_expired_or_revoked_token_fails_the_batch_itself(sandbox, graph_as, control, revoke):
    # Graph's front end validates the bearer token of the $batch request before
    # looking at its items: the whole batch comes back 401, no item runs
    # (json-batching.md; msgraph-sdk-dotnet issue 2660; see handlers/batch.py).
    session = graph_as("alice@contoso.com", lifetime=5)
    if revoke:
        control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "revoke": True})
    else:
        sandbox.world.clock.advance(10)
    response = session.post("/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "2", "method": "POST", "url": "/me/events", "headers": JSON,
         "body": {"subject": "never", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
                  "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"}}}]})
    assert response.status_code == 401 and "responses" not in response.json()
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert sandbox.world.stats[("GET /me", "alice@contoso.com")] == 0
    assert sandbox.world.mailbox_by_address("alice@contoso.com").events == {}


def test_item_headers_cannot_swap_the_token(alice, bob):
    response = alice.post("/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/me", "headers": {"Authorization": f"Bearer {bob.token}"}}]})
    assert response.json()["responses"][0]["body"]["mail"] == "alice@contoso.com"


def test_absolute_and_nested_batch_urls_are_per_item_400(alice):
    responses = _by_id(alice.post("/$batch", json={"requests": [
        {"id": "abs", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"},
        {"id": "nested", "method": "POST", "url": "/$batch", "headers": JSON, "body": {"requests": []}},
        {"id": "ok", "method": "GET", "url": "/me"},
    ]}))
    assert responses["abs"]["status"] == 400
    assert responses["nested"]["status"] == 400
    assert responses["ok"]["status"] == 200


def test_items_are_counted_in_statistics(alice, sandbox):
    alice.post("/$batch", json={"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(3)]})
    assert sandbox.world.stats[("GET /me", "alice@contoso.com")] == 3
    assert sandbox.world.stats[("POST /$batch", "alice@contoso.com")] == 1


def test_batch_without_a_token_is_401(sandbox):
    response = requests.post(sandbox.graph_url + "/$batch", json={"requests": []}, verify=sandbox.ca_path,
                             timeout=10)
    assert response.status_code == 401


@pytest.mark.parametrize("payload", [
    {},
    {"requests": []},
    {"requests": "GET /me"},
    {"requests": [{"method": "GET", "url": "/me"}]},
    {"requests": [{"id": "1", "url": "/me"}]},
    {"requests": [{"id": "1", "method": "GET"}]},
    {"requests": [{"id": "1", "method": "FETCH", "url": "/me"}]},
    {"requests": [{"id": 1, "method": "GET", "url": "/me"}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]},
    {"requests": [{"id": "1", "method": "POST", "url": "/me/calendars", "body": {"name": "x"}}]},
    {"requests": [{"id": "1", "method": "POST", "url": "/me/calendars", "headers": JSON}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": "2"},
                  {"id": "2", "method": "GET", "url": "/me"}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]},
                  {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["1"]}]},
    {"requests": [{"id": "1", "method": "GET", "url": "/me", "headers": {"Prefer": 5}}]},
    {"requests": [None]},
])
def test_malformed_batch_is_400_never_500(alice, payload):
    response = alice.post("/$batch", json=payload)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "BadRequest"


@pytest.mark.parametrize("data, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"", "application/json"),
    (b'{"requests": [{"id": "1", "method": "GET", "url": "/me"}]}', "text/plain"),
])
def test_unreadable_batch_body_is_400(alice, data, content_type):
    response = alice.post("/$batch", data=data, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "error" in response.json()


def test_bodyless_write_item_rejects_the_batch_before_anything_runs(alice, sandbox):
    response = alice.post("/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "2", "method": "POST", "url": "/me/events/abc/cancel"}]})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Write request id : 2 does not contain Content-Type header or body."
    assert sandbox.world.stats[("GET /me", "alice@contoso.com")] == 0


_json_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=5)
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
_items = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["1", "2", "3"]) | _json_values,
    "method": st.sampled_from(["GET", "post", "PATCH", "DELETE"]) | _json_values,
    "url": st.sampled_from(["/me", "me/calendars", "/me/events?$top=x", "/$batch", "https://x.example/v1.0/me",
                            "/me/calendars/%2F", ""]) | _json_values,
    "headers": st.just({"Content-Type": "application/json"}) | _json_values,
    "body": st.just({"name": "Fuzz"}) | _json_values,
    "dependsOn": st.lists(st.sampled_from(["1", "2", "3"]), max_size=2) | _json_values,
})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.fixed_dictionaries({"requests": st.lists(_items, max_size=4) | _json_values}) | _json_values)
def test_any_batch_body_is_answered_without_a_server_error(alice, payload):
    response = alice.post("/$batch", json=payload)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert all(item["status"] < 500 for item in response.json()["responses"]), response.text
