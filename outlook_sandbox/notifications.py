"""Change-notification subscriptions (webhooks) and their delivery.

A Graph *subscription* asks Graph to POST a ``changeNotificationCollection``
(``{"value": [changeNotification, ...]}``) to the client's ``notificationUrl``
whenever an item of the subscribed resource is created, updated or deleted.
Each notification names the item (``resource``, ``resourceData``) but does not
carry its content; the client re-reads it (or runs delta). Lifecycle
notifications (``reauthorizationRequired``, ``subscriptionRemoved``,
``missed``) go to the separate ``lifecycleNotificationUrl``, on their own as
Graph sends them (change-notifications-lifecycle-events.md in
microsoftgraph/microsoft-graph-docs-contrib,
https://learn.microsoft.com/graph/change-notifications-lifecycle-events):

- ``reauthorizationRequired`` once, :data:`REAUTHORIZE_AHEAD` before the
  subscription's *authorization horizon*: the earlier of its expiry and the
  expiry of the access token it was created, renewed or reauthorized with.
  Past the horizon change notifications pause (they are lost, as Graph's are)
  until ``POST /subscriptions/{id}/reauthorize`` or a renewal with a valid
  token. Graph's cadence "is subject to change" (its illustration repeats the
  challenge every 15 minutes in the last hour); one challenge is the
  sandbox's choice.
- ``subscriptionRemoved`` when the mailbox's access is revoked (control API
  ``/tokens/expire`` with ``revoke``) or the mailbox is deleted; the
  subscription is gone with it.
- ``missed`` when the sandbox drops change notifications: a fault rule with
  method ``NOTIFY`` (matched against ``/me/events/{id}`` and the mailbox)
  drops the notifications it matches, and a notification still undelivered
  at the end of the retry window is dropped too.

Lifecycle checks run on the world clock: whenever subscriptions are looked
at, when the control API moves the clock, and every :data:`LIFECYCLE_TICK`
real seconds from a daemon thread while subscriptions with a lifecycle URL
exist.

This module keeps the subscriptions of a world (``world.extra``, so
``World.reset()`` drops them), turns store changes into notifications (a
``world.change_listeners`` entry, registered once per world on the first
subscription) and delivers them from a background thread, never under
``world.lock``: pending notifications for the same URL are batched into one
POST, each POST has Graph's 3-second budget, redirects are not followed, and a
non-2xx answer or a timeout is retried with exponential backoff (1 s, 2 s, 4 s
... at most 60 s apart) until ``retry_window`` (world clock; Graph: 4 hours)
has passed since the first attempt. Every attempt is logged for the control
API. The worker thread is a daemon that exits after a few idle seconds and is
started again by the next notification, so resets and test runs leak no
threads. ``wait_idle(world)`` waits for all pending deliveries (tests).
"""
from __future__ import annotations

import ipaddress
import secrets
import ssl
import threading
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from . import faults
from .store import Mailbox, World

_SUBSCRIPTIONS = "notifications.subscriptions"
_LOG = "notifications.log"
# Seconds, world clock: how long a failing notification is retried (Graph: "up to 4 hours").
RETRY_WINDOW = "notification_retry_window"
DEFAULT_RETRY_WINDOW = 4 * 3600
DELIVERY_TIMEOUT = 3.0      # Graph's response budget for notifications
VALIDATION_TIMEOUT = 10.0   # ... and for the validation handshake
MAX_BATCH = 100
MAX_LOG_ENTRIES = 2000
_IDLE_EXIT_SECONDS = 3.0
REAUTHORIZE_AHEAD = timedelta(minutes=15)
LIFECYCLE_TICK = 5.0  # real seconds between lifecycle checks of the background thread


