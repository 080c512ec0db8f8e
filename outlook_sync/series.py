"""The occurrences of a recurring series, as plain decisions.

A series is reconciled like one event (its master's fields and pattern); what
belongs to single occurrences is decided here, without Odoo:

* :func:`plan_occurrences` compares a calendar's events of a series with the
  pattern's dates of the sync window, for a side that keeps neither where a
  changed occurrence was planned nor which occurrences were deleted (Odoo):
  which events must be sent as changed occurrences (and where they were
  planned), which planned dates were deleted, and whether the side stops
  short of the window (Odoo makes at most 720 events of a series);
* :func:`anchor` moves a series' first event onto an occurrence in the window
  (Odoo archives a first event off its pattern, and counts its 720 events
  from it);
* :func:`planned_occurrence` is an occurrence as its series planned it, the
  base both sides' changes to it are merged against;
* :func:`extension` lists the occurrences a moving window reaches past the
  last one a side holds.

Rules are canonical RRULEs (:mod:`outlook_sync.recurrence`) expanded from the
series' start in its zone; like Graph (and dateutil), a start off the pattern
is not itself an occurrence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr

from .model import Event
from .recurrence import local_start
from .timezones import get_zone

#: How far a changed occurrence is looked for from the day it sits on (its planned day is not known).
MOVED_SEARCH_DAYS = 31


@dataclass(frozen=True, slots=True)
class SideOccurrence:
    """One event of a series on the side being compared (Odoo).

    ``day`` is its local day in the series' zone; ``follows`` whether it still
    follows its series (not changed on its own)."""

    key: int
    day: date
    follows: bool = True


@dataclass(frozen=True, slots=True)
class OccurrencePlan:
    """What :func:`plan_occurrences` decided.

    ``changed``: (event key, planned start) of events to send as changed
    occurrences; ``deleted``: planned days with no event (cancel them on the
    other side); ``last_day``: the side's last occurrence when it holds only the
    start of a longer series (``None`` when it holds them all); ``beyond``: the
    window reaches past ``last_day``."""

    changed: tuple[tuple[int, datetime], ...] = ()
    deleted: tuple[date, ...] = ()
    last_day: date | None = None
    beyond: bool = False
    planned: dict[date, datetime] = field(default_factory=dict)


def expand(event: Event, rule: str | None = None) -> RRule:
    """The dateutil rule of ``event``'s series (or of ``rule``), from its start in its zone (naive local)."""
    assert event.recurrence is not None
    return rrulestr(rule or event.recurrence.rrule, dtstart=local_start(event.start, event.recurrence.time_zone))


def longer_than(rule: RRule, count: int) -> bool:
    """Whether the rule has more than ``count`` occurrences (an endless one has)."""
    text = str(rule).upper()
    if "COUNT=" not in text and "UNTIL=" not in text:
        return True
    return len(list(islice(rule, count + 1))) > count


def planned_start(event: Event, moment: datetime) -> datetime:
    """The aware start of the occurrence planned at local ``moment`` (midnight of its day if all day)."""
    zone = get_zone(event.recurrence.time_zone)
    if event.all_day:
        return datetime.combine(moment.date(), time(), zone)
    return moment.replace(tzinfo=zone)


