# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recurring series both ways against the sandbox: one Outlook series master per Odoo
recurrence and back, changed and cancelled occurrences both ways, whole-series edits
and deletions, local times across DST, one status row per series and per changed
occurrence, and no e-mail."""

from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from outlook_sync.timezones import same_zone

from odoo.tests import tagged

from .sync_common import SyncCase

BRUSSELS = ZoneInfo("Europe/Brussels")


def _monday_after(day):
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


@tagged("post_install", "-at_install", "mcs_sync", "mcs_recurring")
class TestSyncRecurring(SyncCase):

    def setUp(self):
        super().setUp()
        # a series over the last Sunday of March: Brussels leaves UTC+1 for UTC+2
        self.first_monday = _monday_after(date(date.today().year + (date.today().month > 2), 3, 1))
        if (self.first_monday - date.today()).days > 300:
            self.first_monday = _monday_after(date.today())

    # -- helpers -----------------------------------------------------------------

    def brussels(self, day, hour=9):
        return datetime.combine(day, time(hour), BRUSSELS)

    def outlook_series(self, subject="Weekly review", count=8, days=("monday",), first=None, **extra):
        first = first or self.first_monday
        with self.outlook() as client:
            return client.create_event({
                "subject": subject,
                "start": {"dateTime": f"{first}T09:00:00", "timeZone": "Romance Standard Time"},
                "end": {"dateTime": f"{first}T10:00:00", "timeZone": "Romance Standard Time"},
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": list(days)},
                    "range": {"type": "numbered", "startDate": first.isoformat(), "numberOfOccurrences": count,
                              "recurrenceTimeZone": "Romance Standard Time"}},
                **extra})

    def instances(self, master_id, first=None, last=None):
        first = first or datetime.now(timezone.utc) - timedelta(days=30)
        last = last or datetime.now(timezone.utc) + timedelta(days=400)
        query = urlencode({"startDateTime": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "endDateTime": last.strftime("%Y-%m-%dT%H:%M:%SZ"), "$top": 1000})
        with self.outlook() as client:
            return list(client.iter_items(f"/me/events/{master_id}/instances?{query}"))

    def masters(self):
        return [event for event in self.outlook_events() if event.get("type") == "seriesMaster"]

    def rows(self):
        return self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", self.account.id)])

    def series_row(self, graph_id):
        return self.rows().filtered(lambda row: row.graph_id == graph_id)

    def local_starts(self, events):
        return [event.start.replace(tzinfo=timezone.utc).astimezone(BRUSSELS) for event in events.sorted("start")]

    # -- Outlook -> Odoo -----------------------------------------------------------

    def test_outlook_series_becomes_one_odoo_recurrence(self):
        master = self.outlook_series(count=8)
        self.clear_mail()
        counts = self.sync()
        row = self.series_row(master["id"])
        self.assertEqual(row.kind, "series")
        recurrence = row.recurrence_id
        self.assertTrue(recurrence, "the series row is on an Odoo recurrence")
        events = recurrence.calendar_event_ids
        self.assertEqual(len(events), 8)
        self.assertEqual(set(events.mapped("name")), {"Weekly review"})
        self.assertTrue(same_zone(recurrence.event_tz, "Europe/Brussels"), recurrence.event_tz)
        self.assertEqual(recurrence.rrule_type, "weekly")
        # 09:00 in Brussels every week, on both sides of the DST change
        self.assertEqual({(moment.weekday(), moment.hour) for moment in self.local_starts(events)}, {(0, 9)})
        self.assertEqual(len(self.rows()), 1, f"one status row for the whole series: {self.rows().mapped('kind')}")
        self.assertEqual(self.sent_mail(), [])
        self.assertFalse(counts["graph batch"] > 1, f"one $batch read the series master: {counts}")
        # nothing comes back: the next run is idle
        again = self.sync()
        self.assertFalse(again["received"] or again["sent"], again)
        self.assertEqual(len(recurrence.calendar_event_ids), 8)

    def test_outlook_occurrence_changed_and_cancelled(self):
        master = self.outlook_series(count=6)
        self.sync()
        recurrence = self.series_row(master["id"]).recurrence_id
        occurrences = self.instances(master["id"])
        self.assertEqual(len(occurrences), 6)
        second, third = occurrences[1], occurrences[2]
        moved = self.brussels(self.first_monday + timedelta(days=8), 14)  # Tuesday 14:00 of week 2
        self.outlook_update(second["id"], {
            "subject": "Review (moved)",
            "start": {"dateTime": moved.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "Romance Standard Time"},
            "end": {"dateTime": (moved + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "Romance Standard Time"}})
        self.outlook_delete(third["id"])
        self.clear_mail()
        self.sync()
        events = recurrence.calendar_event_ids.sorted("start")
        self.assertEqual(len(events), 5, "the cancelled occurrence left Odoo")
        changed = events.filtered(lambda event: event.name == "Review (moved)")
        self.assertEqual(len(changed), 1)
        self.assertFalse(changed.follow_recurrence, "a changed occurrence no longer follows its series")
        self.assertEqual(self.local_starts(changed)[0], moved)
        cancelled_day = self.first_monday + timedelta(days=14)
        self.assertNotIn(cancelled_day, [moment.date() for moment in self.local_starts(events)])
        kinds = sorted(self.rows().mapped("kind"))
        self.assertEqual(kinds, ["occurrence", "series"], "one row for the series, one for the changed occurrence")
        self.assertEqual(self.sent_mail(), [])
        # edited again in Outlook: the occurrence's own row carries it
        self.outlook_update(second["id"], {"location": {"displayName": "Room 2"}})
        self.sync()
        self.assertEqual(changed.location, "Room 2")
        # the whole series renamed in Outlook: the occurrences that follow it follow, the changed one keeps its name
        self.outlook_update(master["id"], {"subject": "Weekly review (new)"})
        self.sync()
        events = recurrence.calendar_event_ids.filtered("active")
        self.assertEqual(sorted(set(events.mapped("name"))), ["Review (moved)", "Weekly review (new)"])

    def test_outlook_series_deleted(self):
        master = self.outlook_series(count=4)
        self.sync()
        recurrence = self.series_row(master["id"]).recurrence_id
        events = recurrence.calendar_event_ids
        self.outlook_delete(master["id"])
        self.sync()
        self.assertFalse(events.exists().filtered("active"), "the series' events left the calendar (archived)")
        self.assertFalse(self.rows(), "no row is left for a series gone from both sides")

    # -- Odoo -> Outlook -----------------------------------------------------------

    def odoo_series(self, name="Stand-up", count=6, **values):
        start = self.brussels(self.first_monday).astimezone(timezone.utc).replace(tzinfo=None)
        return self.Event.create({
            "name": name, "start": start, "stop": start + timedelta(minutes=30), "user_id": self.alice.id,
            "recurrency": True, "rrule_type": "weekly", "interval": 1, "mon": True, "wed": True,
            "end_type": "count", "count": count, "event_tz": "Europe/Brussels", **values})

    def test_odoo_series_becomes_one_outlook_series(self):
        event = self.odoo_series(count=6)
        counts = self.push()
        [master] = self.masters()
        self.assertEqual(master["subject"], "Stand-up")
        pattern = master["recurrence"]["pattern"]
        self.assertEqual((pattern["type"], sorted(pattern["daysOfWeek"])), ("weekly", ["monday", "wednesday"]))
        self.assertEqual(master["recurrence"]["range"]["numberOfOccurrences"], 6)
        self.assertEqual(counts["outlook_created"], 1, f"one series master, not six events: {counts}")
        occurrences = self.instances(master["id"])
        self.assertEqual(len(occurrences), 6)
        odoo_days = [moment.date() for moment in self.local_starts(event.recurrence_id.calendar_event_ids)]
        outlook_days = [datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                        .astimezone(BRUSSELS) for item in occurrences]
        self.assertEqual([moment.date() for moment in outlook_days], odoo_days)
        self.assertEqual({moment.hour for moment in outlook_days}, {9}, "09:00 in Brussels on both sides of DST")
        self.assertEqual(len(self.rows()), 1)
        # the next pull sees our own series come back: nothing to do, nothing duplicated
        self.sync()
        self.assertEqual(len(self.masters()), 1)
        self.assertEqual(len(self.env["calendar.event"].sudo().search([("name", "=", "Stand-up")])), 6)

    def test_odoo_series_edits(self):
        event = self.odoo_series(count=6)
        self.push()
        [master] = self.masters()
        recurrence = event.recurrence_id
        events = recurrence.calendar_event_ids.sorted("start")
        # all events: the master is patched, still one series
        events[0].write({"name": "Daily sync", "recurrence_update": "all_events"})
        self.push()
        [master] = self.masters()
        self.assertEqual(master["subject"], "Daily sync")
        self.assertEqual({item["subject"] for item in self.instances(master["id"])}, {"Daily sync"})
        # this event: an exception in Outlook
        events[1].write({"name": "Sync (moved)", "start": events[1].start + timedelta(hours=2),
                         "stop": events[1].stop + timedelta(hours=2), "recurrence_update": "self_only"})
        # one occurrence deleted: cancelled in Outlook
        gone_day = self.local_starts(events[2])[0].date()
        events[2].unlink()
        self.clear_mail()
        self.push()
        occurrences = self.instances(master["id"])
        self.assertEqual(len(occurrences), 5, "the deleted occurrence was cancelled in Outlook")
        starts = {datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                  .astimezone(BRUSSELS).date() for item in occurrences}
        self.assertNotIn(gone_day, starts)
        [exception] = [item for item in occurrences if item["type"] == "exception"]
        self.assertEqual(exception["subject"], "Sync (moved)")
        self.assertEqual(datetime.fromisoformat(exception["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc),
                         events[1].start.replace(tzinfo=timezone.utc))
        self.assertEqual(len(self.masters()), 1)
        self.assertEqual(self.sent_mail(), [])
        # a pull afterwards changes nothing in Odoo
        self.sync()
        self.assertEqual(len(recurrence.calendar_event_ids.filtered("active")), 5)
        self.assertEqual(events[1].name, "Sync (moved)")

    def test_odoo_series_deleted(self):
        event = self.odoo_series(count=4)
        self.push()
        self.assertEqual(len(self.masters()), 1)
        event.action_mass_deletion("all_events")
        self.push()
        self.assertEqual(self.masters(), [], "the series left Outlook")
        self.assertFalse(self.rows().filtered(lambda row: row.state != "synced" or row.graph_id))
