"""Recurring series: pattern validation, expansion into occurrences,
occurrence ids, exceptions and cancelled occurrences.

A Graph series is one stored *series master* whose ``recurrence`` is a
patternedRecurrence: a ``pattern`` (daily, weekly, absolute/relative monthly,
absolute/relative yearly) and a ``range`` (endDate, noEnd, numbered) read in the
range's ``recurrenceTimeZone`` (reference §1.3). Occurrences are never stored:
they are computed from the master when a calendarView, instances or delta asks
for them, so 09:00 Europe/Brussels stays 09:00 local on both sides of a DST
change. An occurrence that was edited becomes a stored *exception* (type
``exception``, ``series_master_id``, ``original_start``) that replaces its
occurrence; a deleted occurrence is remembered on the master in
``cancelled_occurrences``.

Occurrence ids are deterministic and decodable: opaque base64 of the master id
plus the occurrence's original start, so an id stays valid while the master
exists and the occurrence is in the pattern. An exception keeps the id its
occurrence had, as Exchange does.

Called by handlers/events.py:

- ``normalize_recurrence(value, start_local_date, event_tz) -> dict | None``:
  validate a patternedRecurrence from a request and return Graph's response
  form (zero-filled unused fields); raise GraphError 400 when invalid.
- ``get_occurrence_json(ctx, event_id) -> dict | None``,
  ``patch_occurrence(ctx, event_id, payload) -> dict | None`` (creates or
  updates an exception) and ``delete_occurrence(ctx, event_id) -> bool``
  (cancels one occurrence): each answers None/False when ``event_id`` is not
  an occurrence id, so the caller can answer 404.
- ``series_extras(...)`` (from eventdata's serializer): a master's
  ``cancelledOccurrences`` / ``exceptionOccurrences`` when asked for.

Exceptions are stored events, but their PATCH and DELETE come here too (the
events module hands them over), so moving an exception is checked against its
neighbours and deleting one cancels its occurrence.
"""
from __future__ import annotations

import copy
import struct
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from dateutil import rrule
from dateutil.relativedelta import relativedelta

from . import ids, odata, timezones
from .errors import GraphError, invalid_request
from .eventdata import PROPERTIES, event_to_json
from .store import Mailbox, StoredEvent

UTC = timezone.utc

PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")
# Graph's dayOfWeek values in dateutil's weekday order (monday == 0).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK_INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

# Required properties per pattern type besides type and interval (reference
# §1.3 table). firstDayOfWeek is listed for weekly too, but Graph's own create
# example (user-post-events.md Request 3) omits it and gets "sunday" back, so
# it is defaulted rather than required.
_REQUIRED = {
    "daily": (),
    "weekly": ("daysOfWeek",),
    "absoluteMonthly": ("dayOfMonth",),
    "relativeMonthly": ("daysOfWeek",),
    "absoluteYearly": ("dayOfMonth", "month"),
    "relativeYearly": ("daysOfWeek", "month"),
}
_PATTERN_KEYS = {"type", "interval", "month", "dayOfMonth", "daysOfWeek", "firstDayOfWeek", "index"}
_RANGE_KEYS = {"type", "startDate", "endDate", "recurrenceTimeZone", "numberOfOccurrences"}
# What Graph answers for "no end date" (reference §1.3, UNCONFIRMED but commonly seen).
NO_DATE = "0001-01-01"
INT32_MAX = 2**31 - 1
# Outlook offers intervals up to 999; larger ones would also make dateutil walk
# day by day through centuries, so they are refused (Graph's own bound is UNCONFIRMED).
MAX_INTERVAL = 999

_OCCURRENCE_MAGIC = b"\x07OCC"


# -- validation -----------------------------------------------------------------

def _canonical(value: object, allowed: tuple[str, ...] | dict, what: str) -> str:
    """An enum value matched case-insensitively, in Graph's spelling."""
    if isinstance(value, str):
        for name in allowed:
            if name.lower() == value.strip().lower():
                return name
    raise invalid_request(f"The value '{value}' is not valid for the recurrence property '{what}'.")


