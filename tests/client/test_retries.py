"""Retries of the Graph client against the sandbox: Retry-After, backoff with
jitter, replay safety, token refresh on 401, timeouts and the run budget."""
from __future__ import annotations

import random
import time

import pytest

from outlook_sync.errors import AuthRequired, BudgetExhausted, Throttled, TransientError
from outlook_sync.retry import Deadline, RetryPolicy

from .conftest import SandboxTokens


def test_retry_after_is_honoured_even_when_fractional(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=429, retry_after=0.25, times=2)
    client = make_client()

    assert client.get_me()["mail"] == "alice@contoso.com"

    assert sleeps.waits == [0.25, 0.25]
    assert client.stats == {"GET me": 1, "retry": 2}


def test_retry_after_on_503_is_honoured(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=503, retry_after=1.5, times=1)
    client = make_client()

    client.get_me()

    assert sleeps.waits == [1.5]


def test_other_5xx_back_off_exponentially_with_bounded_jitter(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=500, times=1)
    add_fault(method="GET", path="/me", status=502, times=1)
    add_fault(method="GET", path="/me", status=504, times=1)
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, jitter=0.5, rng=random.Random(3))
    client = make_client(retry=policy)

    client.get_me()

    ceilings = [0.1, 0.2, 0.4]
    assert len(sleeps.waits) == 3
    for wait, ceiling in zip(sleeps.waits, ceilings):
        assert ceiling / 2 <= wait <= ceiling
    # The jitter is random, not a fixed fraction of the ceiling.
    assert len({round(w / c, 6) for w, c in zip(sleeps.waits, ceilings)}) > 1
    assert client.stats["retry"] == 3


def test_backoff_is_capped(sleeps):
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.0, 2.0]


def test_retries_stop_after_max_attempts_with_a_typed_error(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=429, retry_after=0.01, times=None)
    client = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.01))

    with pytest.raises(Throttled) as caught:
        client.get_me()

    assert caught.value.retry_after == 0.01
    assert client.stats == {"GET me": 1, "retry": 2}


def test_retry_after_longer_than_the_policy_accepts_is_not_waited(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=429, retry_after=600, times=1)
    client = make_client(retry=RetryPolicy(max_retry_after=60))

    with pytest.raises(Throttled) as caught:
        client.get_me()

    assert caught.value.retry_after == 600
    assert sleeps.waits == []


def test_post_is_not_replayed_after_a_5xx_unless_declared_idempotent(make_client, add_fault, sleeps):
    add_fault(method="POST", path="/me/calendars", status=503, times=1)
    client = make_client()

    with pytest.raises(TransientError):
        client.post("/me/calendars", {"name": "Projects"})
    assert client.stats == {"POST calendars": 1}

    add_fault(method="POST", path="/me/calendars", status=503, times=1)
    created = client.post("/me/calendars", {"name": "Projects"}, idempotent=True)
    assert created["name"] == "Projects"
    assert client.stats == {"POST calendars": 2, "retry": 1}


def test_post_is_replayed_after_429_because_graph_did_not_run_it(make_client, add_fault, sleeps):
    add_fault(method="POST", path="/me/calendars", status=429, retry_after=0.1, times=1)
    client = make_client()

    assert client.post("/me/calendars", {"name": "Travel"})["name"] == "Travel"
    assert sleeps.waits == [0.1]


def test_401_refreshes_the_token_once_then_retries(sandbox, make_client):
    tokens = SandboxTokens(sandbox, "alice@contoso.com", lifetime=60)
    client = make_client(tokens=tokens)
    client.get_me()
    sandbox.world.clock.advance(120)  # the access token has expired

    assert client.get_me()["mail"] == "alice@contoso.com"

    assert tokens.calls == [False, False, True]
    assert client.stats == {"GET me": 2, "retry": 1}


class RefusedTokens:
    """A token provider whose tokens Graph never accepts."""

    def __init__(self):
        self.calls: list[bool] = []

    def get_token(self, force_refresh: bool = False) -> str:
        self.calls.append(force_refresh)
        return "EwB-revoked-token-value"


def test_a_second_401_raises_auth_required(make_client):
    tokens = RefusedTokens()
    client = make_client(tokens=tokens)

    with pytest.raises(AuthRequired) as caught:
        client.get_me()

    assert caught.value.status == 401
    assert caught.value.code == "InvalidAuthenticationToken"
    assert tokens.calls == [False, True]
    assert client.stats == {"GET me": 1, "retry": 1}


def test_a_timeout_is_retried(make_client, add_fault, sleeps):
    add_fault(method="GET", path="/me", status=None, delay=1.0, times=1)
    client = make_client(timeout=(2.0, 0.3))

    assert client.get_me()["mail"] == "alice@contoso.com"

    assert len(sleeps.waits) == 1
    assert client.stats == {"GET me": 1, "retry": 1}


def test_a_timed_out_post_is_not_replayed(make_client, add_fault):
    add_fault(method="POST", path="/me/calendars", status=None, delay=1.0, times=1)
    client = make_client(timeout=(2.0, 0.3))

    with pytest.raises(TransientError) as caught:
        client.post("/me/calendars", {"name": "Maybe created"})

    assert caught.value.code == "Timeout"
    assert caught.value.status is None
    assert client.stats == {"POST calendars": 1}


def test_a_connection_error_is_retried_then_typed(sandbox, sleeps):
    from outlook_sync.client import GraphClient
    closed_port = "https://127.0.0.1:9/v1.0"  # nothing listens on the discard port
    client = GraphClient(SandboxTokens(sandbox, "alice@contoso.com"), base_url=closed_port,
                         verify=sandbox.ca_path, sleep=sleeps, retry=RetryPolicy(max_attempts=3, base_delay=0.01))

    with pytest.raises(TransientError) as caught:
        client.get_me()

    assert caught.value.code in ("ConnectionError", "ConnectTimeout")
    assert len(sleeps.waits) == 2


def test_the_budget_stops_retries_and_later_requests(make_client, add_fault, fake_clock, sleeps, sandbox_total):
    add_fault(method="GET", path="/me", status=503, retry_after=2, times=None)
    client = make_client(deadline=Deadline.after(3.0, clock=fake_clock))

    with pytest.raises(BudgetExhausted) as caught:
        client.get_me()

    # Sent, waited 2 s, sent again; a second 2 s wait would end after the deadline.
    assert sleeps.waits == [2.0]
    assert isinstance(caught.value.last_error, TransientError)
    assert caught.value.last_error.status == 503
    assert client.stats == {"GET me": 1, "retry": 1}

    fake_clock.now += 1.0  # the deadline passes
    received = sandbox_total()
    with pytest.raises(BudgetExhausted):
        client.list_calendars()
    assert sandbox_total() == received
    assert client.stats == {"GET me": 1, "retry": 1}


def test_a_new_deadline_gives_a_new_run(make_client, fake_clock):
    client = make_client(deadline=Deadline.after(1.0, clock=fake_clock))
    fake_clock.now += 5
    with pytest.raises(BudgetExhausted):
        client.get_me()

    client.deadline = Deadline.after(60, clock=fake_clock)
    assert client.get_me()["mail"] == "alice@contoso.com"


def test_the_read_timeout_is_cut_to_the_budget(make_client, add_fault):
    add_fault(method="GET", path="/me", status=None, delay=2.0, times=1)
    client = make_client(timeout=(2.0, 30.0), deadline=Deadline.after(0.5))
    started = time.monotonic()

    with pytest.raises(BudgetExhausted) as caught:
        client.get_me()

    assert time.monotonic() - started < 1.5
    assert caught.value.last_error.code == "Timeout"
