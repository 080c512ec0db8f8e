"""The canonical, Odoo-neutral calendar event the sync core works on.

Both sides are translated into :class:`Event` (Outlook by :mod:`outlook_sync.mapping`,
Odoo by the addon), compared field by field (:mod:`outlook_sync.reconcile`) and
stored as the *base snapshot* of a binding (:meth:`Event.to_snapshot`).

Conventions, chosen once here:

* Timed events: ``start``/``end`` are timezone-aware datetimes normalised to UTC;
  ``time_zone`` is the IANA zone the event was planned in (it matters for
  recurrences and for how Outlook shows the event, not for the instants).
* All-day events: ``start``/``end`` are plain :class:`~datetime.date` values in
  the event's own zone, and ``end`` is **inclusive** (a one-day event has
  ``start == end``), like Odoo's ``stop_date``. Graph's exclusive midnight end is
  converted in the mapping.
* Attendee e-mail addresses are lower-cased (addresses are compared
  case-insensitively everywhere); attendees are kept sorted by address and
  categories sorted, because neither side gives their order a meaning.
* ``reminder_minutes`` is ``None`` when the reminder is off.
* ``odoo_url`` (the back-link shown in Outlook) and ``odoo_ref`` (our extended
  property on the Outlook event) identify the Odoo record; ``odoo_record_url``
  and ``odoo_record_name`` link to the record the event belongs to (a CRM
  opportunity...), shown next to the back-link.

Values are frozen dataclasses with value equality. :func:`field_equal` is the
comparison the reconcile engine uses: it treats as equal what Outlook cannot
tell apart (zones with the same Windows id, bodies with the same visible text).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any

from .body import body_fingerprint
from .timezones import same_zone

SNAPSHOT_VERSION = 1


class AttendeeType(StrEnum):
    """Graph ``attendee.type``."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    RESOURCE = "resource"


class Response(StrEnum):
    """Graph ``responseStatus.response``; ``none`` and ``notResponded`` are kept apart, as Graph does."""

    NONE = "none"
    ORGANIZER = "organizer"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentativelyAccepted"
    NOT_RESPONDED = "notResponded"


class ShowAs(StrEnum):
    """Graph ``showAs`` (free/busy status)."""

    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OOF = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"
    UNKNOWN = "unknown"


class Sensitivity(StrEnum):
    """Graph ``sensitivity``, Odoo's privacy."""

    NORMAL = "normal"
    PERSONAL = "personal"
    PRIVATE = "private"
    CONFIDENTIAL = "confidential"


@dataclass(frozen=True, slots=True)
class Person:
    """An e-mail identity (the organizer)."""

    email: str
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip().lower())