def plan_occurrences(series: Event, rule: RRule, window_start: datetime, window_end: datetime,
                     occurrences: Sequence[SideOccurrence], bound_days: Iterable[date],
                     agreed_cancelled: Iterable[date], cap: int,
                     differs: Callable[[int, datetime], bool] = lambda key, planned: False) -> OccurrencePlan:
    """Compare one side's events of ``series`` with the planned days of the window.

    ``rule`` is the rule the side's events follow (the series' own, or the side's
    closest form of it); ``bound_days`` the planned days of occurrences already
    known as changed; ``agreed_cancelled`` the days both sides agree are
    cancelled; ``cap`` how many events the side makes of a series at most;
    ``differs(key, planned start)`` whether an event that follows its series
    says something its series does not (asked only of events on a planned day).

    Events on a planned day take it (sent as changed if they differ); an
    event changed on its own away from any free planned day takes the nearest
    free one within :data:`MOVED_SEARCH_DAYS` (it came from there); the planned
    days left without an event were deleted on that side."""
    live = list(occurrences)
    taken = set(bound_days)
    last_day = max([occurrence.day for occurrence in live] + list(taken), default=None) \
        if longer_than(rule, cap) else None
    zone = get_zone(series.recurrence.time_zone)
    planned: dict[date, datetime] = {}
    beyond = False
    since = window_start.astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    for moment in rule.between(since, window_end.astimezone(zone).replace(tzinfo=None), inc=True):
        instant = planned_start(series, moment)
        if last_day is not None and moment.date() > last_day:
            beyond = window_start <= instant < window_end
            break
        if window_start <= instant < window_end:
            planned[moment.date()] = instant
    changed: list[tuple[int, datetime]] = []
    moved = []
    for occurrence in sorted(live, key=lambda occurrence: not occurrence.follows):  # on their own day first
        if occurrence.day not in planned or occurrence.day in taken:
            if not occurrence.follows:
                moved.append(occurrence)
            continue
        taken.add(occurrence.day)
        if not occurrence.follows or differs(occurrence.key, planned[occurrence.day]):
            changed.append((occurrence.key, planned[occurrence.day]))
    for occurrence in moved:
        free = [day for day in planned
                if day not in taken and abs((day - occurrence.day).days) <= MOVED_SEARCH_DAYS]
        if free:
            day = min(free, key=lambda day: (abs((day - occurrence.day).days), day))
            taken.add(day)
            changed.append((occurrence.key, planned[day]))
    agreed = set(agreed_cancelled)
    deleted = tuple(day for day in sorted(planned) if day not in taken and day not in agreed)
    return OccurrencePlan(tuple(changed), deleted, last_day, beyond, planned)


def anchor(event: Event, window_start: datetime) -> Event:
    """``event`` with its start on its first occurrence, and, for a series without a count that
    began before the window, on its first occurrence in the window (its pattern unchanged)."""
    if event.recurrence is None:
        return event
    zone = get_zone(event.recurrence.time_zone)
    start_local = local_start(event.start, event.recurrence.time_zone)
    duration = event.end - event.start
    first = event.start if not event.all_day else datetime.combine(event.start, time(), zone)
    floor = start_local
    if "COUNT=" not in event.recurrence.rrule.upper() and first < window_start:
        floor = max(floor, window_start.astimezone(zone).replace(tzinfo=None) - (
            duration if not event.all_day else timedelta(days=duration.days + 1)))
    moment = expand(event).after(floor, inc=True)
    if moment is None or moment == start_local:
        return event  # already on its first occurrence, or over before the window
    if event.all_day:
        return event.replace(start=moment.date(), end=moment.date() + duration)
    start = moment.replace(tzinfo=zone).astimezone(timezone.utc)
    return event.replace(start=start, end=start + duration)


def planned_occurrence(series: Event, original_start: datetime) -> Event:
    """The occurrence of ``series`` planned at ``original_start`` (aware), as a single event."""
    duration = series.end - series.start
    if series.all_day:
        day = original_start.astimezone(get_zone(series.recurrence.time_zone)).date()
        start, end = day, day + duration
    else:
        start, end = original_start, original_start + duration
    return series.replace(start=start, end=end, recurrence=None).without_odoo_links()


def extension(rule: RRule, last_local: datetime, window_end: datetime, time_zone: str,
              skip: Iterable[date] = ()) -> list[datetime]:
    """The local starts after ``last_local`` up to the window's end, but for the days in ``skip``."""
    skipped = set(skip)
    end = window_end.astimezone(get_zone(time_zone)).replace(tzinfo=None)
    return [moment for moment in rule.between(last_local, end) if moment.date() not in skipped]
