"""The occurrences of a series as plain decisions: deleted, changed and moved occurrences found
on a side that keeps no list of them, the 720-event cap, anchoring, planned occurrences, extension."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from outlook_sync.model import Event, Recurrence
from outlook_sync.series import (
    SideOccurrence,
    anchor,
    expand,
    extension,
    longer_than,
    plan_occurrences,
    planned_occurrence,
)

BRUSSELS = ZoneInfo("Europe/Brussels")
UTC = timezone.utc
MONDAY = date(2027, 3, 1)  # the series crosses Brussels' switch to summer time on 2027-03-28


def weekly(count=10, all_day=False, rule=None):
    start = datetime(2027, 3, 1, 9, tzinfo=BRUSSELS)
    rule = rule or f"FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT={count}"
    if all_day:
        return Event(subject="Review", start=MONDAY, end=MONDAY, all_day=True, time_zone="Europe/Brussels",
                     recurrence=Recurrence(rule, "Europe/Brussels"))
    return Event(subject="Review", start=start, end=start + timedelta(hours=1), time_zone="Europe/Brussels",
                 recurrence=Recurrence(rule, "Europe/Brussels"))


WINDOW = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))


def mondays(count):
    return [MONDAY + timedelta(weeks=week) for week in range(count)]


def plan(series, occurrences, bound=(), agreed=(), cap=720, differs=lambda key, planned: False, window=WINDOW):
    return plan_occurrences(series, expand(series), window[0], window[1], occurrences, bound, agreed, cap,
                            differs=differs)


def test_every_planned_day_with_its_event_is_nothing_to_do():
    series = weekly()
    result = plan(series, [SideOccurrence(index, day) for index, day in enumerate(mondays(10))])
    assert result.changed == () and result.deleted == ()
    # 09:00 in Brussels on both sides of the DST change
    assert {moment.astimezone(BRUSSELS).hour for moment in result.planned.values()} == {9}
    assert {moment.utcoffset() for moment in result.planned.values()} == {timedelta(hours=1), timedelta(hours=2)}


def test_a_missing_day_was_deleted_unless_both_sides_agree_it_is_cancelled():
    series = weekly()
    days = mondays(10)
    events = [SideOccurrence(index, day) for index, day in enumerate(days) if index not in (2, 5)]
    assert plan(series, events).deleted == (days[2], days[5])
    assert plan(series, events, agreed=[days[5]]).deleted == (days[2],)


def test_an_event_that_differs_or_changed_on_its_own_day_is_sent_as_changed():
    series = weekly(count=4)
    days = mondays(4)
    events = [SideOccurrence(0, days[0]), SideOccurrence(1, days[1], follows=False), SideOccurrence(2, days[2]),
              SideOccurrence(3, days[3])]
    result = plan(series, events, differs=lambda key, planned: key == 2)
    assert dict(result.changed) == {1: datetime(2027, 3, 8, 9, tzinfo=BRUSSELS),
                                    2: datetime(2027, 3, 15, 9, tzinfo=BRUSSELS)}
    assert result.deleted == ()


def test_an_event_moved_off_its_day_takes_the_nearest_free_planned_day():
    series = weekly(count=4)
    days = mondays(4)
    moved = days[1] + timedelta(days=2)  # Monday -> Wednesday before the series was sent
    events = [SideOccurrence(0, days[0]), SideOccurrence(1, moved, follows=False), SideOccurrence(2, days[2]),
              SideOccurrence(3, days[3])]
    result = plan(series, events)
    assert result.changed == ((1, datetime(2027, 3, 8, 9, tzinfo=BRUSSELS)),)
    assert result.deleted == (), "the moved occurrence is not a deletion"


def test_known_changed_occurrences_keep_their_day():
    series = weekly(count=3)
    days = mondays(3)
    events = [SideOccurrence(0, days[0]), SideOccurrence(2, days[2])]
    result = plan(series, events, bound=[days[1]])
    assert result.changed == () and result.deleted == ()


def test_past_the_cap_missing_days_are_not_deletions():
    series = weekly(rule="FREQ=DAILY;INTERVAL=1")  # no end: the side holds only its first events
    first = datetime(2027, 3, 1).date()
    events = [SideOccurrence(index, first + timedelta(days=index)) for index in range(30)]
    result = plan(series, events, cap=30)
    assert result.deleted == ()
    assert result.last_day == first + timedelta(days=29)
    assert result.beyond, "the window reaches past the side's last event"
    assert not longer_than(expand(weekly(count=5)), 5) and longer_than(expand(weekly(count=6)), 5)


def test_outside_the_window_nothing_is_decided():
    series = weekly(count=10)
    window = (datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 10, tzinfo=UTC))
    result = plan(series, [], window=window)
    assert result.deleted == (date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5))


@settings(max_examples=200, deadline=None)
@given(count=st.integers(min_value=1, max_value=40), data=st.data())
def test_deleted_and_moved_occurrences_are_found_exactly(count, data):
    """Random deletions and moves (each moved by fewer days than half the gap to its neighbours)
    on a weekly series: every deletion is found, no moved occurrence is taken for one."""
    series = weekly(count=count)
    days = mondays(count)
    fates = data.draw(st.lists(st.sampled_from(["keep", "delete", "move"]), min_size=count, max_size=count))
    shifts = data.draw(st.lists(st.integers(min_value=-3, max_value=3).filter(bool), min_size=count,
                                max_size=count))
    events = []
    for index, (day, fate, shift) in enumerate(zip(days, fates, shifts)):
        if fate == "keep":
            events.append(SideOccurrence(index, day))
        elif fate == "move":
            events.append(SideOccurrence(index, day + timedelta(days=shift), follows=False))
    result = plan(series, events)
    assert set(result.deleted) == {day for day, fate in zip(days, fates) if fate == "delete"}
    planned_of = {key: planned.astimezone(BRUSSELS).date() for key, planned in result.changed}
    assert planned_of == {index: day for index, (day, fate) in enumerate(zip(days, fates)) if fate == "move"}


def test_anchor_moves_a_start_off_its_pattern_onto_its_first_occurrence():
    sunday = datetime(2027, 2, 28, 9, tzinfo=BRUSSELS)
    series = Event(subject="s", start=sunday, end=sunday + timedelta(hours=1), time_zone="Europe/Brussels",
                   recurrence=Recurrence("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT=3", "Europe/Brussels"))
    anchored = anchor(series, WINDOW[0])
    assert anchored.start == datetime(2027, 3, 1, 9, tzinfo=BRUSSELS)
    assert anchored.end - anchored.start == timedelta(hours=1)
    assert anchored.recurrence == series.recurrence


def test_anchor_starts_an_endless_series_begun_long_ago_in_the_window():
    old = datetime(2020, 1, 6, 9, tzinfo=BRUSSELS)
    series = Event(subject="s", start=old, end=old + timedelta(minutes=15), time_zone="Europe/Brussels",
                   recurrence=Recurrence("FREQ=DAILY;INTERVAL=1", "Europe/Brussels"))
    anchored = anchor(series, WINDOW[0])
    assert anchored.start.astimezone(BRUSSELS) == datetime(2027, 1, 1, 9, tzinfo=BRUSSELS)
    counted = series.replace(recurrence=Recurrence("FREQ=DAILY;INTERVAL=1;COUNT=5000", "Europe/Brussels"))
    assert anchor(counted, WINDOW[0]) == counted, "a counted series keeps its start: its count is from there"
    assert anchor(weekly(), WINDOW[0]) == weekly(), "already on its first occurrence"


def test_planned_occurrence_is_the_series_at_that_start():
    series = weekly().replace(odoo_ref="db:calendar.recurrence:1", location="Room 1")
    planned = planned_occurrence(series, datetime(2027, 4, 5, 7, tzinfo=UTC))
    assert (planned.start, planned.end) == (datetime(2027, 4, 5, 7, tzinfo=UTC), datetime(2027, 4, 5, 8, tzinfo=UTC))
    assert planned.recurrence is None and planned.odoo_ref == "" and planned.location == "Room 1"
    all_day = planned_occurrence(weekly(all_day=True), datetime(2027, 4, 4, 22, tzinfo=UTC))
    assert (all_day.start, all_day.end) == (date(2027, 4, 5), date(2027, 4, 5))


def test_extension_lists_what_the_window_reaches_past_the_last_event():
    series = weekly(rule="FREQ=WEEKLY;INTERVAL=1;BYDAY=MO")
    rule = expand(series)
    starts = extension(rule, datetime(2027, 3, 8, 9), datetime(2027, 4, 1, tzinfo=UTC), "Europe/Brussels",
                       skip=[date(2027, 3, 22)])
    assert [moment.date() for moment in starts] == [date(2027, 3, 15), date(2027, 3, 29)]
    assert {moment.hour for moment in starts} == {9}
