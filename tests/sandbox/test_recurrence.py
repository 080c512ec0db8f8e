"""Recurring series in the sandbox: patternedRecurrence validation and the
response form, and expansion of every pattern and range type (checked against
hand-computed dates), exceptions, cancellations and occurrence ids."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from outlook_sandbox import recurrence
from outlook_sandbox.errors import GraphError
from outlook_sandbox.store import Mailbox, StoredEvent, new_graph_id, new_ical_uid

UTC = timezone.utc
BRUSSELS = ZoneInfo("Europe/Brussels")


def make_master(pattern: dict, range_: dict, start: str = "2026-01-05T09:00", zone: str = "Europe/Brussels",
                minutes: int = 30) -> StoredEvent:
    local = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone))
    rec = recurrence.normalize_recurrence({"pattern": pattern, "range": {"startDate": local.date().isoformat(),
                                                                           **range_}},
                                          local.date(), zone)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return StoredEvent(id=new_graph_id(), calendar_id="cal", ical_uid=new_ical_uid(), data={"recurrence": rec},
                       start=local.astimezone(UTC), end=(local + timedelta(minutes=minutes)).astimezone(UTC),
                       start_tz=zone, end_tz=zone, created=now, last_modified=now, change_key="ck", seq=1,
                       type="seriesMaster")


def local_starts(master: StoredEvent, zone=BRUSSELS, limit: int = 50) -> list[str]:
    starts = []
    for start in recurrence.pattern_starts(master):
        starts.append(start.astimezone(zone).strftime("%Y-%m-%d %H:%M"))
        if len(starts) == limit:
            break
    return starts


def dates(master: StoredEvent, limit: int = 50) -> list[str]:
    return [s[:10] for s in local_starts(master, limit=limit)]


# -- normalize_recurrence ----------------------------------------------------------

def test_weekly_is_answered_in_graphs_zero_filled_form():
    value = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]},
             "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31"}}
    assert recurrence.normalize_recurrence(value, date(2017, 9, 4), "Pacific Standard Time") == {
        "pattern": {"type": "weekly", "interval": 1, "month": 0, "dayOfMonth": 0, "daysOfWeek": ["monday"],
                    "firstDayOfWeek": "sunday", "index": "first"},
        "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31",
                  "recurrenceTimeZone": "Pacific Standard Time", "numberOfOccurrences": 0},
    }


def test_no_end_range_zero_fills_and_round_trips():
    value = {"pattern": {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["MONDAY"], "month": 9},
             "range": {"type": "noEnd", "startDate": "2026-09-07"}}
    first = recurrence.normalize_recurrence(value, date(2026, 9, 7), "Europe/Brussels")
    assert first["range"] == {"type": "noEnd", "startDate": "2026-09-07", "endDate": "0001-01-01",
                              "recurrenceTimeZone": "Romance Standard Time", "numberOfOccurrences": 0}
    assert first["pattern"]["dayOfMonth"] == 0 and first["pattern"]["index"] == "first"
    # What a client read back is accepted again unchanged.
    assert recurrence.normalize_recurrence(first, date(2026, 9, 7), "Europe/Brussels") == first


def test_explicit_recurrence_time_zone_is_kept_as_windows_name():
    value = {"pattern": {"type": "daily", "interval": 1},
             "range": {"type": "numbered", "startDate": "2026-03-01", "numberOfOccurrences": 3,
                       "recurrenceTimeZone": "America/New_York"}}
    normalized = recurrence.normalize_recurrence(value, date(2026, 3, 1), "UTC")
    assert normalized["range"]["recurrenceTimeZone"] == "Eastern Standard Time"
    assert normalized["range"]["numberOfOccurrences"] == 3


@pytest.mark.parametrize("pattern", [
    {"type": "weekly", "interval": 1},
    {"type": "absoluteMonthly", "interval": 1},
    {"type": "relativeMonthly", "interval": 1},
    {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 5},
    {"type": "absoluteYearly", "interval": 1, "month": 5},
    {"type": "relativeYearly", "interval": 1, "month": 9},
    {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"]},
    {"type": "daily"},
    {"interval": 1},
])
def test_missing_required_pattern_property_is_400(pattern):
    with pytest.raises(GraphError) as caught:
        recurrence.normalize_recurrence({"pattern": pattern, "range": {"type": "noEnd", "startDate": "2026-01-05"}},
                                        date(2026, 1, 5), "UTC")
    assert caught.value.status == 400 and caught.value.code == "ErrorInvalidRequest"


@pytest.mark.parametrize("pattern, range_", [
    ({"type": "daily", "interval": 0}, {"type": "noEnd"}),
    ({"type": "hourly", "interval": 1}, {"type": "noEnd"}),
    ({"type": "weekly", "interval": 1, "daysOfWeek": ["funday"]}, {"type": "noEnd"}),
    ({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "fifth"}, {"type": "noEnd"}),
    ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 32}, {"type": "noEnd"}),
    ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 1, "month": 13}, {"type": "noEnd"}),
    ({"type": "daily", "interval": 1}, {"type": "numbered"}),
    ({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": -2}),
    ({"type": "daily", "interval": 1}, {"type": "endDate"}),
    ({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "2026-01-04"}),
    ({"type": "daily", "interval": 1}, {"type": "endDate", "endDate": "next week"}),
    ({"type": "daily", "interval": 1}, {"type": "forever"}),
])
def test_unsupported_values_are_400(pattern, range_):
    with pytest.raises(GraphError) as caught:
        recurrence.normalize_recurrence({"pattern": pattern, "range": {"startDate": "2026-01-05", **range_}},
                                        date(2026, 1, 5), "UTC")
    assert caught.value.status == 400


def test_unknown_property_and_unknown_zone_are_400():
    with pytest.raises(GraphError) as caught:
        recurrence.normalize_recurrence({"pattern": {"type": "daily", "interval": 1, "weekday": 3},
                                         "range": {"type": "noEnd", "startDate": "2026-01-05"}},
                                        date(2026, 1, 5), "UTC")
    assert caught.value.status == 400 and "weekday" in caught.value.message
    with pytest.raises(GraphError) as caught:
        recurrence.normalize_recurrence({"pattern": {"type": "daily", "interval": 1},
                                         "range": {"type": "noEnd", "startDate": "2026-01-05",
                                                   "recurrenceTimeZone": "Mars/Olympus"}},
                                        date(2026, 1, 5), "UTC")
    assert caught.value.code == "TimeZoneNotSupportedException"


def test_none_clears_the_recurrence():
    assert recurrence.normalize_recurrence(None, date(2026, 1, 5), "UTC") is None


# -- expansion: each pattern type -------------------------------------------------

def test_daily_every_third_day_until_inclusive_end_date():
    master = make_master({"type": "daily", "interval": 3}, {"type": "endDate", "endDate": "2026-01-17"})
    assert dates(master) == ["2026-01-05", "2026-01-08", "2026-01-11", "2026-01-14", "2026-01-17"]


def test_weekly_every_two_weeks_counts_weeks_from_first_day_of_week():
    # Starts Wednesday 2026-11-04 on Monday/Wednesday/Sunday.
    pattern = {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "wednesday", "sunday"]}
    monday_weeks = make_master({**pattern, "firstDayOfWeek": "monday"}, {"type": "numbered", "numberOfOccurrences": 6},
                               start="2026-11-04T09:00")
    # Weeks Mon 2 Nov-Sun 8 Nov, then Mon 16-Sun 22, then Mon 30...
    assert dates(monday_weeks) == ["2026-11-04", "2026-11-08", "2026-11-16", "2026-11-18", "2026-11-22",
                                   "2026-11-30"]
    sunday_weeks = make_master({**pattern, "firstDayOfWeek": "sunday"}, {"type": "numbered", "numberOfOccurrences": 6},
                               start="2026-11-04T09:00")
    # Weeks Sun 1-Sat 7 Nov (Sun 1 is before the start), then Sun 15-Sat 21, then Sun 29...
    assert dates(sunday_weeks) == ["2026-11-04", "2026-11-15", "2026-11-16", "2026-11-18", "2026-11-29",
                                   "2026-11-30"]


def test_absolute_monthly_on_day_31_falls_on_the_last_day_of_shorter_months():
    master = make_master({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
                         {"type": "numbered", "numberOfOccurrences": 5}, start="2026-01-31T09:00")
    assert dates(master) == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]


def test_absolute_monthly_every_second_month():
    master = make_master({"type": "absoluteMonthly", "interval": 2, "dayOfMonth": 15},
                         {"type": "endDate", "endDate": "2026-09-15"}, start="2026-01-15T09:00")
    assert dates(master) == ["2026-01-15", "2026-03-15", "2026-05-15", "2026-07-15", "2026-09-15"]


def test_relative_monthly_last_friday():
    master = make_master({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
                         {"type": "numbered", "numberOfOccurrences": 4}, start="2026-01-01T09:00")
    assert dates(master) == ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"]


def test_relative_monthly_with_several_days_takes_the_first_day_that_matches():
    # "first saturday or sunday": the month's first weekend day.
    master = make_master({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["saturday", "sunday"]},
                         {"type": "numbered", "numberOfOccurrences": 3}, start="2026-02-01T09:00")
    assert dates(master) == ["2026-02-01", "2026-03-01", "2026-04-04"]
    second = make_master({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday", "tuesday"],
                          "index": "second"}, {"type": "numbered", "numberOfOccurrences": 2},
                         start="2026-06-01T09:00")
    # June 2026: Mon 1, Tue 2 -> second is Tue 2; July: Wed 1 ... Mon 6, Tue 7 -> Tue 7.
    assert dates(second) == ["2026-06-02", "2026-07-07"]


def test_absolute_yearly_and_leap_day():
    master = make_master({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2},
                         {"type": "numbered", "numberOfOccurrences": 3}, start="2028-02-29T09:00")
    assert dates(master) == ["2028-02-29", "2029-02-28", "2030-02-28"]


def test_relative_yearly_first_monday_of_september_every_two_years():
    master = make_master({"type": "relativeYearly", "interval": 2, "daysOfWeek": ["monday"], "month": 9,
                          "index": "first"}, {"type": "endDate", "endDate": "2032-12-31"},
                         start="2026-01-01T09:00")
    assert dates(master) == ["2026-09-07", "2028-09-04", "2030-09-02", "2032-09-06"]


def test_first_occurrence_is_on_or_after_the_start_date():
    # Series starts on a Tuesday but meets on Mondays.
    master = make_master({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                         {"type": "numbered", "numberOfOccurrences": 2}, start="2026-01-06T09:00")
    assert dates(master) == ["2026-01-12", "2026-01-19"]


def test_weekly_series_keeps_local_time_across_dst():
    master = make_master({"type": "weekly", "interval": 1, "daysOfWeek": ["thursday"]},
                         {"type": "numbered", "numberOfOccurrences": 3}, start="2026-10-15T09:00")
    assert local_starts(master) == ["2026-10-15 09:00", "2026-10-22 09:00", "2026-10-29 09:00"]
    utc_hours = [s.hour for s in recurrence.pattern_starts(master)]
    assert utc_hours == [7, 7, 8]  # CEST (+2) then CET (+1)


def test_no_end_series_expands_only_the_window():
    master = make_master({"type": "daily", "interval": 1}, {"type": "noEnd"}, start="2026-01-05T09:00")
    window_start = datetime(2036, 6, 1, tzinfo=UTC)
    starts = list(recurrence.pattern_starts(master, window_start, window_start + timedelta(days=3)))
    assert [s.strftime("%Y-%m-%d %H:%M") for s in starts] == ["2036-06-01 07:00", "2036-06-02 07:00",
                                                               "2036-06-03 07:00"]


PATTERNS = [
    {"type": "daily"},
    {"type": "weekly", "daysOfWeek": ["monday", "thursday", "sunday"], "firstDayOfWeek": "monday"},
    {"type": "weekly", "daysOfWeek": ["tuesday", "saturday"]},
    {"type": "absoluteMonthly", "dayOfMonth": 31},
    {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
    {"type": "absoluteYearly", "dayOfMonth": 29, "month": 2},
    {"type": "relativeYearly", "daysOfWeek": ["monday", "tuesday"], "month": 9, "index": "second"},
]


@settings(max_examples=60, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), interval=st.integers(1, 4), offset_days=st.integers(0, 4000),
       span_days=st.integers(1, 800), end_date=st.sampled_from([None, "2031-06-30"]))
def test_window_expansion_matches_walking_the_series_from_its_start(pattern, interval, offset_days, span_days,
                                                                    end_date):
    range_ = {"type": "endDate", "endDate": end_date} if end_date else {"type": "noEnd"}
    master = make_master({**pattern, "interval": interval}, range_, start="2026-01-07T09:00")
    window_start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=offset_days)
    window_end = window_start + timedelta(days=span_days)
    walked = [s for s in itertools.takewhile(lambda s: s < window_end, recurrence.pattern_starts(master))
              if s >= window_start]
    assert list(recurrence.pattern_starts(master, window_start, window_end)) == walked


def test_far_future_window_of_a_long_series_is_fast_and_holds_the_last_day_of_the_calendar():
    master = make_master({"type": "daily", "interval": 1}, {"type": "noEnd"}, start="2026-01-05T09:00")
    window_start = datetime(9999, 12, 30, tzinfo=UTC)
    starts = list(recurrence.pattern_starts(master, window_start, datetime(9999, 12, 31, 23, 59, tzinfo=UTC)))
    assert [s.date() for s in starts] == [date(9999, 12, 30), date(9999, 12, 31)]


def test_numbered_count_is_from_the_series_start_not_the_window():
    master = make_master({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 10})
    later = datetime(2026, 1, 12, tzinfo=UTC)
    assert len(list(recurrence.pattern_starts(master, later, later + timedelta(days=30)))) == 3


# -- exceptions, cancellations, ids ------------------------------------------------

def make_mailbox(*events: StoredEvent) -> Mailbox:
    mailbox = Mailbox(id="mbx", address="a@contoso.com", display_name="A", tenant_id="t")
    for event in events:
        mailbox.events[event.id] = event
    return mailbox


def test_instances_replace_exceptions_and_drop_cancelled_occurrences():
    master = make_master({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 5})
    originals = list(recurrence.pattern_starts(master))
    master.cancelled_occurrences.add(originals[1])
    moved = recurrence._new_exception(recurrence.Occurrence(
        recurrence.occurrence_id(master.id, originals[3]), master, originals[3], originals[3],
        originals[3] + timedelta(minutes=30)))
    moved.start += timedelta(hours=3)
    moved.end += timedelta(hours=3)
    mailbox = make_mailbox(master, moved)
    found = recurrence.series_instances(mailbox, master, originals[0], originals[-1] + timedelta(days=1))
    assert [(o.type, o.start) for o in found] == [
        ("occurrence", originals[0]), ("occurrence", originals[2]), ("exception", originals[3] + timedelta(hours=3)),
        ("occurrence", originals[4])]
    assert found[2].id == recurrence.occurrence_id(master.id, originals[3])
    # A window holding only the exception's new time finds it, not its original slot.
    late = originals[3] + timedelta(hours=2)
    assert [o.type for o in recurrence.series_instances(mailbox, master, late, late + timedelta(hours=2))] == \
        ["exception"]


def test_occurrence_ids_decode_and_other_ids_do_not():
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    master_id = new_graph_id()
    occurrence = recurrence.occurrence_id(master_id, start)
    assert occurrence.startswith("AAMkAG") and occurrence != master_id
    assert recurrence.parse_occurrence_id(occurrence) == (master_id, start)
    assert recurrence.occurrence_id(master_id, start) == occurrence  # deterministic
    assert recurrence.parse_occurrence_id(master_id) is None
    assert recurrence.parse_occurrence_id("not-an-id") is None


def test_find_occurrence_rejects_starts_outside_the_pattern_and_cancelled_ones():
    master = make_master({"type": "daily", "interval": 2}, {"type": "noEnd"})
    mailbox = make_mailbox(master)
    first = recurrence.first_start(master)
    assert recurrence.find_occurrence(mailbox, recurrence.occurrence_id(master.id, first)).start == first
    off_pattern = first + timedelta(days=1)
    assert recurrence.find_occurrence(mailbox, recurrence.occurrence_id(master.id, off_pattern)) is None
    master.cancelled_occurrences.add(first)
    assert recurrence.find_occurrence(mailbox, recurrence.occurrence_id(master.id, first)) is None


def test_occurrence_ical_uids_differ_per_instance_and_are_stable():
    master = make_master({"type": "daily", "interval": 1}, {"type": "numbered", "numberOfOccurrences": 2})
    first, second = recurrence.pattern_starts(master)
    zone = master.data["recurrence"]["range"]["recurrenceTimeZone"]
    uid_first = recurrence.occurrence_ical_uid(master.ical_uid, first, zone)
    assert uid_first != recurrence.occurrence_ical_uid(master.ical_uid, second, zone)
    assert uid_first == recurrence.occurrence_ical_uid(master.ical_uid, first, zone)
    assert uid_first[32:40] == "07EA0105"  # 2026-01-05 in Exchange's instance-date bytes
    assert uid_first[:32] == master.ical_uid[:32] and uid_first[40:] == master.ical_uid[40:]