def _int_in(value: object, what: str, low: int, high: int, *, zero_ok: bool) -> int:
    # bool is an int in Python but not in OData.
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high or (zero_ok and value == 0)):
        raise invalid_request(f"The value '{value}' is not valid for the recurrence property '{what}'.")
    return value


def _date(value: object, what: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise invalid_request(f"The value '{value}' is not valid for the recurrence property '{what}'.")


def _reject_unknown(obj: dict, known: set[str], type_name: str) -> None:
    for key in obj:
        if key not in known and not key.startswith("@odata."):
            raise GraphError(400, "RequestBodyRead",
                             f"The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. Make "
                             "sure to only use property names that are defined by the type or mark the type as "
                             "open type.")


def normalize_recurrence(value, start_local_date: date | None, event_tz: str) -> dict | None:
    """A request's patternedRecurrence -> the form Graph answers with.

    All fields are present; unused ones are zero-filled (month 0, dayOfMonth 0,
    index "first", numberOfOccurrences 0, endDate "0001-01-01"). Values a client
    read back from Graph (the zero-filled form) are accepted again unchanged.
    ``start_local_date`` is the event's start date in ``event_tz``: Graph says
    range.startDate "must be the same value as the start" but accepts a
    different one and starts the series there, so the sandbox does too and
    only uses it when startDate is missing (UNCONFIRMED either way).
    """
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("pattern"), dict) \
            or not isinstance(value.get("range"), dict):
        raise invalid_request("A recurrence needs both a 'pattern' and a 'range' object.")
    _reject_unknown(value, {"pattern", "range"}, "patternedRecurrence")
    pattern_in, range_in = value["pattern"], value["range"]
    _reject_unknown(pattern_in, _PATTERN_KEYS, "recurrencePattern")
    _reject_unknown(range_in, _RANGE_KEYS, "recurrenceRange")

    if pattern_in.get("type") is None:
        raise invalid_request("The recurrence pattern type is required.")
    ptype = _canonical(pattern_in["type"], PATTERN_TYPES, "pattern.type")
    if pattern_in.get("interval") is None:
        raise invalid_request("The recurrence pattern interval is required.")
    for name in _REQUIRED[ptype]:
        if pattern_in.get(name) in (None, [], 0):
            raise invalid_request(f"The recurrence pattern property '{name}' is required for pattern type "
                                  f"'{ptype}'.")
    days = pattern_in.get("daysOfWeek") or []
    if not isinstance(days, list):
        raise invalid_request(f"The value '{days}' is not valid for the recurrence property 'daysOfWeek'.")
    pattern = {
        "type": ptype,
        "interval": _int_in(pattern_in["interval"], "interval", 1, MAX_INTERVAL, zero_ok=False),
        "month": _int_in(pattern_in.get("month", 0), "month", 1, 12, zero_ok=True),
        "dayOfMonth": _int_in(pattern_in.get("dayOfMonth", 0), "dayOfMonth", 1, 31, zero_ok=True),
        "daysOfWeek": list(dict.fromkeys(_canonical(d, WEEKDAYS, "daysOfWeek") for d in days)),
        "firstDayOfWeek": _canonical(pattern_in.get("firstDayOfWeek") or "sunday", WEEKDAYS, "firstDayOfWeek"),
        "index": _canonical(pattern_in.get("index") or "first", WEEK_INDEXES, "index"),
    }

    if range_in.get("type") is None:
        raise invalid_request("The recurrence range type is required.")
    rtype = _canonical(range_in["type"], RANGE_TYPES, "range.type")
    if range_in.get("startDate") is None and start_local_date is None:
        raise invalid_request("The recurrence range startDate is required.")
    start_date = _date(range_in["startDate"], "startDate") if range_in.get("startDate") is not None \
        else start_local_date
    end_date = NO_DATE
    if rtype == "endDate":
        if range_in.get("endDate") in (None, NO_DATE):
            raise invalid_request("The recurrence range endDate is required for range type 'endDate'.")
        end = _date(range_in["endDate"], "endDate")
        if end < start_date:
            raise invalid_request("The recurrence range end date must be on or after its start date.")
        end_date = end.isoformat()
    elif range_in.get("endDate") not in (None, NO_DATE):
        _date(range_in["endDate"], "endDate")  # any value given must be valid, even if unused
    count = range_in.get("numberOfOccurrences", 0)
    if rtype == "numbered":
        count = _int_in(count, "numberOfOccurrences", 1, INT32_MAX, zero_ok=False)
    else:
        _int_in(count, "numberOfOccurrences", 1, INT32_MAX, zero_ok=True)  # checked, but Graph answers 0
        count = 0
    zone_name = range_in.get("recurrenceTimeZone") or event_tz
    timezones.zone_for(zone_name)  # 400 TimeZoneNotSupportedException when unknown
    return {
        "pattern": pattern,
        "range": {"type": rtype, "startDate": start_date.isoformat(), "endDate": end_date,
                  "recurrenceTimeZone": timezones.windows_name(zone_name), "numberOfOccurrences": count},
    }


