"""The sandbox's in-memory world: tenants, app registrations, mailboxes,
calendars, events, tokens, the sent-mail log and the movable clock.

Everything lives in one :class:`World` guarded by one re-entrant lock; handlers
take ``world.lock`` for the whole of their state change, so a request is atomic
as it is in Exchange. Graph-visible ids are opaque strings in Graph's REST
form (:mod:`outlook_sandbox.ids`: URL-safe alphabet, ``=`` padding kept).

Change tracking: every mailbox keeps a monotonically increasing ``seq``. Each
create/update/delete stamps the event (or its tombstone) with the next value;
delta tokens remember the ``seq`` they were issued at, and subscriptions are
told through :meth:`World.record_change`.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections import Counter
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from . import ids

UTC = timezone.utc
# Microsoft's consumer tenant: personal Microsoft accounts all belong to it
# (it is the tid of their tokens, id-token-claims-reference.md), whatever their
# address's domain.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


def new_graph_id(prefix: bytes = b"\x00\x00\x00\x00") -> str:
    """An opaque item id in Graph's REST form (see :mod:`outlook_sandbox.ids`)."""
    return ids.new_id(prefix)


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(18)).decode("ascii")


def new_ical_uid() -> str:
    # Exchange's global object id form: a fixed header then random bytes, upper hex.
    return "040000008200E00074C5B7101A82E00800000000" + secrets.token_hex(28).upper()


