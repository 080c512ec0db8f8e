# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recurring series patterns against the sandbox, both ways: every Outlook pattern and
range (daily, weekly on several days, monthly by date and by weekday, yearly; numbered,
end date, no end), patterns Odoo cannot hold exactly, all-day series from UTC-10 to
UTC+13, a series of 1,000 occurrences, a run killed in the middle of a series, and two
occurrences of one series edited on both sides before one sync."""

from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from outlook_sync.timezones import same_zone, windows_name

from odoo.tests import tagged

from .sync_common import SyncCase

UTC = timezone.utc
#: Timed series of the pattern tests: 09:00 in New York, across its DST changes.
ZONE = "America/New_York"
GRAPH_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: All-day series land on their local days in these zones (UTC-10, UTC+0, UTC+5:30, UTC+13).
ALL_DAY_ZONES = ("Pacific/Honolulu", "UTC", "Asia/Kolkata", "Pacific/Tongatapu")


def _on_or_after(day, weekday):
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _last_weekday(month, weekday):
    """The last ``weekday`` of the month of ``month`` (a date in it)."""
    last = month.replace(day=1) + relativedelta(months=1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _nth_weekday(month, weekday, number):
    return _on_or_after(month.replace(day=1), weekday) + timedelta(weeks=number - 1)


@tagged("post_install", "-at_install", "mcs_sync", "mcs_recurring")
class TestSyncRecurringPatterns(SyncCase):

    def setUp(self):
        super().setUp()
        self.today = datetime.now(UTC).date()
        # what both sides are compared over: well inside the sync window (30 days back, 365 forward)
        self.view = (self.today - timedelta(days=25), self.today + timedelta(days=360))

    # -- helpers -------------------------------------------------------------------

    def outlook_series(self, subject, first, pattern, range_, *, zone=ZONE, hour=9, all_day=False, **extra):
        """A series created in Outlook: ``first`` is its first local day in ``zone``."""
        windows = windows_name(zone)
        if all_day:
            start, end = datetime.combine(first, time()), datetime.combine(first + timedelta(days=1), time())
        else:
            start = datetime.combine(first, time(hour))
            end = start + timedelta(hours=1)
        with self.outlook() as client:
            return client.create_event({
                "subject": subject,
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": windows},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": windows},
                "isAllDay": all_day,
                "recurrence": {
                    "pattern": {"interval": 1, **pattern},
                    "range": {"startDate": first.isoformat(), "recurrenceTimeZone": windows, **range_}},
                **extra})

    def odoo_series(self, name, first, values, *, zone=ZONE, hour=9, all_day=False):
        """A series created in Odoo (as Alice, from the calendar): ``first`` is its first local day."""
        if all_day:
            start, stop = datetime.combine(first, time(8)), datetime.combine(first, time(18))
        else:
            start = datetime.combine(first, time(hour), ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)
            stop = start + timedelta(hours=1)
        return self.Event.create({
            "name": name, "start": start, "stop": stop, "allday": all_day, "user_id": self.alice.id,
            "recurrency": True, "event_tz": zone, **values})

    def instances(self, master_id, first=None, last=None):
        first = first or datetime.now(UTC) - timedelta(days=30)
        last = last or datetime.now(UTC) + timedelta(days=400)
        query = urlencode({"startDateTime": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "endDateTime": last.strftime("%Y-%m-%dT%H:%M:%SZ"), "$top": 1000})
        with self.outlook() as client:
            return list(client.iter_items(f"/me/events/{master_id}/instances?{query}"))

    def cancelled_occurrences(self, master_id):
        with self.outlook() as client:
            return client.get_event(master_id, {"$select": "cancelledOccurrences"}).get("cancelledOccurrences", [])

    def rename_in_odoo(self, recurrence, name):
        """Alice renames the whole series in Odoo ("all events")."""
        first = recurrence.calendar_event_ids.filtered("active").sorted("start")[0]
        first.with_user(self.alice).write({"name": name, "recurrence_update": "all_events"})

    def masters(self):
        return [event for event in self.outlook_events() if event.get("type") == "seriesMaster"]

    def rows(self):
        return self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", self.account.id)])

    def series_row(self, graph_id):
        row = self.rows().filtered(lambda row: row.graph_id == graph_id)
        self.assertEqual(len(row), 1, f"one status row for the Outlook series {graph_id}")
        self.assertEqual(row.kind, "series")
        return row

    def series_row_of(self, event):
        row = self.rows().filtered(lambda row: row.kind == "series" and row.recurrence_id == event.recurrence_id)
        self.assertEqual(len(row), 1, f"one status row for the Odoo series {event.name}")
        return row

    @staticmethod
    def odoo_form(values):
        """What Odoo stores of these recurrence values: a series without end is 720 repetitions
        (calendar.recurrence's rrule inverse writes its cap back into the fields)."""
        if values.get("end_type") == "forever":
            return {**values, "end_type": "count", "count": 720}
        return values

    def held(self, recurrence, values):
        return {key: recurrence[key] for key in self.odoo_form(values)}

    def in_view(self, day):
        return self.view[0] <= day <= self.view[1]

    def odoo_moments(self, recurrence, zone, all_day=False):
        """(local day, local time) of the series' active Odoo events in the view, by start."""
        result = []
        for event in recurrence.calendar_event_ids.filtered("active").sorted("start"):
            if all_day:
                self.assertTrue(event.allday, f"{event.name} on {event.start_date} is all-day")
                self.assertEqual(event.stop_date, event.start_date, "a one-day event of the series")
                moment = (event.start_date, None)
            else:
                local = event.start.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
                moment = (local.date(), local.time())
            if self.in_view(moment[0]):
                result.append(moment)
        return result

    def outlook_moments(self, master_id, zone, all_day=False):
        """(local day, local time) of the Outlook occurrences of the series in the view."""
        result = []
        for item in self.instances(master_id):
            local = datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=UTC).astimezone(
                ZoneInfo(zone))
            if all_day:
                self.assertTrue(item["isAllDay"], item)
                self.assertEqual(local.time(), time(), f"an all-day occurrence starts at local midnight: {item}")
            moment = (local.date(), None if all_day else local.time())
            if self.in_view(moment[0]):
                result.append(moment)
        return sorted(result)

    def assert_same_occurrences(self, recurrence, master_id, expected_days, zone=ZONE, hour=9, all_day=False):
        expected = [(day, None if all_day else time(hour)) for day in expected_days if self.in_view(day)]
        self.assertEqual(self.odoo_moments(recurrence, zone, all_day), expected, "Odoo's occurrences")
        self.assertEqual(self.outlook_moments(master_id, zone, all_day), expected, "Outlook's occurrences")

    def assert_run_ok(self, counts):
        self.assertEqual(self.account.state, "connected", self.account.last_error)
        self.assertFalse(counts["errors"], counts)
        self.assertFalse(self.account.last_error)

    # -- the patterns --------------------------------------------------------------

    def pattern_cases(self, first_day):
        """(name, Graph pattern, Graph range, Odoo values, expected local days) of every pattern and
        range; ``first_day`` is the earliest day a series may start."""
        cases = []
        # every other day, 4 occurrences
        first = first_day
        cases.append(("daily interval 2, numbered", first,
                      {"type": "daily", "interval": 2},
                      {"type": "numbered", "numberOfOccurrences": 4},
                      {"rrule_type": "daily", "interval": 2, "end_type": "count", "count": 4},
                      [first + timedelta(days=2 * k) for k in range(4)]))
        # Monday, Wednesday and Friday until the Friday of the next week
        first = _on_or_after(first_day, 0)
        until = first + timedelta(days=11)
        cases.append(("weekly on three days, end date", first,
                      {"type": "weekly", "daysOfWeek": ["monday", "wednesday", "friday"],
                       "firstDayOfWeek": "sunday"},
                      {"type": "endDate", "endDate": until.isoformat()},
                      {"rrule_type": "weekly", "interval": 1, "mon": True, "tue": False, "wed": True,
                       "thu": False, "fri": True, "sat": False, "sun": False,
                       "end_type": "end_date", "until": until},
                      [first + timedelta(days=offset) for offset in (0, 2, 4, 7, 9, 11)]))
        # the 12th of every month, without end
        first = (first_day + relativedelta(months=1)).replace(day=12)
        cases.append(("monthly by date, no end", first,
                      {"type": "absoluteMonthly", "dayOfMonth": 12},
                      {"type": "noEnd"},
                      {"rrule_type": "monthly", "interval": 1, "month_by": "date", "day": 12,
                       "end_type": "forever"},
                      [first + relativedelta(months=k) for k in range(14)]))
        # the last Friday of every month, 3 occurrences
        month = first_day + relativedelta(months=1)
        first = _last_weekday(month, 4)
        cases.append(("monthly on the last Friday, numbered", first,
                      {"type": "relativeMonthly", "daysOfWeek": ["friday"], "index": "last"},
                      {"type": "numbered", "numberOfOccurrences": 3},
                      {"rrule_type": "monthly", "interval": 1, "month_by": "day", "weekday": "FRI", "byday": "-1",
                       "end_type": "count", "count": 3},
                      [_last_weekday(month + relativedelta(months=k), 4) for k in range(3)]))
        # every year on its start's day: 20 days ago, and next year (both in the window)
        first = self.today - timedelta(days=20)
        if (first.month, first.day) == (2, 29):
            first -= timedelta(days=1)
        until = first + relativedelta(years=1) + timedelta(days=3)
        cases.append(("yearly by date, end date", first,
                      {"type": "absoluteYearly", "month": first.month, "dayOfMonth": first.day},
                      {"type": "endDate", "endDate": until.isoformat()},
                      {"rrule_type": "yearly", "interval": 1, "end_type": "end_date", "until": until},
                      [first, first + relativedelta(years=1)]))
        return cases

    def test_outlook_patterns_become_odoo_recurrences(self):
        cases = self.pattern_cases(self.today + timedelta(days=3))
        masters = {name: self.outlook_series(f"Outlook {name}", first, pattern, range_)
                   for name, first, pattern, range_, _odoo, _days in cases}
        counts = self.sync()
        self.assert_run_ok(counts)
        for name, first, _pattern, _range, odoo_values, days in cases:
            with self.subTest(name):
                master = masters[name]
                row = self.series_row(master["id"])
                self.assertEqual(row.state, "synced", row.last_error)
                self.assertFalse(row.sync_note, "the pattern is held exactly")
                recurrence = row.recurrence_id
                self.assertTrue(recurrence, "the series row is on an Odoo recurrence")
                self.assertTrue(same_zone(recurrence.event_tz, ZONE), recurrence.event_tz)
                self.assertEqual(self.held(recurrence, odoo_values), self.odoo_form(odoo_values))
                self.assertEqual(set(recurrence.calendar_event_ids.mapped("name")), {f"Outlook {name}"})
                self.assert_same_occurrences(recurrence, master["id"], days)
        self.assertEqual(len(self.masters()), len(cases))
        # nothing comes back to Outlook: the pattern Odoo holds is the one Outlook has
        again = self.sync()
        self.assert_run_ok(again)
        self.assertFalse(again["sent"], again)
        for name, *_rest in cases:
            with self.subTest(name):
                current = self.outlook_get(masters[name]["id"])
                self.assertEqual(current["recurrence"], masters[name]["recurrence"])
                self.assertEqual(current["changeKey"], masters[name]["changeKey"], "the master was not touched")
        # the series renamed in Odoo: Outlook gets the name, its pattern and range stay as they are
        for name, *_rest in cases:
            self.rename_in_odoo(self.series_row(masters[name]["id"]).recurrence_id, f"Renamed {name}")
        counts = self.sync()
        self.assert_run_ok(counts)
        for name, _first, _pattern, _range, _odoo, days in cases:
            with self.subTest(f"{name}: renamed in Odoo"):
                current = self.outlook_get(masters[name]["id"])
                self.assertEqual(current["subject"], f"Renamed {name}")
                self.assertEqual(current["recurrence"], masters[name]["recurrence"])
                self.assertEqual(self.cancelled_occurrences(masters[name]["id"]), [])
                self.assert_same_occurrences(self.series_row(masters[name]["id"]).recurrence_id,
                                             masters[name]["id"], days)
        self.assertEqual(len(self.masters()), len(cases))

    def test_odoo_patterns_become_outlook_series(self):
        cases = self.pattern_cases(self.today + timedelta(days=4))
        events = {name: self.odoo_series(f"Odoo {name}", first, odoo_values)
                  for name, first, _pattern, _range, odoo_values, _days in cases}
        counts = self.push()
        self.assert_run_ok(counts)
        self.assertEqual(counts["outlook_created"], len(cases), f"one series master per Odoo series: {counts}")
        masters = {}
        for name, first, pattern, range_, odoo_values, days in cases:
            with self.subTest(name):
                event = events[name]
                recurrence = event.recurrence_id
                self.assertEqual(self.held(recurrence, odoo_values), self.odoo_form(odoo_values),
                                 "Odoo took the recurrence as given")
                row = self.series_row_of(event)
                self.assertEqual(row.state, "synced", row.last_error)
                master = masters[name] = self.outlook_get(row.graph_id)
                self.assertEqual(master["type"], "seriesMaster")
                self.assertEqual(master["subject"], f"Odoo {name}")
                sent_pattern = master["recurrence"]["pattern"]
                expected = {key: value for key, value in {"interval": 1, **pattern}.items()
                            if key != "firstDayOfWeek"}
                self.assertEqual({key: sent_pattern[key] for key in expected}, expected)
                sent_range = master["recurrence"]["range"]
                self.assertEqual({key: sent_range[key] for key in range_}, range_)
                self.assertEqual(sent_range["startDate"], first.isoformat())
                self.assertTrue(same_zone(sent_range["recurrenceTimeZone"], ZONE) or
                                sent_range["recurrenceTimeZone"] == windows_name(ZONE), sent_range)
                self.assert_same_occurrences(recurrence, master["id"], days)
        # a pull afterwards changes nothing on either side
        again = self.sync()
        self.assert_run_ok(again)
        self.assertFalse(again["sent"] or again["odoo_updated"] or again["odoo_created"], again)
        self.assertEqual(len(self.masters()), len(cases))
        for name, *_rest, days in cases:
            with self.subTest(name):
                self.assertEqual(self.outlook_get(masters[name]["id"])["changeKey"], masters[name]["changeKey"])
                self.assertEqual(len(events[name].recurrence_id.calendar_event_ids.filtered("active")),
                                 720 if len(days) > 10 else len(days))

    # -- what Odoo cannot hold exactly ------------------------------------------------

    def inexact_cases(self):
        """Patterns Odoo has no form for: (name, first, Graph pattern, Graph range, Outlook's local days)."""
        # the second Monday of a month, every year: began a few weeks ago, so that next year's
        # (a day or a week off Odoo's "same date next year") is in the window
        month = self.today
        while _nth_weekday(month, 0, 2) > self.today - timedelta(days=15):
            month -= relativedelta(months=1)
        first = _nth_weekday(month, 0, 2)
        second = _nth_weekday(first + relativedelta(years=1), 0, 2)
        self.assertTrue(self.in_view(second) and second != first + relativedelta(years=1))
        yearly = ("relativeYearly: second Monday of a month", first,
                  {"type": "relativeYearly", "month": first.month, "daysOfWeek": ["monday"], "index": "second"},
                  {"type": "numbered", "numberOfOccurrences": 2},
                  [first, second])
        # the first working day of the month, starting in a month that begins on Tuesday..Friday
        month = (self.today + relativedelta(months=1)).replace(day=1)
        while month.weekday() not in (1, 2, 3, 4):
            month += relativedelta(months=1)
        days = [min(_on_or_after(start, weekday) for weekday in range(5))
                for start in (month + relativedelta(months=k) for k in range(3))]
        monthly = ("relativeMonthly: first working day", days[0],
                   {"type": "relativeMonthly", "daysOfWeek": GRAPH_DAYS[:5], "index": "first"},
                   {"type": "numbered", "numberOfOccurrences": 3},
                   days)
        # the 31st of every month: Outlook takes the last day of the shorter months, Odoo skips them
        month = self.today + relativedelta(months=1)
        while (month.replace(day=1) + relativedelta(months=1) - timedelta(days=1)).day != 31:
            month += relativedelta(months=1)
        first = month.replace(day=31)
        last_days = [(first + relativedelta(months=k)) for k in range(3)]  # relativedelta clamps: Outlook's days
        day31 = ("absoluteMonthly: day 31", first,
                 {"type": "absoluteMonthly", "dayOfMonth": 31},
                 {"type": "numbered", "numberOfOccurrences": 3},
                 last_days)
        return [yearly, monthly, day31]

    def test_outlook_patterns_odoo_cannot_hold(self):
        cases = self.inexact_cases()
        masters = {name: self.outlook_series(f"Outlook {name}", first, pattern, range_)
                   for name, first, pattern, range_, _days in cases}
        counts = self.sync()
        self.assert_run_ok(counts)
        for name, first, _pattern, _range, days in cases:
            master = masters[name]
            row = self.series_row(master["id"])
            with self.subTest(f"{name}: kept in Odoo"):
                self.assertEqual(row.state, "synced", row.last_error)
                recurrence = row.recurrence_id
                self.assertTrue(recurrence, "the series is never dropped: Odoo has a recurrence for it")
                events = recurrence.calendar_event_ids.filtered("active").sorted("start")
                self.assertTrue(events, "and its events")
                self.assertEqual(set(events.mapped("name")), {f"Outlook {name}"})
                self.assertEqual(events[0].start.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)),
                                 datetime.combine(first, time(9), ZoneInfo(ZONE)),
                                 "the series starts where Outlook starts it")
            with self.subTest(f"{name}: Outlook left as it was"):
                current = self.outlook_get(master["id"])
                self.assertEqual(current["recurrence"], master["recurrence"])
                self.assertEqual(self.cancelled_occurrences(master["id"]), [], "no Outlook occurrence cancelled")
                self.assertEqual(self.outlook_moments(master["id"], ZONE),
                                 [(day, time(9)) for day in days if self.in_view(day)])
            with self.subTest(f"{name}: the user is told"):
                self.assertTrue(row.sync_note, "the series' status row says Odoo does not hold the pattern exactly")
        # an edit of the whole series in Odoo does not rewrite Outlook's pattern with Odoo's approximation
        for name, *_rest in cases:
            recurrence = self.series_row(masters[name]["id"]).recurrence_id
            if recurrence:
                self.rename_in_odoo(recurrence, f"Renamed {name}")
        counts = self.sync()
        self.assert_run_ok(counts)
        for name, *_rest in cases:
            with self.subTest(f"{name}: renamed in Odoo"):
                current = self.outlook_get(masters[name]["id"])
                self.assertEqual(current["subject"], f"Renamed {name}")
                self.assertEqual(current["recurrence"], masters[name]["recurrence"],
                                 "Outlook keeps its own pattern")
        self.assertEqual(len(self.masters()), len(cases))

    # -- all-day series across zones ---------------------------------------------------

    def test_all_day_series_from_outlook_land_on_local_days(self):
        first = _on_or_after(self.today + timedelta(days=3), 0)
        days = [first + timedelta(days=offset) for offset in (0, 3, 7, 10)]  # Mon, Thu, Mon, Thu
        masters = {zone: self.outlook_series(f"All day in {zone}", first,
                                             {"type": "weekly", "daysOfWeek": ["monday", "thursday"]},
                                             {"type": "numbered", "numberOfOccurrences": 4},
                                             zone=zone, all_day=True)
                   for zone in ALL_DAY_ZONES}
        counts = self.sync()
        self.assert_run_ok(counts)
        for zone in ALL_DAY_ZONES:
            with self.subTest(zone):
                recurrence = self.series_row(masters[zone]["id"]).recurrence_id
                self.assertTrue(recurrence)
                self.assertEqual((recurrence.rrule_type, recurrence.mon, recurrence.thu, recurrence.count),
                                 ("weekly", True, True, 4))
                self.assertTrue(same_zone(recurrence.event_tz, zone), recurrence.event_tz)
                self.assertEqual(sorted(recurrence.calendar_event_ids.mapped("start_date")), days)
                self.assert_same_occurrences(recurrence, masters[zone]["id"], days, zone=zone, all_day=True)
        again = self.sync()
        self.assertFalse(again["sent"], again)

    def test_all_day_series_from_odoo_land_on_local_days(self):
        first = _on_or_after(self.today + timedelta(days=4), 0)
        days = [first + timedelta(days=offset) for offset in (0, 3, 7, 10)]
        events = {zone: self.odoo_series(f"All day in {zone}", first, {
            "rrule_type": "weekly", "interval": 1, "mon": True, "thu": True, "end_type": "count", "count": 4,
        }, zone=zone, all_day=True) for zone in ALL_DAY_ZONES}
        counts = self.push()
        self.assert_run_ok(counts)
        for zone in ALL_DAY_ZONES:
            with self.subTest(zone):
                event = events[zone]
                self.assertEqual(sorted(event.recurrence_id.calendar_event_ids.mapped("start_date")), days)
                master = self.outlook_get(self.series_row_of(event).graph_id)
                self.assertTrue(master["isAllDay"])
                self.assertEqual(windows_name(zone), master["originalStartTimeZone"])
                local = datetime.fromisoformat(master["start"]["dateTime"][:19]).replace(tzinfo=UTC).astimezone(
                    ZoneInfo(zone))
                self.assertEqual((local.date(), local.time()), (first, time()), "local midnight of its first day")
                self.assertEqual(master["recurrence"]["pattern"]["daysOfWeek"], ["monday", "thursday"])
                self.assertEqual(master["recurrence"]["range"]["startDate"], first.isoformat())
                self.assert_same_occurrences(event.recurrence_id, master["id"], days, zone=zone, all_day=True)
        again = self.sync()
        self.assert_run_ok(again)
        self.assertFalse(again["sent"] or again["odoo_updated"], again)
        self.assertEqual(len(self.masters()), len(ALL_DAY_ZONES))

    # -- a long series ---------------------------------------------------------------

    def test_thousand_occurrences_from_outlook(self):
        first = self.today + timedelta(days=1)
        master = self.outlook_series("Every day", first, {"type": "daily"},
                                     {"type": "numbered", "numberOfOccurrences": 1000})
        counts = self.sync()
        self.assert_run_ok(counts)
        row = self.series_row(master["id"])
        self.assertEqual(row.state, "synced", row.last_error)
        recurrence = row.recurrence_id
        # Odoo makes at most 720 events of a recurrence (calendar's MAX_RECURRENT_EVENT) and writes that
        # cap back into the recurrence: it says 720 repetitions, not 1,000.
        self.assertEqual((recurrence.rrule_type, recurrence.end_type, recurrence.count), ("daily", "count", 720))
        events = recurrence.calendar_event_ids.filtered("active").sorted("start")
        self.assertEqual(len(events), 720)
        self.assertEqual(self.odoo_moments(recurrence, ZONE)[0], (first, time(9)))
        self.assertEqual(events[-1].start.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)).date(),
                         first + timedelta(days=719))
        # the window (a year ahead) sees the same occurrences on both sides
        self.assert_same_occurrences(recurrence, master["id"], [first + timedelta(days=k) for k in range(1000)])
        current = self.outlook_get(master["id"])
        self.assertEqual(current["recurrence"], master["recurrence"], "Outlook's series keeps its 1,000 occurrences")
        self.assertEqual(self.cancelled_occurrences(master["id"]), [])
        self.assertTrue(row.sync_note, "the series' status row says Odoo holds only part of the series")
        again = self.sync()
        self.assertFalse(again["sent"], again)

    def test_thousand_occurrences_survive_an_odoo_edit(self):
        """Renaming the series in Odoo sends the name; Outlook's 1,000 occurrences stay 1,000."""
        first = self.today + timedelta(days=1)
        master = self.outlook_series("Every day", first, {"type": "daily"},
                                     {"type": "numbered", "numberOfOccurrences": 1000})
        self.sync()
        self.rename_in_odoo(self.series_row(master["id"]).recurrence_id, "Every day (renamed)")
        counts = self.sync()
        self.assert_run_ok(counts)
        current = self.outlook_get(master["id"])
        self.assertEqual(current["subject"], "Every day (renamed)")
        self.assertEqual(current["recurrence"], master["recurrence"], "Outlook's series keeps its 1,000 occurrences")

    def test_thousand_occurrences_beyond_odoo_cap_are_not_cancelled(self):
        """A 1,000-day series that began 400 days ago: Odoo's 720 events end 320 days from now, Outlook's
        occurrences go on; those Odoo never made are not occurrences Odoo deleted."""
        first = self.today - timedelta(days=400)
        master = self.outlook_series("Every day, for long", first, {"type": "daily"},
                                     {"type": "numbered", "numberOfOccurrences": 1000})
        counts = self.sync()
        self.assert_run_ok(counts)
        recurrence = self.series_row(master["id"]).recurrence_id
        self.assertTrue(recurrence)
        self.assertEqual(self.cancelled_occurrences(master["id"]), [],
                         "Outlook occurrences past Odoo's 720 events were cancelled")
        self.assertEqual(self.outlook_get(master["id"])["recurrence"], master["recurrence"])
        outlook_days = [day for day, _time in self.outlook_moments(master["id"], ZONE)]
        self.assertEqual(outlook_days[-1], self.view[1], "Outlook's series goes on through the window")

    # -- a run killed in the middle of a series ------------------------------------------

    def assert_one_series(self, name, count):
        masters = [master for master in self.masters() if master["subject"] == name]
        self.assertEqual(len(masters), 1, "exactly one Outlook series master")
        events = self.env["calendar.event"].sudo().search([("name", "=", name)])
        self.assertEqual(len(events.recurrence_id), 1, "exactly one Odoo recurrence")
        self.assertEqual(len(events), count, "and its events, once")
        self.assertEqual(len(self.rows().filtered(lambda row: row.kind == "series")), 1)
        self.assertEqual(len(self.instances(masters[0]["id"])), count)
        return masters[0], events.recurrence_id

    def test_push_killed_after_outlook_created_the_series(self):
        first = _on_or_after(self.today + timedelta(days=3), 1)
        for method in ("_mcs_settle", "_mcs_push_series_occurrences"):
            with self.subTest(method):
                name = f"Killed push at {method}"
                self.odoo_series(name, first, {"rrule_type": "weekly", "interval": 1, "tue": True,
                                               "end_type": "count", "count": 3})
                self.assertTrue(self.run_killed(self.killed_at_call(method, 1), pull=False))
                self.assertEqual(len([m for m in self.masters() if m["subject"] == name]), 1,
                                 "Outlook received the series before the worker died")
                counts = self.sync()
                self.assert_run_ok(counts)
                self.assert_one_series(name, 3)
                again = self.sync()
                self.assertFalse(again["sent"], again)
                self.assert_one_series(name, 3)
                # the next subtest starts clean
                for master in self.masters():
                    self.outlook_delete(master["id"])
                self.sync()

    def test_pull_killed_in_the_middle_of_a_series(self):
        first = _on_or_after(self.today + timedelta(days=3), 2)
        master = self.outlook_series("Killed pull", first, {"type": "weekly", "daysOfWeek": ["wednesday"]},
                                     {"type": "numbered", "numberOfOccurrences": 4})
        self.assertTrue(self.run_killed(self.killed_at_call("_mcs_pull_occurrences", 1)))
        counts = self.sync()
        self.assert_run_ok(counts)
        _master, recurrence = self.assert_one_series("Killed pull", 4)
        # an occurrence changed in Outlook, and the run that brings it dies while binding it
        occurrence = self.instances(master["id"])[1]
        self.outlook_update(occurrence["id"], {"subject": "Killed pull (changed)"})
        self.assertTrue(self.run_killed(self.killed_at_call("_mcs_bind_exception", 1)))
        counts = self.sync()
        self.assert_run_ok(counts)
        events = recurrence.calendar_event_ids.filtered("active")
        self.assertEqual(len(events), 4, "the changed occurrence replaced its Odoo event, no second copy")
        self.assertEqual(sorted(events.mapped("name")), ["Killed pull"] * 3 + ["Killed pull (changed)"])
        self.assertEqual(sorted(self.rows().mapped("kind")), ["occurrence", "series"])
        self.assertEqual(len(self.masters()), 1)

    # -- both sides edit different occurrences ------------------------------------------

    def assert_concurrent_edits_survive(self, recurrence, master_id):
        events = recurrence.calendar_event_ids.filtered("active").sorted("start")
        occurrences = self.instances(master_id)
        self.assertEqual(len(events), 4)
        self.assertEqual(len(occurrences), 4)
        self.assertEqual([event.name for event in events], ["Series", "Edited in Odoo", "Edited in Outlook", "Series"])
        self.assertEqual([item["subject"] for item in occurrences],
                         ["Series", "Edited in Odoo", "Edited in Outlook", "Series"])
        self.assertEqual([item["type"] for item in occurrences], ["occurrence", "exception", "exception", "occurrence"])
        self.assertEqual([(event.start.replace(tzinfo=UTC)) for event in events],
                         [datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=UTC)
                          for item in occurrences])
        self.assertEqual(len(self.masters()), 1)

    def concurrent_edits(self, recurrence, master_id):
        events = recurrence.calendar_event_ids.sorted("start")
        occurrences = self.instances(master_id)
        events[1].with_user(self.alice).write({"name": "Edited in Odoo", "recurrence_update": "self_only"})
        self.outlook_update(occurrences[2]["id"], {"subject": "Edited in Outlook"})
        self.clear_mail()
        counts = self.sync()
        self.assert_run_ok(counts)
        self.assertFalse(counts["conflicts"], counts)
        self.assert_concurrent_edits_survive(recurrence, master_id)
        again = self.sync()
        self.assertFalse(again["sent"] or again["odoo_updated"], again)
        self.assert_concurrent_edits_survive(recurrence, master_id)
        self.assertEqual(self.sent_mail(), [])

    def test_concurrent_occurrence_edits_of_an_outlook_series(self):
        first = _on_or_after(self.today + timedelta(days=3), 3)
        master = self.outlook_series("Series", first, {"type": "weekly", "daysOfWeek": ["thursday"]},
                                     {"type": "numbered", "numberOfOccurrences": 4})
        self.sync()
        self.concurrent_edits(self.series_row(master["id"]).recurrence_id, master["id"])

    def test_concurrent_occurrence_edits_of_an_odoo_series(self):
        first = _on_or_after(self.today + timedelta(days=3), 3)
        event = self.odoo_series("Series", first, {"rrule_type": "weekly", "interval": 1, "thu": True,
                                                   "end_type": "count", "count": 4})
        self.push()
        self.concurrent_edits(event.recurrence_id, self.series_row_of(event).graph_id)



    def test_outlook_series_starting_off_its_pattern(self):
        """A master whose start is not one of its dates (Graph accepts it; the first occurrence is the
        first date of the pattern after it): Odoo's recurrence is the series', once."""
        monday = _on_or_after(self.today + timedelta(days=3), 0)
        master = self.outlook_series("Off pattern", monday - timedelta(days=1),  # a Sunday
                                     {"type": "weekly", "daysOfWeek": ["monday"]},
                                     {"type": "numbered", "numberOfOccurrences": 3})
        days = [monday + timedelta(weeks=k) for k in range(3)]
        self.assertEqual([day for day, _time in self.outlook_moments(master["id"], ZONE)], days)
        counts = self.sync()
        self.assert_run_ok(counts)
        row = self.series_row(master["id"])
        self.assertTrue(row.recurrence_id, "the series row is on the Odoo recurrence")
        self.assert_same_occurrences(row.recurrence_id, master["id"], days)
        self.rename_in_odoo(row.recurrence_id, "Off pattern (renamed)")
        counts = self.sync()
        self.assert_run_ok(counts)
        self.assertEqual([master["subject"] for master in self.masters()], ["Off pattern (renamed)"],
                         "one Outlook series, renamed")