@dataclass
class Subscription:
    id: str
    resource: str            # as the client wrote it (echoed back)
    change_types: list[str]  # created | updated | deleted
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires_at: datetime
    client_id: str           # the creating app; only it sees the subscription
    mailbox_id: str          # the signed-in user (creatorId)
    calendar_id: str | None  # None: every calendar of the mailbox
    # Expiry of the access token that created, renewed or reauthorized it.
    authorized_until: datetime | None = None
    challenged: bool = False  # reauthorizationRequired sent for the current horizon

    @property
    def horizon(self) -> datetime:
        """When the subscription stops delivering unless reauthorized or renewed."""
        return min(self.expires_at, self.authorized_until or self.expires_at)

    def authorize(self, token_expires_at: datetime) -> None:
        """A create, renewal or reauthorization with a token valid until ``token_expires_at``."""
        self.authorized_until = token_expires_at
        self.challenged = False


def subscriptions(world: World) -> dict[str, Subscription]:
    """The world's unexpired subscriptions by id, after sending the lifecycle
    notifications that are due; expired ones are removed here (Graph deletes a
    subscription that was not renewed in time). Hold ``world.lock``."""
    registry: dict[str, Subscription] = world.extra.setdefault(_SUBSCRIPTIONS, {})
    now = world.clock.now()
    for sub in registry.values():
        if sub.lifecycle_url and not sub.challenged and now >= sub.horizon - REAUTHORIZE_AHEAD:
            sub.challenged = True
            send_lifecycle(world, sub, "reauthorizationRequired")
    for sub_id in [s.id for s in registry.values() if s.expires_at <= now]:
        del registry[sub_id]
    return registry


def add_subscription(world: World, subscription: Subscription) -> None:
    """Store ``subscription`` and make sure store changes reach it. Hold ``world.lock``."""
    subscriptions(world)[subscription.id] = subscription
    _notifier(world)
    if subscription.lifecycle_url:
        _LifecycleTicker.ensure(world)


def remove_subscriptions(world: World, mailbox_id: str, client_id: str | None = None) -> int:
    """Remove the mailbox's subscriptions (of ``client_id``'s only when given),
    telling each lifecycle URL ``subscriptionRemoved``. Hold ``world.lock``."""
    registry = subscriptions(world)
    gone = [s for s in registry.values()
            if s.mailbox_id == mailbox_id and (client_id is None or s.client_id == client_id)]
    for sub in gone:
        if sub.lifecycle_url:
            send_lifecycle(world, sub, "subscriptionRemoved")
        del registry[sub.id]
    return len(gone)


def graph_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


# -- building notifications (under world.lock) ------------------------------------

def _on_change(world: World, mailbox: Mailbox, event_id: str, change_type: str) -> None:
    """``world.change_listeners`` entry: queue a notification per matching subscription."""
    event = mailbox.events.get(event_id)
    if event is not None:
        calendar_id, etag = event.calendar_id, f'W/"{event.change_key}"'
    else:  # deleted: its tombstone still knows the calendar; there is no change key left
        tombstone = next((t for t in reversed(mailbox.tombstones) if t.id == event_id), None)
        calendar_id, etag = (tombstone.calendar_id if tombstone else None), None
    resource = f"Users/{mailbox.id}/Events/{event_id}"
    now = world.clock.now()
    for sub in subscriptions(world).values():
        if sub.mailbox_id != mailbox.id or change_type not in sub.change_types:
            continue
        if sub.calendar_id is not None and sub.calendar_id != calendar_id:
            continue
        if sub.horizon <= now:
            continue  # paused until reauthorized: the change is lost, as at Graph
        if faults.match(world, faults.NOTIFY, f"/me/events/{event_id}", mailbox) is not None:
            if sub.lifecycle_url:
                send_lifecycle(world, sub, "missed")
            continue
        resource_data = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": event_id}
        if etag:
            resource_data["@odata.etag"] = etag
        item = {"id": secrets.token_urlsafe(12), "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": graph_time(sub.expires_at),
                "clientState": sub.client_state, "changeType": change_type, "resource": resource,
                "tenantId": mailbox.tenant_id, "resourceData": resource_data}
        _notifier(world).enqueue(sub.notification_url, "notification", sub.id, item)