@dataclass(frozen=True, slots=True)
class Attendee:
    """One invitee and their answer."""

    email: str
    name: str = ""
    type: AttendeeType = AttendeeType.REQUIRED
    response: Response = Response.NONE

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip().lower())
        object.__setattr__(self, "type", AttendeeType(self.type))
        object.__setattr__(self, "response", Response(self.response))


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A recurring series in neutral form.

    ``rrule`` is an RFC 5545 RRULE value without the ``RRULE:`` prefix, in the
    canonical form :func:`outlook_sync.recurrence.normalize_rrule` produces
    (only what Graph can express; ``UNTIL`` is a floating local date-time
    ``YYYYMMDDT235959`` meaning "through that local day"). It is expanded from
    the event's start expressed in ``time_zone`` (IANA).

    ``modified`` holds the original UTC start of occurrences edited on their own
    (Graph "exceptions"); ``cancelled`` the local dates of deleted occurrences.
    Both are read from Graph; Graph cannot write them through the series master
    (occurrences are changed through ``/instances``).
    """

    rrule: str
    time_zone: str = "UTC"
    modified: tuple[datetime, ...] = ()
    cancelled: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "modified", tuple(sorted(_as_utc(moment) for moment in self.modified)))
        object.__setattr__(self, "cancelled", tuple(sorted(set(self.cancelled))))

    def equivalent(self, other: Recurrence | None) -> bool:
        """Equal, with zones compared as Outlook sees them."""
        return (
            other is not None
            and self.rrule == other.rrule
            and same_zone(self.time_zone, other.time_zone)
            and self.modified == other.modified
            and self.cancelled == other.cancelled
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One calendar event (or series master) as both sides should agree on it."""

    subject: str = ""
    body_html: str = ""
    start: datetime | date = datetime(1970, 1, 1, tzinfo=timezone.utc)
    end: datetime | date = datetime(1970, 1, 1, tzinfo=timezone.utc)
    time_zone: str = "UTC"
    all_day: bool = False
    location: str = ""
    online_meeting_url: str = ""
    attendees: tuple[Attendee, ...] = ()
    organizer: Person | None = None
    show_as: ShowAs = ShowAs.BUSY
    sensitivity: Sensitivity = Sensitivity.NORMAL
    reminder_minutes: int | None = 15
    categories: tuple[str, ...] = ()
    recurrence: Recurrence | None = None
    odoo_url: str = ""
    odoo_ref: str = ""
    odoo_record_url: str = ""
    odoo_record_name: str = ""

    def __post_init__(self) -> None:
        if self.all_day:
            for name in ("start", "end"):
                value = getattr(self, name)
                if isinstance(value, datetime) or not isinstance(value, date):
                    raise ValueError(f"all-day event {name} must be a date, got {value!r}")
        else:
            object.__setattr__(self, "start", _as_utc(self.start))
            object.__setattr__(self, "end", _as_utc(self.end))
        if self.end < self.start:
            raise ValueError(f"event ends ({self.end}) before it starts ({self.start})")
        unique = {attendee.email: attendee for attendee in self.attendees}
        object.__setattr__(self, "attendees", tuple(unique[email] for email in sorted(unique)))
        object.__setattr__(self, "categories", tuple(sorted(set(self.categories), key=lambda c: (c.casefold(), c))))
        object.__setattr__(self, "show_as", ShowAs(self.show_as))
        object.__setattr__(self, "sensitivity", Sensitivity(self.sensitivity))

    def field_values(self) -> dict[str, Any]:
        """``{field name: value}`` for every field, in declaration order."""
        return {name: getattr(self, name) for name in EVENT_FIELDS}

    def to_snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_snapshot` turns back into an equal event."""
        recurrence = self.recurrence
        return {
            "version": SNAPSHOT_VERSION,
            "subject": self.subject,
            "body_html": self.body_html,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "time_zone": self.time_zone,
            "all_day": self.all_day,
            "location": self.location,
            "online_meeting_url": self.online_meeting_url,
            "attendees": [
                {"email": a.email, "name": a.name, "type": str(a.type), "response": str(a.response)}
                for a in self.attendees
            ],
            "organizer": {"email": self.organizer.email, "name": self.organizer.name} if self.organizer else None,
            "show_as": str(self.show_as),
            "sensitivity": str(self.sensitivity),
            "reminder_minutes": self.reminder_minutes,
            "categories": list(self.categories),
            "recurrence": None if recurrence is None else {
                "rrule": recurrence.rrule,
                "time_zone": recurrence.time_zone,
                "modified": [moment.isoformat() for moment in recurrence.modified],
                "cancelled": [day.isoformat() for day in recurrence.cancelled],
            },
            "odoo_url": self.odoo_url,
            "odoo_ref": self.odoo_ref,
            "odoo_record_url": self.odoo_record_url,
            "odoo_record_name": self.odoo_record_name,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_snapshot` output."""
        version = data.get("version")
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {version!r}")
        all_day = bool(data["all_day"])
        parse = date.fromisoformat if all_day else datetime.fromisoformat
        recurrence = data.get("recurrence")
        organizer = data.get("organizer")
        return cls(
            subject=data["subject"],
            body_html=data["body_html"],
            start=parse(data["start"]),
            end=parse(data["end"]),
            time_zone=data["time_zone"],
            all_day=all_day,
            location=data["location"],
            online_meeting_url=data["online_meeting_url"],
            attendees=tuple(Attendee(**attendee) for attendee in data["attendees"]),
            organizer=Person(**organizer) if organizer else None,
            show_as=ShowAs(data["show_as"]),
            sensitivity=Sensitivity(data["sensitivity"]),
            reminder_minutes=data["reminder_minutes"],
            categories=tuple(data["categories"]),
            recurrence=None if recurrence is None else Recurrence(
                rrule=recurrence["rrule"],
                time_zone=recurrence["time_zone"],
                modified=tuple(datetime.fromisoformat(moment) for moment in recurrence["modified"]),
                cancelled=tuple(date.fromisoformat(day) for day in recurrence["cancelled"]),
            ),
            odoo_url=data["odoo_url"],
            odoo_ref=data["odoo_ref"],
            # absent from snapshots written before related-record links existed
            odoo_record_url=data.get("odoo_record_url", ""),
            odoo_record_name=data.get("odoo_record_name", ""),
        )

    def replace(self, **changes: Any) -> Event:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def without_odoo_links(self) -> Event:
        """A copy without our reference and back-links: what an event Outlook made (or an
        occurrence of a series) holds, since they are never written on it."""
        return replace(self, odoo_ref="", odoo_url="", odoo_record_url="", odoo_record_name="")


EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Event))


def field_equal(name: str, first: Any, second: Any) -> bool:
    """Whether two values of event field ``name`` are the same for sync purposes."""
    if name == "body_html":
        return first == second or body_fingerprint(first) == body_fingerprint(second)
    if name == "time_zone":
        return same_zone(first, second)
    if name == "recurrence":
        return first == second or (first is not None and first.equivalent(second))
    return first == second


def _as_utc(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(timezone.utc)