# -- expansion ------------------------------------------------------------------

def _month_days(day_of_month: int) -> dict:
    """rrule arguments for "day N of the month".

    Outlook schedules day 29-31 on the month's last day when the month is
    shorter ("Some months have fewer than 31 days. For these months, the
    occurrence will fall on the last day of the month."); RFC 5545 rules would
    skip those months. The sandbox follows Outlook: of the days 28..N that
    exist in a month, take the last.
    """
    if day_of_month <= 28:
        return {"bymonthday": day_of_month}
    return {"bymonthday": tuple(range(28, day_of_month + 1)), "bysetpos": -1}


def _rule(recurrence: dict, dtstart: datetime) -> rrule.rrule:
    """The dateutil rule of a normalized recurrence, over naive local times."""
    pattern, rng = recurrence["pattern"], recurrence["range"]
    ptype = pattern["type"]
    days = tuple(rrule.weekday(WEEKDAYS.index(d)) for d in pattern["daysOfWeek"])
    kwargs: dict = {"dtstart": dtstart, "interval": pattern["interval"],
                    "wkst": WEEKDAYS.index(pattern["firstDayOfWeek"])}
    if ptype == "daily":
        freq = rrule.DAILY
    elif ptype == "weekly":
        freq = rrule.WEEKLY
        kwargs["byweekday"] = days
    elif ptype in ("absoluteMonthly", "absoluteYearly"):
        freq = rrule.MONTHLY if ptype == "absoluteMonthly" else rrule.YEARLY
        kwargs.update(_month_days(pattern["dayOfMonth"]))
    else:
        # "The event falls on the first day that satisfies the pattern": with
        # several weekdays, index picks among all matching days of the month.
        freq = rrule.MONTHLY if ptype == "relativeMonthly" else rrule.YEARLY
        kwargs["byweekday"] = days
        kwargs["bysetpos"] = WEEK_INDEXES[pattern["index"]]
    if ptype in ("absoluteYearly", "relativeYearly"):
        kwargs["bymonth"] = pattern["month"]
    if rng["type"] == "endDate":
        kwargs["until"] = datetime.combine(date.fromisoformat(rng["endDate"]), time.max)  # inclusive
    elif rng["type"] == "numbered":
        kwargs["count"] = rng["numberOfOccurrences"]
    return rrule.rrule(freq, **kwargs)


_PERIOD_UNIT = {"daily": "days", "weekly": "weeks", "absoluteMonthly": "months", "relativeMonthly": "months",
                "absoluteYearly": "years", "relativeYearly": "years"}
_PERIOD_DAYS = {"days": 1, "weeks": 7, "months": 31, "years": 366}  # at least one period