class Clock:
    """Real UTC time plus an offset that the control API can move forward."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class AppSecret:
    value: str
    expires_at: datetime | None = None  # None: never expires


@dataclass
class AppRegistration:
    client_id: str
    display_name: str
    secrets: list[AppSecret]
    redirect_uris: list[str]
    # Tenant that owns the app; sign-in audience decides which accounts may use it.
    tenant_id: str
    sign_in_audience: str = "AzureADandPersonalMicrosoftAccount"


@dataclass
class Tenant:
    id: str  # GUID
    domain: str
    display_name: str = ""


@dataclass
class Calendar:
    id: str
    name: str
    is_default: bool = False
    color: str = "auto"
    hex_color: str = ""
    change_key: str = field(default_factory=new_change_key)
    can_edit: bool = True


@dataclass
class StoredEvent:
    """One stored Outlook item of a mailbox: a single instance, a series master
    or an exception. Plain occurrences are never stored: they are computed from
    their master.

    ``data`` holds Graph's writable properties as last written (JSON shape,
    already normalized and defaulted); start and end are kept apart as aware
    UTC datetimes plus the time zone names the client gave.
    """

    id: str
    calendar_id: str
    ical_uid: str
    data: dict
    start: datetime
    end: datetime
    start_tz: str
    end_tz: str
    created: datetime
    last_modified: datetime
    change_key: str
    seq: int
    type: str = "singleInstance"  # singleInstance | seriesMaster | exception
    series_master_id: str | None = None
    original_start: datetime | None = None  # exceptions only
    transaction_id: str | None = None
    extended_properties: dict[str, str] = field(default_factory=dict)
    # Original starts (UTC) of cancelled occurrences; series masters only.
    cancelled_occurrences: set[datetime] = field(default_factory=set)
    is_organizer: bool = True
    is_cancelled: bool = False
    response_status: dict = field(default_factory=lambda: {"response": "organizer",
                                                           "time": "0001-01-01T00:00:00Z"})


@dataclass
class Tombstone:
    id: str
    calendar_id: str
    seq: int
    deleted_at: datetime


@dataclass
class Mailbox:
    id: str  # user object id (GUID)
    address: str
    display_name: str
    tenant_id: str
    # Personal Microsoft accounts (Outlook.com) sign in through 'consumers'.
    personal: bool = False
    time_zone: str = "UTC"
    #: other addresses that reach this mailbox (Exchange proxy addresses, ``smtp:`` ones)
    aliases: list[str] = field(default_factory=list)
    calendars: dict[str, Calendar] = field(default_factory=dict)
    events: dict[str, StoredEvent] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    seq: int = 0

    @property
    def default_calendar(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass
class AccessToken:
    value: str
    mailbox_id: str
    client_id: str
    scopes: list[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    mailbox_id: str
    client_id: str
    scopes: list[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class SentMail:
    """A message Outlook would have e-mailed (invitation, update, cancellation, response)."""

    kind: str  # invitation | update | cancellation | response
    sender: str
    recipients: list[str]
    subject: str
    event_ical_uid: str
    at: datetime
    response: str | None = None  # accepted | declined | tentativelyAccepted (responses only)
    comment: str | None = None  # the comment of a cancel/accept/decline/tentativelyAccept call


class World:
    """All sandbox state. Take ``lock`` around every read-modify-write."""

    def __init__(self):
        self.lock = threading.RLock()
        self.clock = Clock()
        # Called as listener(mailbox, event_id, change_type) after each change;
        # modules register once per world, so reset() keeps them.
        self.change_listeners: list[Callable[[Mailbox, str, str], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock.offset = timedelta(0)
            self.tenants: dict[str, Tenant] = {}
            self.apps: dict[str, AppRegistration] = {}
            self.mailboxes: dict[str, Mailbox] = {}  # by id
            self.access_tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            # (mailbox_id, client_id) -> scopes the user consented to.
            self.consents: dict[tuple[str, str], set[str]] = {}
            self.sent_mail: list[SentMail] = []
            # (route name such as "GET /me/events", mailbox address or "") -> count.
            self.stats: Counter = Counter()
            # Settings the control API can flip.
            self.auto_consent = False
            self.throttling_enabled = True
            # Free-form per-feature state; each module keeps its own key
            # (faults, throttle buckets, delta states, subscriptions, ...).
            self.extra: dict[str, object] = {}

    # -- look-ups -------------------------------------------------------------

    def mailbox_by_address(self, address: str) -> Mailbox | None:
        address = (address or "").strip().lower()
        return next((m for m in self.mailboxes.values() if m.address.lower() == address), None) or next(
            (m for m in self.mailboxes.values() if address in (alias.lower() for alias in m.aliases)), None)

    def mailbox_by_id_or_address(self, key: str) -> Mailbox | None:
        return self.mailboxes.get(key) or self.mailbox_by_address(key)

    # -- creation helpers (seed data and the control API) ----------------------

    def add_tenant(self, domain: str, tenant_id: str | None = None, display_name: str = "") -> Tenant:
        tenant = Tenant(id=tenant_id or str(uuid.uuid4()), domain=domain.lower(),
                        display_name=display_name or domain)
        self.tenants[tenant.id] = tenant
        return tenant

    def add_mailbox(self, address: str, display_name: str = "", tenant_id: str | None = None,
                    personal: bool = False, time_zone: str = "UTC", mailbox_id: str | None = None) -> Mailbox:
        address = address.strip()
        domain = address.rsplit("@", 1)[-1].lower()
        if tenant_id is None and personal:
            tenant_id = CONSUMER_TENANT_ID
        if tenant_id is None:
            tenant = next((t for t in self.tenants.values() if t.domain == domain), None) \
                or self.add_tenant(domain)
            tenant_id = tenant.id
        mailbox = Mailbox(id=mailbox_id or str(uuid.uuid4()), address=address,
                          display_name=display_name or address.split("@")[0].title(),
                          tenant_id=tenant_id, personal=personal, time_zone=time_zone)
        calendar = Calendar(id=new_graph_id(b"\x00\x00\x00\x01"), name="Calendar", is_default=True)
        mailbox.calendars[calendar.id] = calendar
        self.mailboxes[mailbox.id] = mailbox
        return mailbox

    def add_app(self, client_id: str, secret: str, redirect_uris: list[str], display_name: str = "Odoo",
                tenant_id: str | None = None, secret_expires_at: datetime | None = None,
                sign_in_audience: str = "AzureADandPersonalMicrosoftAccount") -> AppRegistration:
        app = AppRegistration(client_id=client_id, display_name=display_name,
                              secrets=[AppSecret(secret, secret_expires_at)],
                              redirect_uris=list(redirect_uris),
                              tenant_id=tenant_id or next(iter(self.tenants), ""),
                              sign_in_audience=sign_in_audience)
        self.apps[client_id] = app
        return app

    # -- tokens ---------------------------------------------------------------

    def issue_access_token(self, mailbox: Mailbox, client_id: str, scopes: list[str],
                           lifetime: int = 3599) -> AccessToken:
        token = AccessToken(value="EwB" + secrets.token_urlsafe(48), mailbox_id=mailbox.id,
                            client_id=client_id, scopes=list(scopes),
                            expires_at=self.clock.now() + timedelta(seconds=lifetime))
        self.access_tokens[token.value] = token
        return token

    def issue_refresh_token(self, mailbox: Mailbox, client_id: str, scopes: list[str],
                            lifetime_days: int = 90) -> RefreshToken:
        token = RefreshToken(value="M.C5" + secrets.token_urlsafe(64), mailbox_id=mailbox.id,
                             client_id=client_id, scopes=list(scopes),
                             expires_at=self.clock.now() + timedelta(days=lifetime_days))
        self.refresh_tokens[token.value] = token
        return token

    # -- change tracking ------------------------------------------------------

    def record_change(self, mailbox: Mailbox, event: StoredEvent, change_type: str) -> None:
        """Stamp a change (``created``/``updated``/``deleted``) and tell listeners.

        For ``deleted`` the caller has already removed the event from
        ``mailbox.events``; a tombstone is written here so delta can report it.
        """
        seq = mailbox.next_seq()
        now = self.clock.now()
        if change_type == "deleted":
            mailbox.tombstones.append(Tombstone(event.id, event.calendar_id, seq, now))
        else:
            event.seq = seq
            event.last_modified = now
            event.change_key = new_change_key()
        for listener in list(self.change_listeners):
            listener(mailbox, event.id, change_type)


def pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
