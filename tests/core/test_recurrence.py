"""Graph patternedRecurrence <-> RRULE for all six pattern types, ranges and odd rules."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as dateutil_rrule

from outlook_sync.mapping import event_from_graph, event_to_graph
from outlook_sync.model import EVENT_FIELDS, Event, Recurrence, field_equal
from outlook_sync.recurrence import normalize_rrule, occurrences, recurrence_from_graph, recurrence_to_graph

from .graph_fakes import as_graph_response

START = datetime(2024, 1, 8, 9, 30)  # a Monday, naive local
BRUSSELS = "Europe/Brussels"

# (Graph request pattern, canonical RRULE)
PATTERNS = [
    ({"type": "daily", "interval": 3}, "FREQ=DAILY;INTERVAL=3"),
    ({"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "wednesday", "friday"], "firstDayOfWeek": "monday"},
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;WKST=MO"),
    ({"type": "weekly", "interval": 1, "daysOfWeek": ["saturday", "sunday"], "firstDayOfWeek": "sunday"},
     "FREQ=WEEKLY;INTERVAL=1;BYDAY=SA,SU;WKST=SU"),
    ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31}, "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=31"),
    ({"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["tuesday"], "index": "second"},
     "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU;BYSETPOS=2"),
    ({"type": "relativeMonthly", "interval": 1,
      "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"], "index": "last"},
     "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    ({"type": "absoluteYearly", "interval": 1, "month": 2, "dayOfMonth": 29}, "FREQ=YEARLY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=29"),
    ({"type": "relativeYearly", "interval": 1, "month": 11, "daysOfWeek": ["thursday"], "index": "fourth"},
     "FREQ=YEARLY;INTERVAL=1;BYMONTH=11;BYDAY=TH;BYSETPOS=4"),
    ({"type": "relativeYearly", "interval": 3, "month": 3, "daysOfWeek": ["saturday", "sunday"], "index": "first"},
     "FREQ=YEARLY;INTERVAL=3;BYMONTH=3;BYDAY=SA,SU;BYSETPOS=1"),
]
RANGES = [
    ({"type": "noEnd"}, ""),
    ({"type": "numbered", "numberOfOccurrences": 12}, ";COUNT=12"),
    ({"type": "endDate", "endDate": "2025-06-30"}, ";UNTIL=20250630T235959"),
]


def _with_end(rule: str, end: str) -> str:
    # COUNT/UNTIL come before WKST in the canonical order
    return rule.replace(";WKST", end + ";WKST") if ";WKST" in rule else rule + end


@pytest.mark.parametrize("pattern, rule", PATTERNS)
@pytest.mark.parametrize("range_, end", RANGES)
def test_every_pattern_and_range_round_trips(pattern, rule, range_, end):
    graph = {"pattern": pattern, "range": {**range_, "startDate": "2024-01-08", "recurrenceTimeZone": "Romance Standard Time"}}
    recurrence, warnings = recurrence_from_graph(graph, START.replace(tzinfo=ZoneInfo(BRUSSELS)), BRUSSELS)
    assert warnings == []
    assert recurrence == Recurrence(_with_end(rule, end), "Europe/Paris")
    back, warnings = recurrence_to_graph(recurrence, START)
    assert warnings == [] and back == graph
    assert normalize_rrule(recurrence.rrule, START) == (recurrence.rrule, [])


@pytest.mark.parametrize("pattern, rule", PATTERNS)
def test_graph_zero_filled_response_form_is_parsed(pattern, rule):
    zero_filled = {"type": None, "interval": 0, "month": 0, "dayOfMonth": 0, "daysOfWeek": [],
                   "firstDayOfWeek": "sunday", "index": "first"}
    graph = {
        "pattern": {**zero_filled, **pattern},
        "range": {"type": "noEnd", "startDate": "2024-01-08", "endDate": "0001-01-01",
                  "recurrenceTimeZone": "Romance Standard Time", "numberOfOccurrences": 0},
    }
    recurrence, warnings = recurrence_from_graph(graph, START.replace(tzinfo=ZoneInfo(BRUSSELS)), BRUSSELS)
    expected = rule if pattern["type"] != "weekly" else rule[: rule.index(";WKST")] + ";WKST=" + (
        "MO" if pattern["firstDayOfWeek"] == "monday" else "SU")
    assert (recurrence.rrule, warnings) == (expected, [])


def test_documented_response_sample():
    # reference/graph-and-msal.md §1.3 (user-post-events.md Response 3)
    graph = {
        "pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0,
                    "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday", "index": "first"},
        "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31",
                  "recurrenceTimeZone": "Pacific Standard Time", "numberOfOccurrences": 0},
    }
    start = datetime(2017, 9, 4, 12, tzinfo=ZoneInfo("America/Los_Angeles"))
    recurrence, warnings = recurrence_from_graph(graph, start, "America/Los_Angeles")
    assert warnings == []
    assert recurrence == Recurrence("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;UNTIL=20171231T235959;WKST=SU", "America/Los_Angeles")
    local = occurrences(recurrence, datetime(2017, 9, 4, 12))
    assert (local[0], local[-1], len(local)) == (datetime(2017, 9, 4, 12), datetime(2017, 12, 25, 12), 17)


def test_relative_pattern_with_several_days_falls_on_the_first_matching_day():
    # "the event falls on the first day that satisfies the pattern": first weekday of the month
    recurrence = Recurrence("FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1;COUNT=6", BRUSSELS)
    days = [moment.date() for moment in occurrences(recurrence, datetime(2024, 6, 3, 9))]
    assert days == [date(2024, 6, 3), date(2024, 7, 1), date(2024, 8, 1), date(2024, 9, 2), date(2024, 10, 1), date(2024, 11, 1)]
    last_weekend_day = Recurrence("FREQ=MONTHLY;INTERVAL=1;BYDAY=SA,SU;BYSETPOS=-1;COUNT=3", BRUSSELS)
    assert [m.date() for m in occurrences(last_weekend_day, datetime(2024, 6, 1, 9))] == [
        date(2024, 6, 30), date(2024, 7, 28), date(2024, 8, 31)]


def test_cancelled_dates_are_left_out_of_the_expansion():
    recurrence = Recurrence("FREQ=DAILY;INTERVAL=1;COUNT=4", BRUSSELS, cancelled=(date(2024, 1, 9),))
    assert [m.day for m in occurrences(recurrence, START)] == [8, 10, 11]


@pytest.mark.parametrize("rule, start, expected", [
    # Odoo and other RFC 5545 spellings, all expressible exactly
    ("RRULE:FREQ=WEEKLY;BYDAY=MO", START, "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO"),
    ("FREQ=WEEKLY", START, "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO"),
    ("FREQ=MONTHLY;BYDAY=+1MO", START, "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO;BYSETPOS=1"),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3", START, "FREQ=MONTHLY;INTERVAL=1;BYDAY=FR;BYSETPOS=-1;COUNT=3"),
    ("FREQ=MONTHLY", START, "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=8"),
    ("FREQ=YEARLY", START, "FREQ=YEARLY;INTERVAL=1;BYMONTH=1;BYMONTHDAY=8"),
    ("FREQ=YEARLY;BYMONTH=5;BYDAY=2SU", START, "FREQ=YEARLY;INTERVAL=1;BYMONTH=5;BYDAY=SU;BYSETPOS=2"),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", START, "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;WKST=MO"),
    ("FREQ=MONTHLY;BYDAY=TU", START, "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;WKST=MO"),
    ("freq=daily;interval=2;until=20240131", START, "FREQ=DAILY;INTERVAL=2;UNTIL=20240131T235959"),
    # UNTIL at a time of day before the start time excludes that day
    ("FREQ=DAILY;UNTIL=20240131T080000", START, "FREQ=DAILY;INTERVAL=1;UNTIL=20240130T235959"),
])
def test_rrule_spellings_normalise_without_warnings(rule, start, expected):
    assert normalize_rrule(rule, start) == (expected, [])


def test_utc_until_is_read_in_the_series_zone():
    # 2024-01-31 03:00 UTC is 22:00 on 30 January in New York, after the 09:30 start time.
    assert normalize_rrule("FREQ=DAILY;UNTIL=20240131T030000Z", START, "America/New_York")[0] == \
        "FREQ=DAILY;INTERVAL=1;UNTIL=20240130T235959"


@pytest.mark.parametrize("rule, expected, warning", [
    ("FREQ=DAILY;BYHOUR=9,17", "FREQ=DAILY;INTERVAL=1", "BYHOUR"),
    ("FREQ=HOURLY;INTERVAL=4", "FREQ=DAILY;INTERVAL=4", "HOURLY"),
    ("FREQ=YEARLY;BYWEEKNO=20", "FREQ=YEARLY;INTERVAL=1;BYMONTH=1;BYMONTHDAY=8", "BYWEEKNO"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15", "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=1", "several BYMONTHDAY"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;INTERVAL=1;BYMONTHDAY=31", "BYMONTHDAY=-1"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-2", "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO;BYSETPOS=-1", "position -2"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=5", "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO;BYSETPOS=-1", "position 5"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,3", "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO;BYSETPOS=1", "several BYSETPOS"),
    ("FREQ=MONTHLY;BYDAY=1MO,-1FR", "FREQ=MONTHLY;INTERVAL=1;BYDAY=MO,FR;BYSETPOS=1", "ordinals"),
    ("FREQ=YEARLY;BYMONTH=1,7", "FREQ=YEARLY;INTERVAL=1;BYMONTH=1;BYMONTHDAY=8", "several BYMONTH"),
    ("FREQ=DAILY;INTERVAL=2;BYDAY=MO,FR", "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,FR;WKST=MO", "INTERVAL>1"),
    ("FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=1", "INTERVAL"),
    ("FREQ=DAILY;COUNT=0", "FREQ=DAILY;INTERVAL=1", "COUNT"),
    ("FREQ=DAILY;UNTIL=someday", "FREQ=DAILY;INTERVAL=1", "UNTIL"),
    ("FREQ=DAILY;UNTIL=20230101", "FREQ=DAILY;INTERVAL=1;COUNT=1", "before the series start"),
    # COUNT and UNTIL together: keep whichever ends first
    ("FREQ=DAILY;COUNT=5;UNTIL=20240131", "FREQ=DAILY;INTERVAL=1;COUNT=5", "COUNT and UNTIL"),
    ("FREQ=DAILY;COUNT=50;UNTIL=20240110", "FREQ=DAILY;INTERVAL=1;UNTIL=20240110T235959", "COUNT and UNTIL"),
    ("FREQ=WEEKLY;WKST=XX", "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO", "WKST"),
    ("FREQ=WEEKLY;BYDAY=MO,XY", "FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;WKST=MO", "XY"),
])
def test_rules_outlook_cannot_hold_get_the_closest_form_and_a_warning(rule, expected, warning):
    normalized, warnings = normalize_rrule(rule, START)
    assert normalized == expected
    assert any(warning in message for message in warnings), warnings
    # the closest form is valid for dateutil too
    assert list(dateutil_rrule.rrulestr(normalized, dtstart=START)[:1])


@pytest.mark.parametrize("rule", ["", "garbage", "FREQ=FORTNIGHTLY", "INTERVAL=2"])
def test_unusable_rules_are_dropped_with_a_warning(rule):
    normalized, warnings = normalize_rrule(rule, START)
    assert normalized is None and warnings


@pytest.mark.parametrize("pattern, range_, warning", [
    ({"type": "weekly", "interval": 1, "daysOfWeek": []}, {"type": "noEnd"}, "daysOfWeek"),
    ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 0}, {"type": "noEnd"}, "dayOfMonth"),
    ({"type": "absoluteYearly", "interval": 1, "month": 0, "dayOfMonth": 5}, {"type": "noEnd"}, "month"),
    ({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "fifth"}, {"type": "noEnd"}, "index"),
    ({"type": "daily", "interval": -2}, {"type": "noEnd"}, "interval"),
    ({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 0}, "numberOfOccurrences"),
    ({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "0001-01-01"}, "endDate"),
    ({"type": "daily", "interval": 1}, {"type": "sometimes", "numberOfOccurrences": 3}, "range type"),
    ({"type": "daily", "interval": 1}, None, "range"),
    ({"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "funday"]}, {"type": "noEnd"}, "funday"),
])
def test_malformed_graph_patterns_get_the_closest_rule_and_a_warning(pattern, range_, warning):
    graph = {"pattern": pattern, "range": range_}
    recurrence, warnings = recurrence_from_graph(graph, START.replace(tzinfo=ZoneInfo(BRUSSELS)), BRUSSELS)
    assert recurrence is not None
    assert list(dateutil_rrule.rrulestr(recurrence.rrule, dtstart=START)[:1])
    assert any(warning in message for message in warnings), warnings


@pytest.mark.parametrize("pattern, rule", PATTERNS)
def test_recurring_all_day_series_round_trip_through_a_graph_response(pattern, rule):
    event = Event(subject="Série", start=date(2024, 1, 8), end=date(2024, 1, 8), all_day=True,
                  time_zone="Pacific/Kiritimati", recurrence=Recurrence(rule, "Pacific/Kiritimati"))
    payload = as_graph_response(event_to_graph(event))
    assert payload["recurrence"]["range"]["startDate"] == "2024-01-08"
    result, warnings = event_from_graph(payload)
    assert warnings == [] and result == event


def test_recurring_series_across_dst_keeps_local_time():
    start = datetime(2024, 3, 25, 9, 0, tzinfo=ZoneInfo("Europe/Brussels"))  # CET, before the switch
    recurrence = Recurrence("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO;COUNT=3;WKST=MO", "Europe/Brussels")
    event = Event(start=start, end=start.replace(hour=10), time_zone="Europe/Brussels", recurrence=recurrence)
    result, warnings = event_from_graph(as_graph_response(event_to_graph(event)))
    # Outlook stores "Romance Standard Time", whose CLDR zone is Europe/Paris: the same zone for sync purposes.
    assert warnings == [] and result.time_zone == "Europe/Paris"
    assert all(field_equal(name, getattr(result, name), getattr(event, name)) for name in EVENT_FIELDS)
    local = occurrences(result.recurrence, start.replace(tzinfo=None))
    utc = [moment.replace(tzinfo=ZoneInfo("Europe/Brussels")).astimezone(timezone.utc).hour for moment in local]
    assert [moment.hour for moment in local] == [9, 9, 9] and utc == [8, 7, 7]


def test_recurrence_time_zone_differing_from_the_event_zone_is_kept():
    start = datetime(2024, 1, 8, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 9 Jan in Tokyo
    recurrence = Recurrence("FREQ=DAILY;INTERVAL=1;COUNT=2", "Asia/Tokyo")
    event = Event(start=start, end=start.replace(hour=23, minute=45), time_zone="America/New_York", recurrence=recurrence)
    body = event_to_graph(event)
    assert body["recurrence"]["range"] == {"startDate": "2024-01-09", "recurrenceTimeZone": "Tokyo Standard Time",
                                           "type": "numbered", "numberOfOccurrences": 2}
    result, warnings = event_from_graph(as_graph_response(body))
    assert warnings == [] and result == event
