"""When to retry a Graph request, how long to wait, and the time budget of a run.

Graph tells a throttled caller how long to wait (``Retry-After``: seconds, often
fractional, on 429 and usually on 503). Other transient failures (5xx without
the header, timeouts, connection errors) wait an exponentially growing delay
with jitter, so that many workers throttled together do not come back
together. A :class:`Deadline` bounds a whole sync run: the client starts no
request and no wait that would end after it.

Both the randomness and the clock are injectable so tests are deterministic::

    policy = RetryPolicy(rng=random.Random(7))
    policy.backoff(1)   # between 0.25 and 0.5 seconds
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

# 5xx answers worth a retry; 501 (not implemented) and friends are not.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
THROTTLED_STATUS = 429


@dataclass
class Deadline:
    """An absolute point on ``clock`` (monotonic seconds) after which a run
    must not send anything more.

    >>> deadline = Deadline.after(300)   # a five-minute cron run
    >>> deadline.remaining() <= 300
    True
    """

    expires_at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> "Deadline":
        """The deadline ``seconds`` from now on ``clock``."""
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.expires_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass
class RetryPolicy:
    """Retry limits and delays of a :class:`~outlook_sync.client.GraphClient`.

    :param max_attempts: sends of one request at most, the first included
        (a 401 answered by a token refresh does not count).
    :param base_delay: the first backoff delay in seconds; it doubles per retry.
    :param max_delay: the cap of a backoff delay.
    :param max_retry_after: the longest ``Retry-After`` we accept to wait
        within a request; a longer one ends the retries (the caller reschedules).
    :param jitter: the fraction of each backoff delay that is random: with 0.5
        the delay lies in ``[ceiling / 2, ceiling]``.
    :param rng: the source of jitter; pass a seeded ``random.Random`` in tests.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be a fraction between 0 and 1")

    def backoff_ceiling(self, retry_number: int) -> float:
        """The un-jittered delay before retry ``retry_number`` (1 = first retry)."""
        return min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))

    def backoff(self, retry_number: int) -> float:
        """The jittered delay before retry ``retry_number``: within
        ``[(1 - jitter) * ceiling, ceiling]``."""
        ceiling = self.backoff_ceiling(retry_number)
        return ceiling * (1.0 - self.jitter * self.rng.random())

    def delay(self, retry_number: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry ``retry_number``: Graph's ``Retry-After``
        when it sent one, else the backoff. ``None`` when Graph asked for a
        longer wait than ``max_retry_after`` (give up and reschedule)."""
        if retry_after is None:
            return self.backoff(retry_number)
        return retry_after if retry_after <= self.max_retry_after else None
