"""Graph event JSON <-> :class:`~outlook_sync.model.Event`.

Graph facts this module relies on (see ``reference/graph-and-msal.md`` §1, §7):

* ``start``/``end`` are dateTimeTimeZone values ``{"dateTime":
  "2017-04-15T11:00:00.0000000", "timeZone": "UTC"}``: a local time without
  offset (7 fractional digits in responses) plus a zone name, ``"UTC"`` unless
  ``Prefer: outlook.timezone`` asked for another Windows or IANA name.
* ``originalStartTimeZone`` is the Windows zone the event was planned in; it
  becomes :attr:`Event.time_zone`. We write start/end in that zone so Graph keeps
  it.
* All-day events run from midnight to an exclusive midnight in the event's
  zone. Read back in UTC they no longer look like midnights, so the local dates
  are recovered with ``originalStartTimeZone``. The model keeps an inclusive
  end date.
* Our Odoo reference and a non-Teams meeting URL travel in single-value
  extended properties (:data:`ODOO_REF_PROPERTY_ID`,
  :data:`MEETING_URL_PROPERTY_ID`); the Odoo back-link travels in the body
  (:mod:`outlook_sync.body`).
* Graph cannot write ``onlineMeeting.joinUrl`` (Teams creates it), ``iCalUId``,
  ``changeKey`` or the cancelled/modified occurrences of a series.

Inbound mapping never raises for odd values: it keeps the closest faithful
value and returns a warning. Only a payload that cannot be an event at all (not
an object, an ``@removed`` tombstone, no readable start) raises
:class:`MappingError`, so the caller can skip that item and go on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .body import add_backlink, sanitize_html, split_backlinks, text_to_html
from .model import EVENT_FIELDS, Attendee, AttendeeType, Event, Person, Recurrence, Response, Sensitivity, ShowAs
from .recurrence import local_start, recurrence_from_graph, recurrence_to_graph
from .timezones import FALLBACK_TIME_ZONE, get_zone, resolve_time_zone, windows_name

_PROPERTY_GUID = "{4f1c8e2a-7b3d-4e59-a6c1-93d0b5e7f214}"
#: Extended property holding our Odoo reference (e.g. ``"calendar.event,42"``).
ODOO_REF_PROPERTY_ID = f"String {_PROPERTY_GUID} Name OdooEventRef"
#: Extended property holding a meeting URL Graph has no writable field for.
MEETING_URL_PROPERTY_ID = f"String {_PROPERTY_GUID} Name OdooMeetingUrl"

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)

# Which Graph properties carry each model field (for PATCH bodies).
_GRAPH_KEYS_BY_FIELD: dict[str, tuple[str, ...]] = {
    "subject": ("subject",),
    "body_html": ("body",),
    "odoo_url": ("body",),
    "start": ("start", "end", "isAllDay"),
    "end": ("start", "end", "isAllDay"),
    "all_day": ("start", "end", "isAllDay"),
    "time_zone": ("start", "end", "isAllDay"),
    "location": ("location",),
    "online_meeting_url": ("singleValueExtendedProperties",),
    "attendees": ("attendees",),
    "organizer": ("organizer",),
    "show_as": ("showAs",),
    "sensitivity": ("sensitivity",),
    "reminder_minutes": ("isReminderOn", "reminderMinutesBeforeStart"),
    "categories": ("categories",),
    "recurrence": ("recurrence",),
    "odoo_ref": ("singleValueExtendedProperties",),
    "odoo_record_url": ("body",),
    "odoo_record_name": ("body",),
}
assert set(_GRAPH_KEYS_BY_FIELD) == set(EVENT_FIELDS)


class MappingError(ValueError):
    """A Graph payload that cannot be turned into an event (skip it, keep syncing)."""


@dataclass(frozen=True, slots=True)
class GraphMeta:
    """Graph bookkeeping of an event that is not event content."""

    id: str
    change_key: str
    ical_uid: str
    last_modified: datetime | None
    created: datetime | None
    type: str
    series_master_id: str
    transaction_id: str
    is_organizer: bool
    is_cancelled: bool
    #: the mailbox owner's own answer (``responseStatus.response``): an attendee copy's answer
    response: str = "none"


def is_removed(payload: Any) -> bool:
    """True for a delta tombstone (``{"id": ..., "@removed": {"reason": ...}}``)."""
    return isinstance(payload, dict) and "@removed" in payload


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 UTC instant of Graph's bookkeeping (``...Z`` or with an offset), or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _parse_graph_datetime(value, "UTC")


def graph_meta(payload: dict[str, Any]) -> GraphMeta:
    """Bookkeeping fields of a Graph event payload (ids, changeKey, lastModifiedDateTime...)."""
    return GraphMeta(
        id=str(payload.get("id") or ""),
        change_key=str(payload.get("changeKey") or ""),
        ical_uid=str(payload.get("iCalUId") or ""),
        last_modified=parse_instant(payload.get("lastModifiedDateTime")),
        created=parse_instant(payload.get("createdDateTime")),
        type=str(payload.get("type") or "singleInstance"),
        series_master_id=str(payload.get("seriesMasterId") or ""),
        transaction_id=str(payload.get("transactionId") or ""),
        is_organizer=bool(payload.get("isOrganizer", True)),
        is_cancelled=bool(payload.get("isCancelled", False)),
        response=str(((payload.get("responseStatus") or {}) if isinstance(payload.get("responseStatus"), dict)
                      else {}).get("response") or "none"),
    )


# --------------------------------------------------------------------------- Graph -> Event

def event_from_graph(payload: Any, *, default_time_zone: str = FALLBACK_TIME_ZONE,
                     allow_remote_images: bool = False) -> tuple[Event, list[str]]:
    """Map a Graph event payload to an :class:`Event`.

    ``default_time_zone`` (normally the mailbox's zone) is used when the event's
    own zone is missing, custom or unknown. ``allow_remote_images`` keeps the
    body's remote (http/https) images, which load in the reader's browser;
    by default the body keeps no image (:func:`~outlook_sync.body.sanitize_html`).
    Returns ``(event, warnings)``.

    :raises MappingError: if the payload cannot be an event at all.
    """
    if not isinstance(payload, dict):
        raise MappingError(f"event payload must be a JSON object, got {type(payload).__name__}")
    if is_removed(payload):
        raise MappingError(f"event {payload.get('id')!r} is a deletion tombstone, not an event")
    warnings: list[str] = []
    start_value, end_value = payload.get("start"), payload.get("end")
    if not isinstance(start_value, dict) or not start_value.get("dateTime"):
        raise MappingError(f"event {payload.get('id')!r} has no start")

    zone_name = payload.get("originalStartTimeZone") or start_value.get("timeZone")
    time_zone, warning = resolve_time_zone(zone_name, default_time_zone)
    if warning:
        warnings.append(f"event time zone: {warning}")
    start = _graph_moment(start_value, time_zone, "start", warnings)
    if start is None:
        raise MappingError(f"event {payload.get('id')!r} has an unreadable start {start_value!r}")
    end = _graph_moment(end_value, time_zone, "end", warnings) if isinstance(end_value, dict) else None
    if end is None:
        warnings.append("event without a readable end; using its start")
        end = start
    if end < start:
        warnings.append(f"event ends before it starts ({end.isoformat()} < {start.isoformat()}); using its start")
        end = start

    all_day = payload.get("isAllDay") is True
    if not isinstance(payload.get("isAllDay"), (bool, type(None))):
        warnings.append(f"isAllDay {payload.get('isAllDay')!r} is not a boolean; treating the event as timed")
    if all_day:
        start_day, end_day = _all_day_dates(start, end, time_zone, warnings)

    recurrence = None
    if payload.get("recurrence"):
        recurrence, recurrence_warnings = recurrence_from_graph(
            payload["recurrence"], start_day if all_day else start, time_zone
        )
        warnings.extend(recurrence_warnings)
        if recurrence is not None:
            recurrence = Recurrence(
                rrule=recurrence.rrule,
                time_zone=recurrence.time_zone,
                modified=_modified_occurrences(payload.get("exceptionOccurrences"), warnings),
                cancelled=_cancelled_dates(payload.get("cancelledOccurrences"), warnings),
            )

    body_html, odoo_url, record_url, record_name = _body_from_graph(payload.get("body"), warnings,
                                                                   allow_remote_images)
    properties = _extended_properties(payload.get("singleValueExtendedProperties"))
    event = Event(
        subject=_text(payload.get("subject")),
        body_html=body_html,
        start=start_day if all_day else start,
        end=end_day if all_day else end,
        time_zone=time_zone,
        all_day=all_day,
        location=_text(location.get("displayName")) if isinstance(location := payload.get("location"), dict) else "",
        online_meeting_url=_meeting_url(payload, properties),
        attendees=_attendees(payload.get("attendees"), warnings),
        organizer=_person(payload.get("organizer")),
        show_as=_enum(ShowAs, payload.get("showAs"), ShowAs.BUSY, "showAs", warnings),
        sensitivity=_enum(Sensitivity, payload.get("sensitivity"), Sensitivity.NORMAL, "sensitivity", warnings),
        reminder_minutes=_reminder(payload, warnings),
        categories=_categories(payload.get("categories"), warnings),
        recurrence=recurrence,
        odoo_url=odoo_url,
        odoo_ref=properties.get(ODOO_REF_PROPERTY_ID.lower(), ""),
        odoo_record_url=record_url,
        odoo_record_name=record_name,
    )
    return event, warnings


def _graph_moment(value: dict[str, Any], event_zone: str, label: str, warnings: list[str]) -> datetime | None:
    zone, warning = resolve_time_zone(value.get("timeZone"), event_zone)
    if warning:
        warnings.append(f"{label} time zone: {warning}")
    moment = _parse_graph_datetime(value.get("dateTime"), zone)
    if moment is None:
        warnings.append(f"unreadable {label} dateTime {value.get('dateTime')!r}")
    return moment


def _parse_graph_datetime(text: Any, zone: str) -> datetime | None:
    """Parse Graph's offset-less dateTime (up to 7 fractional digits) as a UTC instant."""
    match = _DATETIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                          int((fraction or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None
    if offset == "Z":
        tzinfo: Any = timezone.utc
    elif offset:
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    else:
        tzinfo = get_zone(zone)
    try:
        return moment.replace(tzinfo=tzinfo).astimezone(timezone.utc)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it: no instant Python can hold
        return None


def _all_day_dates(start: datetime, end: datetime, time_zone: str, warnings: list[str]) -> tuple[date, date]:
    zone = get_zone(time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.time() != time() or local_end.time() != time():
        warnings.append(f"all-day event not at local midnight in {time_zone}; using the local dates it covers")
    start_day = local_start.date()
    # Graph's end is an exclusive midnight; a non-midnight end still covers its own day.
    end_day = local_end.date() if local_end.time() != time() else local_end.date() - timedelta(days=1)
    if end_day < start_day:
        warnings.append("all-day event shorter than a day; making it one day long")
        end_day = start_day
    return start_day, end_day


def _body_from_graph(body: Any, warnings: list[str], allow_remote_images: bool) -> tuple[str, str, str, str]:
    if not isinstance(body, dict):
        if body is not None:
            warnings.append(f"body {body!r} is not an itemBody; ignored")
        return "", "", "", ""
    content = _text(body.get("content"))
    kind = str(body.get("contentType") or "html").lower()
    if kind == "text":
        return text_to_html(content), "", "", ""
    if kind != "html":
        warnings.append(f"unknown body contentType {body.get('contentType')!r}; treating it as HTML")
    user_html, odoo_url, record_url, record_name = split_backlinks(content)
    # Exchange wraps bodies in <html><body> with line breaks; the sanitizer drops
    # the wrapper but keeps the whitespace around it, which is not the user's text.
    return sanitize_html(user_html, allow_remote_images=allow_remote_images).strip(), odoo_url, record_url, record_name


def _extended_properties(value: Any) -> dict[str, str]:
    properties: dict[str, str] = {}
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            # Graph may echo the GUID in another letter case.
            properties[item["id"].lower()] = _text(item.get("value"))
    return properties


def _meeting_url(payload: dict[str, Any], properties: dict[str, str]) -> str:
    online_meeting = payload.get("onlineMeeting")
    if isinstance(online_meeting, dict) and online_meeting.get("joinUrl"):
        return _text(online_meeting["joinUrl"])
    return _text(payload.get("onlineMeetingUrl")) or properties.get(MEETING_URL_PROPERTY_ID.lower(), "")


def _attendees(value: Any, warnings: list[str]) -> tuple[Attendee, ...]:
    attendees = []
    for item in value if isinstance(value, list) else ():
        person = _person(item)
        if person is None:
            warnings.append(f"attendee without an e-mail address ignored: {item!r}")
            continue
        status = item.get("status") if isinstance(item.get("status"), dict) else {}
        attendees.append(Attendee(
            email=person.email,
            name=person.name,
            type=_enum(AttendeeType, item.get("type"), AttendeeType.REQUIRED, "attendee type", warnings),
            response=_enum(Response, status.get("response"), Response.NONE, "attendee response", warnings),
        ))
    return tuple(attendees)


def _person(value: Any) -> Person | None:
    address = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(address, dict) or not _text(address.get("address")).strip():
        return None
    return Person(email=_text(address["address"]), name=_text(address.get("name")))


def _reminder(payload: dict[str, Any], warnings: list[str]) -> int | None:
    if payload.get("isReminderOn") is False:
        return None
    minutes = payload.get("reminderMinutesBeforeStart", 15)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        warnings.append(f"invalid reminderMinutesBeforeStart {minutes!r}; using 15")
        return 15
    return minutes


def _modified_occurrences(value: Any, warnings: list[str]) -> tuple[datetime, ...]:
    moments = []
    for item in value if isinstance(value, list) else ():
        original = item.get("originalStart") if isinstance(item, dict) else None
        moment = _parse_graph_datetime(original, "UTC")
        if moment is None:
            warnings.append(f"exception occurrence without a readable originalStart ignored: {original!r}")
        else:
            moments.append(moment)
    return tuple(moments)


def _cancelled_dates(value: Any, warnings: list[str]) -> tuple[date, ...]:
    days = []
    for occurrence_id in value if isinstance(value, list) else ():
        # "OID.{seriesMasterId}.{occurrence start date}"
        try:
            days.append(date.fromisoformat(str(occurrence_id).rsplit(".", 1)[-1][:10]))
        except ValueError:
            warnings.append(f"cancelled occurrence id {occurrence_id!r} has no date; ignored")
    return tuple(days)


def _enum(kind: Any, value: Any, default: Any, label: str, warnings: list[str]) -> Any:
    if value is None:
        return default
    by_lower = {member.value.lower(): member for member in kind}
    if isinstance(value, str) and value.lower() in by_lower:
        return by_lower[value.lower()]
    warnings.append(f"unknown {label} {value!r}; using {default.value!r}")
    return default


def _categories(value: Any, warnings: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        warnings.append(f"categories {value!r} is not a list; ignored")
        return ()
    categories = tuple(category for category in value if isinstance(category, str) and category)
    if len(categories) != len(value):
        warnings.append(f"categories that are not names ignored: {value!r}")
    return categories


def _text(value: Any) -> str:
    """Graph strings; anything else (a damaged payload) reads as empty."""
    return value if isinstance(value, str) else ""


# --------------------------------------------------------------------------- Event -> Graph

def event_to_graph(
    event: Event, changed_fields: Iterable[str] | None = None, *, transaction_id: str | None = None
) -> dict[str, Any]:
    """Build a Graph request body for ``event``.

    With ``changed_fields`` (model field names) the result is a PATCH body with
    only the Graph properties those fields touch; without it, a full body for
    POST. ``transaction_id`` makes a POST idempotent (Graph returns the existing
    event when a retried create carries the same id).

    :raises ValueError: for an unknown field name (a programming error).
    """
    wanted: set[str] | None = None
    if changed_fields is not None:
        wanted = set()
        for name in changed_fields:
            if name not in _GRAPH_KEYS_BY_FIELD:
                raise ValueError(f"unknown event field {name!r}")
            wanted.update(_GRAPH_KEYS_BY_FIELD[name])
        if event.recurrence is not None and wanted & {"start", "isAllDay"}:
            wanted.add("recurrence")  # range.startDate follows the start

    def include(key: str) -> bool:
        return wanted is None or key in wanted

    body: dict[str, Any] = {}
    if include("subject"):
        body["subject"] = event.subject
    if include("body"):
        body["body"] = {"contentType": "html", "content": add_backlink(
            event.body_html, event.odoo_url, event.odoo_record_url, event.odoo_record_name)}
    if include("start"):
        body.update(_times_to_graph(event))
    if include("location"):
        body["location"] = {"displayName": event.location}
    if include("attendees"):
        body["attendees"] = [
            {"emailAddress": {"address": a.email, "name": a.name}, "type": str(a.type),
             "status": {"response": str(a.response)}}
            for a in event.attendees
        ]
    if include("organizer") and event.organizer is not None:
        body["organizer"] = {"emailAddress": {"address": event.organizer.email, "name": event.organizer.name}}
    if include("showAs"):
        body["showAs"] = str(event.show_as)
    if include("sensitivity"):
        body["sensitivity"] = str(event.sensitivity)
    if include("isReminderOn"):
        body["isReminderOn"] = event.reminder_minutes is not None
        if event.reminder_minutes is not None:
            body["reminderMinutesBeforeStart"] = event.reminder_minutes
    if include("categories"):
        body["categories"] = list(event.categories)
    if include("recurrence"):
        body["recurrence"] = None
        if event.recurrence is not None:
            series_start = local_start(event.start, event.recurrence.time_zone)
            body["recurrence"], _ = recurrence_to_graph(event.recurrence, series_start)
    if include("singleValueExtendedProperties"):
        names = set(changed_fields) if changed_fields is not None else {"odoo_ref", "online_meeting_url"}
        properties = []
        if "odoo_ref" in names and (event.odoo_ref or changed_fields is not None):
            properties.append({"id": ODOO_REF_PROPERTY_ID, "value": event.odoo_ref})
        if "online_meeting_url" in names and (event.online_meeting_url or changed_fields is not None):
            properties.append({"id": MEETING_URL_PROPERTY_ID, "value": event.online_meeting_url})
        if properties:
            body["singleValueExtendedProperties"] = properties
    if transaction_id:
        body["transactionId"] = transaction_id
    return body


def _times_to_graph(event: Event) -> dict[str, Any]:
    zone_name = windows_name(event.time_zone)
    if event.all_day:
        start = datetime.combine(event.start, time())
        end = datetime.combine(event.end + timedelta(days=1), time())  # Graph's end is exclusive
    else:
        zone = get_zone(event.time_zone)
        start = event.start.astimezone(zone)
        end = event.end.astimezone(zone)
    return {
        "start": {"dateTime": _format_graph_datetime(start), "timeZone": zone_name},
        "end": {"dateTime": _format_graph_datetime(end), "timeZone": zone_name},
        "isAllDay": event.all_day,
    }


def _format_graph_datetime(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0"
