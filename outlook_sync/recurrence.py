"""Graph ``patternedRecurrence`` <-> RFC 5545 RRULE.

A Graph recurring series is a *series master* event whose ``recurrence`` is
``{"pattern": {...}, "range": {...}}``:

* ``pattern.type`` is one of ``daily``, ``weekly``, ``absoluteMonthly``
  (``dayOfMonth``), ``relativeMonthly`` (``index`` + ``daysOfWeek``),
  ``absoluteYearly`` (``month`` + ``dayOfMonth``) and ``relativeYearly``
  (``month`` + ``index`` + ``daysOfWeek``), with an ``interval`` in those units
  and a ``firstDayOfWeek``.
* For relative patterns with several days "the event falls on the first day
  that satisfies the pattern": in RRULE terms ``BYDAY=<days>;BYSETPOS=<index>``
  (``first``..``fourth`` = 1..4, ``last`` = -1).
* ``range.type`` is ``numbered`` (``numberOfOccurrences`` -> ``COUNT``),
  ``endDate`` (an inclusive local date -> ``UNTIL``) or ``noEnd``; ``startDate``
  equals the local date of the master's start; ``recurrenceTimeZone`` is a
  Windows zone id.
* Responses fill fields a pattern does not use with zeros/defaults
  (``month: 0``, ``dayOfMonth: 0``, ``index: "first"``,
  ``numberOfOccurrences: 0``, ``endDate: "0001-01-01"``); they are ignored.

Canonical RRULE (what :class:`~outlook_sync.model.Recurrence` stores): parts in
the order ``FREQ;INTERVAL;BYMONTH;BYMONTHDAY;BYDAY;BYSETPOS;COUNT|UNTIL;WKST``,
``BYDAY`` in Monday..Sunday order without ordinals (relative patterns always use
``BYSETPOS``), ``UNTIL`` as a floating local ``YYYYMMDDT235959`` and ``WKST`` only
on weekly rules (the only ones where Graph's ``firstDayOfWeek`` has an effect).
An RRULE with no ``WKST`` means Monday, as RFC 5545 says.

Anything Graph cannot express is mapped to the closest faithful form and
reported in the returned warnings; nothing here raises on bad input.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from dateutil import rrule as dateutil_rrule

from .model import Recurrence
from .timezones import get_zone, resolve_time_zone, windows_name

GRAPH_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_TO_RRULE = dict(zip(GRAPH_DAYS, RRULE_DAYS))
_RRULE_TO_DAY = dict(zip(RRULE_DAYS, GRAPH_DAYS))
_INDEX_TO_SETPOS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_SETPOS_TO_INDEX = {position: index for index, position in _INDEX_TO_SETPOS.items()}
_FREQ_BY_PATTERN = {"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY", "relativeMonthly": "MONTHLY",
                     "absoluteYearly": "YEARLY", "relativeYearly": "YEARLY"}
_GRAPH_NULL_DATE = "0001-01-01"
_SUPPORTED_PARTS = frozenset({"FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "COUNT", "UNTIL", "WKST"})


# --------------------------------------------------------------------------- Graph -> RRULE

def recurrence_from_graph(
    recurrence: Any, start: datetime | date, event_time_zone: str
) -> tuple[Recurrence | None, list[str]]:
    """Turn a Graph ``patternedRecurrence`` into a :class:`Recurrence`.

    ``start`` is the series master's start (an aware datetime, or the first
    local date of an all-day series); it supplies days a malformed pattern
    omits. Returns ``(None, warnings)`` when the value holds no usable pattern.
    """
    warnings: list[str] = []
    if not isinstance(recurrence, dict) or not isinstance(recurrence.get("pattern"), dict):
        return None, ["recurrence without a pattern ignored"]
    time_zone = event_time_zone
    range_ = recurrence.get("range") if isinstance(recurrence.get("range"), dict) else {}
    if range_.get("recurrenceTimeZone"):
        time_zone, warning = resolve_time_zone(range_["recurrenceTimeZone"], event_time_zone)
        if warning:
            warnings.append(f"recurrence time zone: {warning}")
    start_local = local_start(start, time_zone)
    rule = _pattern_to_rrule(recurrence["pattern"], recurrence.get("range"), start_local, warnings)
    if rule is None:
        return None, warnings
    start_date = range_.get("startDate")
    if start_date and start_date != start_local.date().isoformat():
        warnings.append(f"recurrence startDate {start_date} differs from the event start; using the event start")
    return Recurrence(rrule=rule, time_zone=time_zone), warnings


def _pattern_to_rrule(pattern: dict, range_: Any, start_local: datetime, warnings: list[str]) -> str | None:
    kind = pattern.get("type")
    if kind not in _FREQ_BY_PATTERN:
        warnings.append(f"unknown recurrence pattern type {kind!r}; recurrence ignored")
        return None
    interval = _positive_int(pattern.get("interval"), 1, "interval", warnings)
    parts: dict[str, str] = {"FREQ": _FREQ_BY_PATTERN[kind], "INTERVAL": str(interval)}
    start_day = GRAPH_DAYS[start_local.weekday()]
    if kind in ("absoluteYearly", "relativeYearly"):
        month = pattern.get("month")
        if not isinstance(month, int) or not 1 <= month <= 12:
            warnings.append(f"{kind} recurrence without a valid month ({month!r}); using the start month")
            month = start_local.month
        parts["BYMONTH"] = str(month)
    if kind in ("absoluteMonthly", "absoluteYearly"):
        day = pattern.get("dayOfMonth")
        if not isinstance(day, int) or not 1 <= day <= 31:
            warnings.append(f"{kind} recurrence without a valid dayOfMonth ({day!r}); using the start day")
            day = start_local.day
        parts["BYMONTHDAY"] = str(day)
    if kind in ("weekly", "relativeMonthly", "relativeYearly"):
        days = _graph_days(pattern.get("daysOfWeek"), warnings)
        if not days:
            warnings.append(f"{kind} recurrence without daysOfWeek; using the start weekday")
            days = [start_day]
        parts["BYDAY"] = ",".join(_DAY_TO_RRULE[day] for day in GRAPH_DAYS if day in days)
    if kind in ("relativeMonthly", "relativeYearly"):
        index = str(pattern.get("index") or "first").lower()
        if index not in _INDEX_TO_SETPOS:
            warnings.append(f"unknown recurrence index {pattern.get('index')!r}; using 'first'")
            index = "first"
        parts["BYSETPOS"] = str(_INDEX_TO_SETPOS[index])
    _range_to_parts(range_, parts, warnings)
    if kind == "weekly":
        first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        if first_day not in _DAY_TO_RRULE:
            warnings.append(f"unknown firstDayOfWeek {pattern.get('firstDayOfWeek')!r}; using sunday")
            first_day = "sunday"
        parts["WKST"] = _DAY_TO_RRULE[first_day]
    return _format(parts)


def _range_to_parts(range_: Any, parts: dict[str, str], warnings: list[str]) -> None:
    if not isinstance(range_, dict):
        warnings.append("recurrence without a range; treating it as having no end")
        return
    kind = range_.get("type")
    count = range_.get("numberOfOccurrences")
    if isinstance(count, bool):
        count = None
    end_date = _graph_date(range_.get("endDate"))
    if kind not in ("numbered", "endDate", "noEnd"):
        warnings.append(f"unknown recurrence range type {kind!r}; inferring it from the other fields")
        kind = "numbered" if isinstance(count, int) and count > 0 else "endDate" if end_date else "noEnd"
    if kind == "numbered":
        if isinstance(count, int) and count > 0:
            parts["COUNT"] = str(count)
        else:
            warnings.append(f"numbered recurrence with numberOfOccurrences {count!r}; treating it as having no end")
    elif kind == "endDate":
        if end_date:
            parts["UNTIL"] = end_date.strftime("%Y%m%dT235959")
        else:
            warnings.append(f"endDate recurrence with endDate {range_.get('endDate')!r}; treating it as having no end")


def _graph_days(value: Any, warnings: list[str]) -> list[str]:
    if not isinstance(value, list):
        return []
    days = []
    for day in value:
        name = str(day).lower()
        if name in _DAY_TO_RRULE:
            days.append(name)
        else:
            warnings.append(f"unknown day of week {day!r} ignored")
    return days


def _graph_date(value: Any) -> date | None:
    if not isinstance(value, str) or value.startswith(_GRAPH_NULL_DATE):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# --------------------------------------------------------------------------- RRULE -> Graph

def recurrence_to_graph(recurrence: Recurrence, start_local: datetime) -> tuple[dict[str, Any], list[str]]:
    """Build a Graph ``patternedRecurrence`` request body from a :class:`Recurrence`.

    ``start_local`` is the series start as a naive datetime in
    ``recurrence.time_zone``. Only the properties each pattern type needs are
    sent (Graph rejects unsupported values).
    """
    warnings: list[str] = []
    parts = _graph_form(recurrence.rrule, start_local, recurrence.time_zone, warnings)
    pattern: dict[str, Any] = {"type": parts["type"], "interval": parts["interval"]}
    for key in ("month", "dayOfMonth", "daysOfWeek", "index", "firstDayOfWeek"):
        if key in parts:
            pattern[key] = parts[key]
    range_: dict[str, Any] = {"startDate": start_local.date().isoformat(),
                              "recurrenceTimeZone": windows_name(recurrence.time_zone)}
    if "count" in parts:
        range_.update(type="numbered", numberOfOccurrences=parts["count"])
    elif "end_date" in parts:
        range_.update(type="endDate", endDate=parts["end_date"].isoformat())
    else:
        range_["type"] = "noEnd"
    return {"pattern": pattern, "range": range_}, warnings


def normalize_rrule(rrule: str, start_local: datetime, time_zone: str = "UTC") -> tuple[str | None, list[str]]:
    """Reduce any RRULE to the canonical form of what Outlook can store.

    Both sides must pass their rules through this before comparing, otherwise
    ``FREQ=WEEKLY;BYDAY=MO`` and ``FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO``
    would look like an edit. Returns ``(None, warnings)`` if nothing usable is
    left (no or unknown ``FREQ``). ``start_local`` is naive, in ``time_zone``
    (needed to read a UTC ``UNTIL``).

    >>> normalize_rrule("RRULE:FREQ=MONTHLY;BYDAY=-1FR", datetime(2024, 1, 26, 9))[0]
    'FREQ=MONTHLY;INTERVAL=1;BYDAY=FR;BYSETPOS=-1'
    """
    warnings: list[str] = []
    graph = _graph_form(rrule, start_local, time_zone, warnings)
    if graph.get("type") is None:
        return None, warnings
    pattern = {key: graph[key] for key in ("type", "interval", "month", "dayOfMonth", "daysOfWeek", "index", "firstDayOfWeek") if key in graph}
    range_: dict[str, Any] = {"type": "noEnd"}
    if "count" in graph:
        range_ = {"type": "numbered", "numberOfOccurrences": graph["count"]}
    elif "end_date" in graph:
        range_ = {"type": "endDate", "endDate": graph["end_date"].isoformat()}
    return _pattern_to_rrule(pattern, range_, start_local, warnings), warnings


def _graph_form(rrule: str, start_local: datetime, time_zone: str, warnings: list[str]) -> dict[str, Any]:
    """Parse an RRULE into Graph pattern/range values (``type`` None if unusable)."""
    parts = _parse(rrule, warnings)
    freq = parts.get("FREQ", "")
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        warnings.append(f"FREQ={freq} cannot be expressed in Outlook; using a daily recurrence")
        freq = "DAILY"
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        warnings.append(f"RRULE {rrule!r} has no usable FREQ; recurrence dropped")
        return {"type": None}
    for unsupported in sorted(set(parts) - _SUPPORTED_PARTS):
        warnings.append(f"RRULE part {unsupported}={parts[unsupported]} cannot be expressed in Outlook; ignored")

    interval = _positive_int(parts.get("INTERVAL", "1"), 1, "INTERVAL", warnings)
    by_day = _parse_by_day(parts.get("BYDAY"), warnings)
    set_positions = _int_list(parts.get("BYSETPOS"), "BYSETPOS", warnings)
    month_days = _int_list(parts.get("BYMONTHDAY"), "BYMONTHDAY", warnings)
    months = [m for m in _int_list(parts.get("BYMONTH"), "BYMONTH", warnings) if 1 <= m <= 12]
    start_day = GRAPH_DAYS[start_local.weekday()]
    week_start = parts.get("WKST", "MO")
    if week_start not in _RRULE_TO_DAY:
        warnings.append(f"unknown WKST {week_start!r}; using MO")
        week_start = "MO"
    graph: dict[str, Any] = {"interval": interval}

    if freq == "DAILY" and by_day:
        if interval > 1:
            warnings.append("a daily rule limited to some weekdays with INTERVAL>1 cannot be expressed; using every week on those days")
        freq, interval = "WEEKLY", 1
        graph["interval"] = 1
    if freq == "MONTHLY" and by_day and not set_positions and all(ordinal is None for ordinal, _ in by_day):
        # "every Monday of the month": the same as weekly when every month counts.
        if interval > 1:
            warnings.append("every given weekday of every N-th month cannot be expressed; using every week on those days")
        freq = "WEEKLY"
        graph["interval"] = 1
    if months and freq != "YEARLY":
        warnings.append(f"BYMONTH ignored on FREQ={freq}")
    if month_days and freq in ("DAILY", "WEEKLY"):
        warnings.append(f"BYMONTHDAY ignored on FREQ={freq}")
    if set_positions and freq in ("DAILY", "WEEKLY"):
        warnings.append(f"BYSETPOS ignored on FREQ={freq}")

    if freq == "DAILY":
        graph["type"] = "daily"
    elif freq == "WEEKLY":
        graph["type"] = "weekly"
        days = {_RRULE_TO_DAY[day] for _, day in by_day} or {start_day}
        if any(ordinal is not None for ordinal, _ in by_day):
            warnings.append("weekday ordinals are meaningless in a weekly rule; ignored")
        graph["daysOfWeek"] = [day for day in GRAPH_DAYS if day in days]
        graph["firstDayOfWeek"] = _RRULE_TO_DAY[week_start]
    else:
        if freq == "YEARLY":
            if len(months) > 1:
                warnings.append(f"several BYMONTH values {months}; only {months[0]} kept")
            graph["month"] = months[0] if months else start_local.month
        if by_day:
            graph["type"] = "relativeMonthly" if freq == "MONTHLY" else "relativeYearly"
            graph["daysOfWeek"] = [day for day in GRAPH_DAYS if day in {_RRULE_TO_DAY[d] for _, d in by_day}]
            graph["index"] = _relative_index(by_day, set_positions, warnings)
            if month_days:
                warnings.append("BYMONTHDAY combined with BYDAY cannot be expressed; BYMONTHDAY ignored")
        else:
            graph["type"] = "absoluteMonthly" if freq == "MONTHLY" else "absoluteYearly"
            graph["dayOfMonth"] = _absolute_day(month_days, start_local.day, warnings)
            if set_positions:
                warnings.append("BYSETPOS without BYDAY ignored")
    _end_to_graph(parts, rrule, graph, start_local, time_zone, warnings)
    return graph


def _relative_index(by_day: list[tuple[int | None, str]], set_positions: list[int], warnings: list[str]) -> str:
    ordinals = {ordinal for ordinal, _ in by_day if ordinal is not None}
    if ordinals and set_positions:
        warnings.append("BYDAY ordinals combined with BYSETPOS cannot be expressed; using the BYDAY ordinal")
    if ordinals:
        if len(ordinals) > 1:
            warnings.append(f"different weekday ordinals {sorted(ordinals)} cannot be expressed; using the first")
        position = next(ordinal for ordinal, _ in by_day if ordinal is not None)
    else:
        if len(set_positions) > 1:
            warnings.append(f"several BYSETPOS values {set_positions}; only {set_positions[0]} kept")
        position = set_positions[0] if set_positions else 1
    if position in _SETPOS_TO_INDEX:
        return _SETPOS_TO_INDEX[position]
    if position > 4 or position < -1:
        warnings.append(f"position {position} cannot be expressed (only 1..4 and -1); using 'last'")
        return "last"
    warnings.append(f"position {position} is invalid; using 'first'")
    return "first"


def _absolute_day(month_days: list[int], start_day: int, warnings: list[str]) -> int:
    if not month_days:
        return start_day
    if len(month_days) > 1:
        warnings.append(f"several BYMONTHDAY values {month_days}; only {month_days[0]} kept")
    day = month_days[0]
    if 1 <= day <= 31:
        return day
    if -31 <= day <= -1:
        approximation = 32 + day
        warnings.append(f"BYMONTHDAY={day} (counted from the month end) approximated by day {approximation}")
        return approximation
    warnings.append(f"BYMONTHDAY={day} is invalid; using the start day")
    return start_day


def _end_to_graph(
    parts: dict[str, str], rrule: str, graph: dict[str, Any], start_local: datetime, time_zone: str, warnings: list[str]
) -> None:
    count = _positive_int(parts["COUNT"], None, "COUNT", warnings) if "COUNT" in parts else None
    until = _parse_until(parts["UNTIL"], start_local, time_zone, warnings) if "UNTIL" in parts else None
    if count is not None and until is not None:
        # RFC 5545 forbids both; the series stops at whichever comes first.
        last = _nth_occurrence(rrule, start_local, count)
        keep_count = last is not None and last.date() <= until
        warnings.append(f"COUNT and UNTIL both given; keeping {'COUNT' if keep_count else 'UNTIL'}, which ends first")
        if keep_count:
            until = None
        else:
            count = None
    if count is not None:
        graph["count"] = count
    elif until is not None:
        if until < start_local.date():
            warnings.append("UNTIL before the series start; keeping a single occurrence")
            graph["count"] = 1
        else:
            graph["end_date"] = until


def _parse_until(value: str, start_local: datetime, time_zone: str, warnings: list[str]) -> date | None:
    """UNTIL as the last local day on which an occurrence may fall."""
    text = value.strip().upper()
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        moment = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        warnings.append(f"UNTIL={value!r} is not a valid date; treating the series as having no end")
        return None
    if text.endswith("Z"):
        moment = moment.replace(tzinfo=timezone.utc).astimezone(get_zone(time_zone)).replace(tzinfo=None)
    # An occurrence on the UNTIL day only happens if it starts no later than UNTIL.
    return moment.date() if moment.time() >= start_local.time() else moment.date() - timedelta(days=1)


def _nth_occurrence(rrule: str, start_local: datetime, count: int) -> datetime | None:
    parts = _parse(rrule, [])
    parts.pop("UNTIL", None)
    parts["COUNT"] = str(count)
    try:
        occurrences = list(dateutil_rrule.rrulestr(_format(parts), dtstart=start_local.replace(tzinfo=None)))
    except (ValueError, TypeError):
        return None
    return occurrences[-1] if occurrences else None


# --------------------------------------------------------------------------- helpers

def occurrences(recurrence: Recurrence, start_local: datetime, limit: int = 1000) -> list[datetime]:
    """Expand a canonical rule from ``start_local`` (naive, in ``recurrence.time_zone``).

    Returns up to ``limit`` naive local datetimes, cancelled dates excluded. Like
    Graph (and unlike RFC 5545's DTSTART rule), a start that does not match the
    pattern is not itself an occurrence.
    """
    rule = dateutil_rrule.rrulestr(recurrence.rrule, dtstart=start_local.replace(tzinfo=None))
    cancelled = set(recurrence.cancelled)
    result = []
    for moment in rule:
        if moment.date() not in cancelled:
            result.append(moment)
            if len(result) >= limit:
                break
    return result


def local_start(moment: datetime | date, time_zone: str) -> datetime:
    """The naive local start a rule is expanded from (midnight for all-day events)."""
    if isinstance(moment, datetime):
        return moment.astimezone(get_zone(time_zone)).replace(tzinfo=None)
    return datetime.combine(moment, time())


def _parse(rrule: str, warnings: list[str]) -> dict[str, str]:
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for chunk in filter(None, text.split(";")):
        key, sep, value = chunk.partition("=")
        if not sep:
            warnings.append(f"malformed RRULE part {chunk!r} ignored")
            continue
        parts[key.strip().upper()] = value.strip().upper()
    return parts


def _parse_by_day(value: str | None, warnings: list[str]) -> list[tuple[int | None, str]]:
    days: list[tuple[int | None, str]] = []
    for item in filter(None, (value or "").split(",")):
        day, ordinal_text = item[-2:], item[:-2]
        if day not in _RRULE_TO_DAY:
            warnings.append(f"BYDAY value {item!r} ignored")
            continue
        try:
            ordinal = int(ordinal_text) if ordinal_text not in ("", "+") else None
        except ValueError:
            warnings.append(f"BYDAY value {item!r} has a bad ordinal; ignored")
            continue
        days.append((ordinal, day))
    return days


def _int_list(value: str | None, name: str, warnings: list[str]) -> list[int]:
    numbers = []
    for item in filter(None, (value or "").split(",")):
        try:
            numbers.append(int(item))
        except ValueError:
            warnings.append(f"{name} value {item!r} ignored")
    return numbers


def _positive_int(value: Any, default: int | None, name: str, warnings: list[str]) -> Any:
    try:
        number = 0 if isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        number = 0
    if number >= 1:
        return number
    warnings.append(f"{name} {value!r} is not a positive integer; using {default}")
    return default


def _format(parts: dict[str, str]) -> str:
    order = ("FREQ", "INTERVAL", "BYMONTH", "BYMONTHDAY", "BYDAY", "BYSETPOS", "COUNT", "UNTIL", "WKST")
    return ";".join(f"{key}={parts[key]}" for key in order if key in parts)
