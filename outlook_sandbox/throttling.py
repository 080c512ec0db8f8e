"""Outlook's service limits, per (app, mailbox): 10,000 requests in any
10-minute window and 4 requests in flight at once (reference §4.1). Over
either limit Graph answers 429 with ``Retry-After``. The control API can
switch throttling off and lower the limits for tests.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from .errors import GraphError
from .store import Mailbox, World

WINDOW_SECONDS = 600


@dataclass
class Limits:
    requests_per_window: int = 10_000
    concurrent: int = 4


@dataclass
class _Bucket:
    stamps: deque = field(default_factory=deque)  # clock seconds of accepted requests
    in_flight: int = 0


def limits(world: World) -> Limits:
    return world.extra.setdefault("throttle_limits", Limits())


def _bucket(world: World, key: tuple[str, str]) -> _Bucket:
    return world.extra.setdefault("throttle_buckets", {}).setdefault(key, _Bucket())


def acquire(world: World, client_id: str, mailbox: Mailbox | None):
    """Admit one request or raise 429; returns a slot to :func:`release`."""
    if mailbox is None:
        return None
    key = (client_id, mailbox.id)
    with world.lock:
        if not world.throttling_enabled:
            return None
        lim = limits(world)
        bucket = _bucket(world, key)
        now = world.clock.now().timestamp()
        while bucket.stamps and bucket.stamps[0] <= now - WINDOW_SECONDS:
            bucket.stamps.popleft()
        if bucket.in_flight >= lim.concurrent:
            raise GraphError(429, "ApplicationThrottled",
                             "Application is over its MailboxConcurrency limit.", {"Retry-After": "1"})
        if len(bucket.stamps) >= lim.requests_per_window:
            wait = math.ceil(bucket.stamps[0] + WINDOW_SECONDS - now)
            raise GraphError(429, "ApplicationThrottled",
                             "Application is over its MailboxRequests limit.", {"Retry-After": str(max(wait, 1))})
        bucket.stamps.append(now)
        bucket.in_flight += 1
        return key


def release(world: World, slot) -> None:
    with world.lock:
        bucket = _bucket(world, slot)
        bucket.in_flight = max(0, bucket.in_flight - 1)
