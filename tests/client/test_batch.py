"""``$batch`` through the client: chunks of 20, per-item retries, input order."""
from __future__ import annotations

import threading

import pytest

from outlook_sync.client import BatchRequest
from outlook_sync.errors import BudgetExhausted, NotFound, Throttled, TransientError
from outlook_sync.retry import Deadline, RetryPolicy


def test_45_requests_take_3_batch_calls_and_keep_input_order(make_client):
    client = make_client()
    requests_ = [BatchRequest("GET", "/me") if i % 3 else BatchRequest("GET", "/me/calendars") for i in range(45)]

    results = client.batch(requests_)

    assert client.stats == {"batch": 3}
    assert len(results) == 45
    assert all(r.ok for r in results)
    for i, result in enumerate(results):
        assert ("mail" in result.body) == bool(i % 3)


def test_a_throttled_item_is_retried_alone_after_its_retry_after(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me/calendar", status=429, retry_after=0.3, times=1)
    client = make_client()
    requests_ = [BatchRequest("GET", "/me"), BatchRequest("GET", "/me/calendar"), BatchRequest("GET", "/me")]

    results = client.batch(requests_)

    assert [r.status for r in results] == [200, 200, 200]
    assert results[1].body["isDefaultCalendar"] is True
    assert sleeps.waits == [0.3]
    assert client.stats == {"batch": 1, "retry": 1}


def test_transient_items_are_retried_only_when_replayable(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=503, times=1)
    add_fault(method="POST", path="/me/calendars", status=503, times=1)
    client = make_client()

    results = client.batch([BatchRequest("GET", "/me"),
                            BatchRequest("POST", "/me/calendars", {"name": "Once"})])

    assert results[0].ok
    assert results[1].status == 503
    assert isinstance(results[1].error, TransientError)
    assert client.stats == {"batch": 1, "retry": 1}


def test_an_item_failing_for_good_is_returned_not_raised(make_client, add_fault):
    add_fault(method="GET", path="/me/calendar", status=429, retry_after=0.01, times=None)
    client = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.01))

    results = client.batch([BatchRequest("GET", "/me/calendars/AAMkAGmissing"), BatchRequest("GET", "/me/calendar"),
                            BatchRequest("GET", "/me")])

    assert isinstance(results[0].error, NotFound)
    assert results[0].error.code == "ErrorItemNotFound"
    assert isinstance(results[1].error, Throttled) and results[1].error.retry_after == 0.01
    assert results[2].ok
    assert client.stats == {"batch": 1, "retry": 2}


def test_budget_running_out_mid_batch_keeps_the_results_so_far(make_client, add_fault, fake_clock):
    add_fault(method="GET", path="/me/calendar", status=429, retry_after=5, times=None)
    client = make_client(deadline=Deadline.after(2.0, clock=fake_clock))
    requests_ = [BatchRequest("GET", "/me")] * 20 + [BatchRequest("GET", "/me/calendar"), BatchRequest("GET", "/me")]

    with pytest.raises(BudgetExhausted) as caught:
        client.batch(requests_)

    partial = caught.value.partial_results
    assert len(partial) == 22
    assert all(r.ok for r in partial[:20])
    assert partial[20].status == 429 and partial[21].ok


def test_concurrent_batches_stay_within_the_mailbox_limit(make_client, add_fault):
    # Graph runs 4 items of a batch at once: two batches in flight would be 8.
    add_fault(method="GET", path="/me", status=None, delay=0.1, times=None)
    client = make_client()
    outcomes: list[list] = []

    def run() -> None:
        outcomes.append(client.batch([BatchRequest("GET", "/me")] * 8))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(outcomes) == 3 and all(r.ok for results in outcomes for r in results)
    assert client.stats == {"batch": 3}  # no item was throttled, so nothing was re-sent