def _skip_ahead(dtstart: datetime, recurrence: dict, bound: datetime) -> datetime:
    """A later dtstart, a whole number of pattern periods on and at least one
    period before ``bound``, so a window far into a long series is expanded
    without walking every occurrence since the start. Moving by whole periods
    keeps the pattern's phase (weeks counted from firstDayOfWeek, every n-th
    month); numbered ranges count from the real start, so they never skip."""
    if recurrence["range"]["type"] == "numbered" or bound <= dtstart:
        return dtstart
    interval = recurrence["pattern"]["interval"]
    unit = _PERIOD_UNIT[recurrence["pattern"]["type"]]
    if unit in ("days", "weeks"):
        periods = (bound - dtstart).days // (interval * (7 if unit == "weeks" else 1))
    elif unit == "months":
        periods = ((bound.year - dtstart.year) * 12 + bound.month - dtstart.month) // interval
    else:
        periods = (bound.year - dtstart.year) // interval
    if periods <= 1:
        return dtstart
    return dtstart + relativedelta(**{unit: (periods - 1) * interval})


def _series(master: StoredEvent, not_before: datetime | None = None) -> tuple[rrule.rrule, ZoneInfo]:
    """The series' rule over local wall-clock times, started late enough to
    reach ``not_before`` (local) quickly, and its zone."""
    recurrence = master.data["recurrence"]
    zone = timezones.zone_for(recurrence["range"]["recurrenceTimeZone"])
    local_start = master.start.astimezone(zone)
    dtstart = datetime.combine(date.fromisoformat(recurrence["range"]["startDate"]),
                               local_start.time().replace(tzinfo=None))
    if not_before is not None:
        dtstart = _skip_ahead(dtstart, recurrence, not_before)
    return _rule(recurrence, dtstart), zone


def _local(instant: datetime, zone: ZoneInfo, slack: timedelta) -> datetime | None:
    """``instant`` as local wall-clock time plus ``slack``; None beyond what
    datetime can hold (the bound is then no bound)."""
    try:
        return instant.astimezone(zone).replace(tzinfo=None) + slack
    except OverflowError:
        return None


def pattern_starts(master: StoredEvent, after: datetime | None = None,
                   before: datetime | None = None) -> Iterator[datetime]:
    """Original starts (aware UTC) of the series' pattern, in order, from
    ``after`` (inclusive) to ``before`` (exclusive); cancelled ones included.

    With no bounds on a noEnd series this never ends: callers bound it.
    """
    zone = timezones.zone_for(master.data["recurrence"]["range"]["recurrenceTimeZone"])
    # Local wall-clock bounds with a day of slack for the zone's offset.
    local_after = _local(after, zone, -timedelta(days=1)) if after else None
    local_before = _local(before, zone, timedelta(days=1)) if before else None
    rule, zone = _series(master, local_after)
    iterator = rule.xafter(local_after, inc=True) if local_after else iter(rule)
    for local in iterator:
        if local_before and local > local_before:
            return
        try:
            start = local.replace(tzinfo=zone).astimezone(UTC)
        except OverflowError:  # the last hours of year 9999 west of UTC
            return
        if after and start < after:
            continue
        if before and start >= before:
            return
        yield start


def first_start(master: StoredEvent) -> datetime | None:
    """The first original start of the pattern (None: the pattern is empty)."""
    return next(pattern_starts(master), None)


def is_pattern_start(master: StoredEvent, original_start: datetime) -> bool:
    return any(s == original_start for s in pattern_starts(master, original_start, original_start + timedelta(seconds=1)))


@dataclass(frozen=True)
class Occurrence:
    """One instance of a series: a computed occurrence or a stored exception."""

    id: str
    master: StoredEvent
    original_start: datetime  # aware UTC
    start: datetime  # aware UTC; the exception's if modified
    end: datetime
    exception: StoredEvent | None = None

    @property
    def type(self) -> str:
        return "exception" if self.exception else "occurrence"


