"""Fixtures for the Graph client and sign-in tests: real HTTP against the
in-process sandbox (``tests/conftest.py``), with waits recorded instead of slept.
"""
from __future__ import annotations

import random
import threading

import pytest

from outlook_sync.client import GraphClient
from outlook_sync.retry import RetryPolicy
from tests.conftest import CLIENT_ID, mint_token


class FakeClock:
    """Monotonic seconds that only move when the client "sleeps"."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SleepRecorder:
    """The client's ``sleep``: records each wait and moves ``clock`` forward."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.clock.now += seconds


class SandboxTokens:
    """A :class:`~outlook_sync.client.TokenProvider` minting sandbox tokens
    through the control API; records how it was asked."""

    def __init__(self, sandbox, address: str, lifetime: int = 3599):
        self.sandbox = sandbox
        self.address = address
        self.lifetime = lifetime
        self.calls: list[bool] = []
        self.issued: list[str] = []
        self._token: str | None = None
        self._lock = threading.Lock()

    def get_token(self, force_refresh: bool = False) -> str:
        with self._lock:
            self.calls.append(force_refresh)
            if self._token is None or force_refresh:
                self._token = mint_token(self.sandbox, self.address, client_id=CLIENT_ID, lifetime=self.lifetime)
                self.issued.append(self._token)
            return self._token


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(fake_clock) -> SleepRecorder:
    return SleepRecorder(fake_clock)


@pytest.fixture
def make_client(sandbox, sleeps):
    """``make_client(address="alice@contoso.com", **GraphClient kwargs)``; the
    retry policy has small delays and a seeded jitter unless given."""
    made: list[GraphClient] = []

    def make(address: str = "alice@contoso.com", tokens=None, **kwargs) -> GraphClient:
        kwargs.setdefault("retry", RetryPolicy(base_delay=0.1, max_delay=1.0, rng=random.Random(42)))
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("timeout", (2.0, 5.0))
        client = GraphClient(tokens or SandboxTokens(sandbox, address), base_url=sandbox.graph_url,
                             verify=sandbox.ca_path, mailbox=kwargs.pop("mailbox", address), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def add_fault(control):
    """``add_fault(path="/me", status=429, retry_after=0.25, times=2, ...)``."""
    def add(**rule) -> dict:
        response = control.post("/faults", json=rule)
        assert response.status_code == 201, response.text
        return response.json()
    return add


@pytest.fixture
def sandbox_total(control):
    """The sandbox's count of Graph requests it received (not control calls)."""
    def total() -> int:
        return control.get("/stats").json()["total"]
    return total