def send_lifecycle(world: World, sub: Subscription, lifecycle_event: str) -> None:
    """Queue a lifecycle notification for ``sub`` (which must have a lifecycle URL)."""
    mailbox = world.mailboxes.get(sub.mailbox_id)
    item = {"subscriptionId": sub.id, "subscriptionExpirationDateTime": graph_time(sub.expires_at),
            "tenantId": mailbox.tenant_id if mailbox else "", "clientState": sub.client_state,
            "lifecycleEvent": lifecycle_event}
    _notifier(world).enqueue(sub.lifecycle_url, "lifecycle", sub.id, item)


# -- HTTP to the client's endpoint (never under world.lock) -------------------------

def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Not verifying loopback receivers is deliberate (below): keep urllib3 quiet about those only.
warnings.filterwarnings("ignore", category=InsecureRequestWarning,
                        message=r"Unverified HTTPS request is being made to host '(127\.|localhost|::1)")


def _verify_for(url: str):
    # A receiver on this machine is a test or a developer's Odoo with a
    # throwaway certificate; Graph could never reach it, so there is no real
    # behaviour to mirror and checking it would only get in the way.
    if _is_loopback(url):
        return False
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.capath or True


def _post(http: requests.Session, url: str, timeout: float, **kwargs) -> requests.Response:
    return http.post(url, timeout=timeout, allow_redirects=False, verify=_verify_for(url), **kwargs)


def _new_session() -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # Graph connects directly: no proxy or CA bundle from the environment
    return http