def exceptions_of(mailbox: Mailbox, master: StoredEvent) -> dict[datetime, StoredEvent]:
    """The master's stored exceptions by original start."""
    return {e.original_start: e for e in mailbox.events.values()
            if e.type == "exception" and e.series_master_id == master.id}


def overlaps(start: datetime, end: datetime, window_start: datetime, window_end: datetime) -> bool:
    # A zero-length item at the window's start still belongs to it.
    return start < window_end and (end > window_start or start == end == window_start)


def series_instances(mailbox: Mailbox, master: StoredEvent, window_start: datetime,
                     window_end: datetime) -> list[Occurrence]:
    """Occurrences and exceptions of ``master`` overlapping the window, by start;
    cancelled occurrences left out, exceptions at their (possibly new) time."""
    exceptions = exceptions_of(mailbox, master)
    duration = master.end - master.start
    found = []
    try:
        search_start = window_start - duration
    except OverflowError:  # a window opening at year 1
        search_start = window_start
    for original in pattern_starts(master, search_start, window_end):
        if original in master.cancelled_occurrences or original in exceptions:
            continue
        if overlaps(original, original + duration, window_start, window_end):
            found.append(Occurrence(occurrence_id(master.id, original), master, original, original,
                                    original + duration))
    for original, exception in exceptions.items():
        if overlaps(exception.start, exception.end, window_start, window_end):
            found.append(Occurrence(exception.id, master, original, exception.start, exception.end, exception))
    found.sort(key=lambda o: (o.start, o.original_start))
    return found


# -- ids ---------------------------------------------------------------------------

def occurrence_id(master_id: str, original_start: datetime) -> str:
    raw = _OCCURRENCE_MAGIC + struct.pack(">q", int(original_start.timestamp())) + master_id.encode("utf-8")
    return ids.encode(raw)


def parse_occurrence_id(value: str) -> tuple[str, datetime] | None:
    """(master id, original start) of an occurrence id; None for any other id."""
    raw = ids.decode(value)
    if raw is None or not raw.startswith(_OCCURRENCE_MAGIC) or len(raw) <= len(_OCCURRENCE_MAGIC) + 8:
        return None
    (seconds,) = struct.unpack(">q", raw[len(_OCCURRENCE_MAGIC):len(_OCCURRENCE_MAGIC) + 8])
    try:
        return raw[len(_OCCURRENCE_MAGIC) + 8:].decode("utf-8"), datetime.fromtimestamp(seconds, UTC)
    except (UnicodeDecodeError, OverflowError, ValueError, OSError):
        return None


def occurrence_ical_uid(master_uid: str, original_start: datetime, zone_name: str) -> str:
    """Exchange's per-instance global object id: the master's with the
    instance date (year as 2 bytes, month, day) in bytes 16-19."""
    local = original_start.astimezone(timezones.zone_for(zone_name)).date()
    if len(master_uid) < 40:
        return master_uid
    return master_uid[:32] + f"{local.year:04X}{local.month:02X}{local.day:02X}" + master_uid[40:]


def cancelled_occurrence_ids(master: StoredEvent) -> list[str]:
    """``cancelledOccurrences`` values: ``OID.{seriesMasterId}.{start date}``
    (the occurrenceId format of the beta docs, reference §1.1)."""
    zone = timezones.zone_for(master.data["recurrence"]["range"]["recurrenceTimeZone"])
    return [f"OID.{master.id}.{s.astimezone(zone).date().isoformat()}"
            for s in sorted(master.cancelled_occurrences)]


# -- single occurrences addressed by id (called by handlers/events.py) ------------

