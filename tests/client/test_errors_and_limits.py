"""Typed errors, the in-flight limit, the request counts, links and secrets."""
from __future__ import annotations

import logging
import threading

import pytest

from outlook_sync.client import GraphClient, event_path, request_kind
from outlook_sync.errors import (AuthRequired, Conflict, GraphError, NotFound, PermanentError, SyncStateLost,
                                 Throttled, TransientError)
from outlook_sync.retry import RetryPolicy

from .conftest import SandboxTokens


@pytest.mark.parametrize("status, code, error_type", [
    (400, "ErrorInvalidRequest", PermanentError),
    (403, "ErrorAccessDenied", PermanentError),
    (409, "ErrorFolderExists", Conflict),
    (412, "ErrorIrresolvableConflict", Conflict),
    (410, "SyncStateNotFound", SyncStateLost),
    (429, "ApplicationThrottled", Throttled),
    (503, "serviceNotAvailable", TransientError),
])
def test_failures_raise_typed_errors_with_code_and_request_id(make_client, add_fault, status, code, error_type):
    add_fault(method="GET", path="/me/calendars", status=status, code=code, times=None)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(error_type) as caught:
        client.list_calendars()

    error = caught.value
    assert (error.status, error.code) == (status, code)
    assert error.request_id and len(error.request_id) == 36
    assert error.client_request_id
    assert error.path.endswith("/v1.0/me/calendars")
    assert code in str(error) and error.request_id in str(error)


def test_not_found_is_typed(make_client):
    client = make_client()
    with pytest.raises(NotFound) as caught:
        client.get("/me/calendars/AAMkAGnot-a-calendar")
    assert caught.value.code == "ErrorItemNotFound"
    assert caught.value.request_id


def test_throttled_and_transient_share_a_base_for_try_later_handling():
    assert issubclass(Throttled, TransientError)
    assert issubclass(AuthRequired, GraphError)


def test_at_most_four_requests_in_flight_per_mailbox(sandbox, make_client, add_fault):
    # Every answer takes 0.15 s, so unlimited threads would overlap far beyond 4.
    add_fault(method="GET", path="/me", status=None, delay=0.15, times=None)
    no_retry = RetryPolicy(max_attempts=1)
    clients = [make_client(retry=no_retry), make_client(retry=no_retry)]  # same mailbox: one shared limit
    failures: list[Exception] = []

    def call(client: GraphClient) -> None:
        try:
            client.get_me()
        except GraphError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call, args=(clients[i % 2],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sum(c.stats["GET me"] for c in clients) == 12


def test_without_the_limit_the_sandbox_throttles_concurrency(sandbox, make_client, add_fault):
    # The control experiment for the test above: 12 slots, no shared limit.
    add_fault(method="GET", path="/me", status=None, delay=0.15, times=None)
    client = make_client(retry=RetryPolicy(max_attempts=1), mailbox=None, max_in_flight=12)
    failures: list[GraphError] = []

    def call() -> None:
        try:
            client.get_me()
        except GraphError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures and all(isinstance(f, Throttled) and f.code == "ApplicationThrottled" for f in failures)


def test_requests_are_counted_by_kind():
    assert request_kind("GET", "/me/events/AAMkAGI2TG93AAA=") == "GET events"
    assert request_kind("POST", "/me/calendars/AAMkAGI2/events") == "POST events"
    assert request_kind("POST", "/me/events/AAMkAGI2/accept") == "POST accept"
    assert request_kind("GET", "/me/calendarView/delta") == "delta"
    assert request_kind("POST", "/$batch") == "batch"
    assert request_kind("GET", "/users/alice@contoso.com") == "GET users"
    assert request_kind("GET", "/me") == "GET me"


def test_links_to_another_host_are_refused_before_sending(make_client, sandbox_total):
    client = make_client()
    received = sandbox_total()
    with pytest.raises(ValueError):
        client.get("https://evil.example.com/v1.0/me/events?$skip=10")
    assert sandbox_total() == received
    assert client.stats == {}


def test_prefer_headers_ask_for_utc_and_immutable_ids(make_client):
    client = make_client()
    created = client.create_event({"subject": "Zoned",
                                   "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "Pacific Standard Time"},
                                   "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Pacific Standard Time"}})

    response = client.request("GET", event_path(created["id"]))

    applied = response.headers["Preference-Applied"]
    assert 'outlook.timezone="UTC"' in applied and 'IdType="ImmutableId"' in applied
    assert response.body["start"] == {"dateTime": "2026-12-01T17:00:00.0000000", "timeZone": "UTC"}
    assert response.request_id


def test_tokens_never_reach_logs_or_exception_texts(sandbox, make_client, add_fault, caplog):
    tokens = SandboxTokens(sandbox, "alice@contoso.com", lifetime=60)
    client = make_client(tokens=tokens, retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    errors: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        client.get_me()
        sandbox.world.clock.advance(120)  # forces a 401 and a refresh
        client.get_me()
        add_fault(method="GET", path="/me/calendars", status=503, times=None)
        add_fault(method="GET", path="/me", status=401, times=None)
        for call in (client.list_calendars, client.get_me):
            try:
                call()
            except GraphError as exc:
                errors.append(exc)

    assert len(tokens.issued) >= 2 and len(errors) == 2
    texts = [caplog.text, *map(str, errors), *map(repr, errors), repr(client)]
    for token in tokens.issued:
        assert all(token not in text for text in texts)
    assert "Bearer" not in caplog.text