def validate_endpoint(url: str) -> str | None:
    """Graph's validation handshake against ``url``: None when it passed, else
    the reason (Graph's wording where known)."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    separator = "&" if urlsplit(url).query else "?"
    try:
        with _new_session() as http:
            response = _post(http, f"{url}{separator}validationToken={quote(token, safe='')}",
                             VALIDATION_TIMEOUT, data=b"",
                             headers={"Content-Type": "text/plain; charset=utf-8"})
    except requests.Timeout:
        return "Subscription validation request timed out."
    except requests.RequestException as exc:
        return f"Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. ({type(exc).__name__})"
    if response.status_code != 200:
        return ("Subscription validation request failed. Notification endpoint must respond with "
                f"200 OK to validation request. (HTTP {response.status_code})")
    if not (response.headers.get("Content-Type") or "").lower().startswith("text/plain"):
        return "Subscription validation request failed. Response must be of content type text/plain."
    if response.content.decode("utf-8", "replace") != token:
        return "Subscription validation request failed. Response must exactly match validationToken query parameter."
    return None


# -- the delivery worker ---------------------------------------------------------------

@dataclass
class _Pending:
    url: str
    kind: str               # notification | lifecycle
    subscription_id: str
    item: dict
    generation: dict        # world.extra when queued: a reset in between drops the item
    first_queued: datetime  # world clock, for the retry window
    attempts: int = 0
    due: float = 0.0        # time.monotonic()


class _Notifier:
    """One per world: the queue, the worker thread and the change listener."""

    def __init__(self, world: World):
        self._world = weakref.ref(world)
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._http = _new_session()
        world.change_listeners.append(self.on_change)

    def on_change(self, mailbox: Mailbox, event_id: str, change_type: str) -> None:
        world = self._world()
        if world is not None and world.extra.get(_SUBSCRIPTIONS):
            _on_change(world, mailbox, event_id, change_type)

    def enqueue(self, url: str, kind: str, subscription_id: str, item: dict) -> None:
        world = self._world()
        # due at once (0.0), not "time.monotonic() now": the caller's clock may not be the worker's
        # (freezegun fakes it for request threads but not for threads it ignores, such as this worker)
        pending = _Pending(url, kind, subscription_id, item, world.extra, world.clock.now())
        with self._cond:
            self._pending.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-notifications", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _take_batch(self) -> list[_Pending] | None:
        """Wait for due items and take a batch for one URL; None: idle long enough to exit."""
        idle_since = time.monotonic()
        with self._cond:
            while True:
                now = time.monotonic()
                due = [p for p in self._pending if p.due <= now]
                if due:
                    first = due[0]
                    batch = [p for p in due if p.url == first.url and p.kind == first.kind][:MAX_BATCH]
                    for taken in batch:
                        self._pending.remove(taken)
                    self._in_flight += 1
                    return batch
                if not self._pending and now - idle_since >= _IDLE_EXIT_SECONDS:
                    self._thread = None
                    return None
                next_due = min((p.due for p in self._pending), default=now + _IDLE_EXIT_SECONDS)
                self._cond.wait(max(0.01, next_due - now))

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            try:
                self._deliver(batch)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _deliver(self, batch: list[_Pending]) -> None:
        world = self._world()
        if world is None:
            return
        with world.lock:
            live = subscriptions(world)
            batch = [p for p in batch if p.generation is world.extra
                     and (p.kind == "lifecycle" or p.subscription_id in live)]
        if not batch:
            return
        url = batch[0].url
        started = time.monotonic()
        status, error = None, None
        try:
            response = _post(self._http, url, DELIVERY_TIMEOUT, json={"value": [p.item for p in batch]})
            status = response.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        delivered = status is not None and 200 <= status < 300
        with world.lock:
            now = world.clock.now()
            window = timedelta(seconds=float(world.extra.get(RETRY_WINDOW, DEFAULT_RETRY_WINDOW)))
            retry = [p for p in batch if not delivered and now - p.first_queued < window]
            given_up = [p for p in batch if not delivered and now - p.first_queued >= window]
            if given_up and batch[0].kind == "notification":
                # The subscription's owner learns it missed changes.
                live = subscriptions(world)
                for sub_id in dict.fromkeys(p.subscription_id for p in given_up):
                    sub = live.get(sub_id)
                    if sub is not None and sub.lifecycle_url:
                        send_lifecycle(world, sub, "missed")
            log = world.extra.setdefault(_LOG, [])
            log.append({"at": graph_time(now), "url": url, "kind": batch[0].kind,
                        "subscriptionIds": sorted({p.subscription_id for p in batch}),
                        "changeTypes": [p.item.get("changeType") or p.item.get("lifecycleEvent") for p in batch],
                        "count": len(batch), "attempt": batch[0].attempts + 1, "status": status,
                        "error": error, "delivered": delivered,
                        "durationMs": int((time.monotonic() - started) * 1000),
                        "willRetry": bool(retry)})
            del log[:-MAX_LOG_ENTRIES]
        if retry:
            with self._cond:
                for pending in retry:
                    pending.attempts += 1
                    pending.due = time.monotonic() + min(60.0, 2.0 ** (pending.attempts - 1))
                    self._pending.append(pending)
                self._cond.notify_all()


class _LifecycleTicker:
    """Runs the lifecycle checks on real time while a world has subscriptions
    with a lifecycle URL (so a running sandbox sends them without anyone
    looking); exits when there are none, like the delivery worker."""

    _running: "weakref.WeakSet[World]" = weakref.WeakSet()
    _lock = threading.Lock()

    @classmethod
    def ensure(cls, world: World) -> None:
        with cls._lock:
            if world in cls._running:
                return
            cls._running.add(world)
        threading.Thread(target=cls._run, args=(weakref.ref(world),), name="sandbox-lifecycle",
                         daemon=True).start()

    @classmethod
    def _run(cls, world_ref) -> None:
        while True:
            time.sleep(LIFECYCLE_TICK)
            world = world_ref()
            if world is None:
                return
            with world.lock, cls._lock:
                if not any(s.lifecycle_url for s in subscriptions(world).values()):
                    cls._running.discard(world)
                    return
            del world


_notifiers: "weakref.WeakKeyDictionary[World, _Notifier]" = weakref.WeakKeyDictionary()
_notifiers_lock = threading.Lock()


def _notifier(world: World) -> _Notifier:
    with _notifiers_lock:
        notifier = _notifiers.get(world)
        if notifier is None:
            notifier = _notifiers[world] = _Notifier(world)
        return notifier


def wait_idle(world: World, timeout: float = 10.0) -> bool:
    """Block until no delivery is pending or in flight (retries included); False
    on timeout. Never call it holding ``world.lock``: the worker needs it."""
    notifier = _notifiers.get(world)
    return notifier.wait_idle(timeout) if notifier else True


def delivery_log(world: World) -> list[dict]:
    with world.lock:
        return list(world.extra.get(_LOG, []))