def find_occurrence(mailbox: Mailbox, event_id: str) -> Occurrence | None:
    """The live occurrence or exception behind an occurrence id, or None."""
    parsed = parse_occurrence_id(event_id)
    if parsed is None:
        return None
    master_id, original = parsed
    master = mailbox.events.get(master_id)
    if master is None or master.type != "seriesMaster" or not master.data.get("recurrence"):
        return None
    if original in master.cancelled_occurrences:
        return None
    exception = mailbox.events.get(event_id)
    if exception is not None and exception.type == "exception":
        return Occurrence(event_id, master, original, exception.start, exception.end, exception)
    if not is_pattern_start(master, original):
        return None
    return Occurrence(event_id, master, original, original, original + (master.end - master.start))


def occurrence_json(ctx, mailbox: Mailbox, occurrence: Occurrence, select: list[str] | None = None,
                    expand: dict[str, str | None] | None = None) -> dict:
    """An occurrence or exception rendered as Graph shows it: an occurrence is
    its master's JSON with the instance's id, type, times and iCalUId."""
    if occurrence.exception is not None:
        return event_to_json(ctx, mailbox, occurrence.exception, select=select, expand=expand)
    master = occurrence.master
    overrides = {
        "id": occurrence.id,
        "type": "occurrence",
        "seriesMasterId": master.id,
        "originalStart": occurrence.original_start,
        "recurrence": None,
        "iCalUId": occurrence_ical_uid(master.ical_uid, occurrence.original_start,
                                       master.data["recurrence"]["range"]["recurrenceTimeZone"]),
        "start": occurrence.start,
        "end": occurrence.end,
    }
    # Occurrences carry their master's extended properties.
    return event_to_json(ctx, mailbox, master, select=select, overrides=overrides, expand=expand)


def _options(ctx) -> odata.QueryOptions:
    """The ``$select`` and ``$expand`` of a request for one item."""
    return odata.parse_query({k: v for k, v in ctx.query.items() if k.lower().lstrip("$") in ("select", "expand")},
                             PROPERTIES)


def get_occurrence_json(ctx, event_id: str) -> dict | None:
    occurrence = find_occurrence(ctx.mailbox, event_id)
    if occurrence is None:
        return None
    options = _options(ctx)
    return occurrence_json(ctx, ctx.mailbox, occurrence, options.select, options.expand)


def _neighbour_starts(mailbox: Mailbox, occurrence: Occurrence) -> tuple[datetime | None, datetime | None]:
    """Effective starts of the live instances just before and after ``occurrence``."""
    master = occurrence.master
    exceptions = exceptions_of(mailbox, master)
    previous = following = None
    # Four pattern periods either side: neighbours beyond that (behind a run of
    # cancelled occurrences) set no boundary.
    pattern = master.data["recurrence"]["pattern"]
    span = timedelta(days=_PERIOD_DAYS[_PERIOD_UNIT[pattern["type"]]] * pattern["interval"] * 4)
    for original in pattern_starts(master, _shifted(occurrence.original_start, -span),
                                   _shifted(occurrence.original_start, span)):
        if original == occurrence.original_start or original in master.cancelled_occurrences:
            continue
        effective = exceptions[original].start if original in exceptions else original
        if original < occurrence.original_start:
            previous = effective
        else:
            following = effective
            break
    return previous, following


def _shifted(instant: datetime, delta: timedelta) -> datetime:
    """``instant + delta``, held within what datetime can represent."""
    try:
        return instant + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if delta > timedelta(0) else datetime.min.replace(tzinfo=UTC)


def _check_boundaries(mailbox: Mailbox, occurrence: Occurrence, new_start: datetime) -> None:
    """An instance may move within the days strictly between its neighbours'
    (in the series' zone): onto or past an adjacent occurrence's day is
    ErrorOccurrenceCrossingBoundary (event-update.md)."""
    zone = timezones.zone_for(occurrence.master.data["recurrence"]["range"]["recurrenceTimeZone"])
    previous, following = _neighbour_starts(mailbox, occurrence)
    day = new_start.astimezone(zone).date()
    if (previous and day <= previous.astimezone(zone).date()) or \
            (following and day >= following.astimezone(zone).date()):
        raise GraphError(400, "ErrorOccurrenceCrossingBoundary",
                         "Modified occurrence is crossing or overlapping adjacent occurrence.")


def _payload_start(payload: dict, current: StoredEvent) -> datetime:
    start = payload.get("start")
    if isinstance(start, dict):
        return timezones.parse_local(start.get("dateTime"), start.get("timeZone") or current.start_tz)
    return current.start


def patch_occurrence(ctx, event_id: str, payload: dict) -> dict | None:
    """PATCH on an occurrence: turn it into an exception (or update the one it is)."""
    from .handlers.events import update_event
    mailbox = ctx.mailbox
    occurrence = find_occurrence(mailbox, event_id)
    if occurrence is None:
        return None
    exception = occurrence.exception or _new_exception(occurrence)
    _check_boundaries(mailbox, occurrence, _payload_start(payload, exception))
    if occurrence.exception is None:
        mailbox.events[exception.id] = exception
    try:
        update_event(ctx.world, mailbox, exception, payload)
    except GraphError:
        if occurrence.exception is None:
            del mailbox.events[exception.id]  # nothing is written when the body is invalid
        raise
    options = _options(ctx)
    return occurrence_json(ctx, mailbox, find_occurrence(mailbox, event_id), options.select, options.expand)


def _new_exception(occurrence: Occurrence) -> StoredEvent:
    master = occurrence.master
    data = copy.deepcopy(master.data)
    data["recurrence"] = None
    return StoredEvent(
        id=occurrence.id, calendar_id=master.calendar_id,
        ical_uid=occurrence_ical_uid(master.ical_uid, occurrence.original_start,
                                     master.data["recurrence"]["range"]["recurrenceTimeZone"]),
        data=data, start=occurrence.start, end=occurrence.end, start_tz=master.start_tz, end_tz=master.end_tz,
        created=master.created, last_modified=master.last_modified, change_key=master.change_key, seq=master.seq,
        type="exception", series_master_id=master.id, original_start=occurrence.original_start,
        extended_properties=dict(master.extended_properties), is_organizer=master.is_organizer,
        response_status=dict(master.response_status))


def delete_occurrence(ctx, event_id: str) -> bool:
    """DELETE on an occurrence or exception id: cancel that one instance."""
    mailbox = ctx.mailbox
    occurrence = find_occurrence(mailbox, event_id)
    if occurrence is None:
        return False
    cancel_occurrence(ctx.world, mailbox, occurrence)
    # Deleting an occurrence of a meeting one organizes is a cancellation for
    # its attendees, as Outlook sends it.
    from .meetings import after_occurrence_cancelled  # meetings imports this module
    after_occurrence_cancelled(ctx.world, mailbox, occurrence.master, None)
    return True


def cancel_occurrence(world, mailbox: Mailbox, occurrence: Occurrence) -> None:
    master = occurrence.master
    if occurrence.exception is not None:
        del mailbox.events[occurrence.exception.id]
        world.record_change(mailbox, occurrence.exception, "deleted")
    master.cancelled_occurrences.add(occurrence.original_start)
    world.record_change(mailbox, master, "updated")


def series_extras(ctx, mailbox: Mailbox, master: StoredEvent, select: list[str] | None,
                  expand: dict[str, str | None]) -> dict:
    """A series master's ``cancelledOccurrences`` (when ``$select``-ed) and
    ``exceptionOccurrences`` (when ``$expand``-ed), reference §1.1."""
    extras: dict = {}
    if master.type != "seriesMaster" or not master.data.get("recurrence"):
        return extras
    if select is not None and "cancelledOccurrences" in select:
        extras["cancelledOccurrences"] = cancelled_occurrence_ids(master)
    if any(name.lower() == "exceptionoccurrences" for name in expand):
        exceptions = sorted(exceptions_of(mailbox, master).values(), key=lambda e: e.original_start)
        extras["exceptionOccurrences"] = [event_to_json(ctx, mailbox, e) for e in exceptions]
    return extras
