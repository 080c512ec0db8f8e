# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recurring series both ways against the sandbox: one Outlook series master per Odoo
recurrence and back, changed and cancelled occurrences both ways, whole-series edits
and deletions, local times across DST, one status row per series and per changed
occurrence, and no e-mail."""

from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from unittest.mock import patch
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from outlook_sync.mapping import MappingError
from outlook_sync.reconcile import Reconciler

from outlook_sync.timezones import same_zone

from odoo.tests import tagged

from ..models import sync_series
from ..models.microsoft_calendar_binding import BindingStoreAdapter
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

    def outlook_daily_series(self, subject, first):
        """A daily series without end at 08:00 UTC from ``first``."""
        with self.outlook() as client:
            return client.create_event({
                "subject": subject, "start": {"dateTime": f"{first}T08:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{first}T08:15:00", "timeZone": "UTC"},
                "recurrence": {"pattern": {"type": "daily", "interval": 1},
                               "range": {"type": "noEnd", "startDate": first.isoformat(),
                                         "recurrenceTimeZone": "UTC"}}})

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

    def test_odoo_series_archived_then_edited_in_outlook_comes_back_as_the_same_recurrence(self):
        """An Outlook edit wins over archiving the whole series in Odoo: its recurrence and events are
        unarchived with that edit, never copied into a new recurrence (a duplicate series the day the
        archived one is unarchived), and nothing is written back to Outlook."""
        event = self.odoo_series(count=4)
        self.push()
        [master] = self.masters()
        recurrence = event.recurrence_id
        events = recurrence.calendar_event_ids
        event.action_mass_archive("all_events")
        self.assertFalse(events.filtered("active"))
        self.outlook_update(master["id"], {"location": {"displayName": "Room 9"}})
        self.control("DELETE", "/stats")
        counts = self.sync()
        self.assertEqual((counts["odoo_created"], counts["sent"]), (0, 0), counts)
        self.assertFalse([name for name in self.control("GET", "/stats")["by_endpoint"] if name.startswith("PATCH")])
        Event = self.env["calendar.event"].sudo().with_context(active_test=False)
        self.assertEqual(Event.search([("name", "like", "Stand-up")]), events, "the same events, no copy")
        self.assertEqual(set(events.mapped("active")), {True})
        self.assertEqual(set(events.mapped("location")), {"Room 9"})
        self.assertEqual(self.env["calendar.recurrence"].sudo().search_count([]), 1)
        self.assertEqual(self.rows().filtered(lambda row: row.kind == "series").recurrence_id, recurrence)
        self.sync()
        self.assertEqual(len(self.masters()), 1)
        self.assertEqual(len(self.instances(master["id"])), 4)

    def test_odoo_this_and_following(self):
        event = self.odoo_series(count=6)
        self.push()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        split_day = self.local_starts(events[3])[0].date()
        events[3].write({"name": "Stand-up (new time)", "start": events[3].start + timedelta(hours=1),
                         "stop": events[3].stop + timedelta(hours=1), "recurrence_update": "future_events"})
        self.clear_mail()
        self.push()
        masters = sorted(self.masters(), key=lambda master: master["subject"])
        self.assertEqual([master["subject"] for master in masters], ["Stand-up", "Stand-up (new time)"])
        old, new = masters
        self.assertEqual(old["recurrence"]["range"]["type"], "endDate")
        self.assertLess(date.fromisoformat(old["recurrence"]["range"]["endDate"]), split_day)
        old_days = [datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                    .astimezone(BRUSSELS) for item in self.instances(old["id"])]
        new_days = [datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                    .astimezone(BRUSSELS) for item in self.instances(new["id"])]
        self.assertEqual(len(old_days), 3)
        self.assertTrue(all(moment.date() < split_day for moment in old_days))
        self.assertEqual(new_days[0].date(), split_day)
        self.assertEqual({moment.hour for moment in new_days}, {10})
        odoo_active = self.env["calendar.event"].sudo().search([("name", "like", "Stand-up")])
        self.assertEqual(len(odoo_active), len(old_days) + len(new_days), "the same occurrences on both sides")
        self.assertEqual(len(self.rows().filtered(lambda row: row.kind == "series")), 2)
        self.assertEqual(self.sent_mail(), [])

    def test_odoo_single_made_recurring_and_back(self):
        event = self.make_event("Planning")
        self.push()
        [single] = [item for item in self.outlook_events() if item["subject"] == "Planning"]
        event.write({"recurrency": True, "rrule_type": "daily", "interval": 1, "end_type": "count", "count": 3,
                     "event_tz": "Europe/Brussels"})
        self.push()
        [master] = self.masters()
        self.assertEqual(master["id"], single["id"], "the Outlook event became the series (no delete, no new event)")
        self.assertEqual(len(self.instances(master["id"])), 3)
        self.assertEqual(len(self.rows()), 1)
        # and back: the first event stays, as a single event, and so does the Outlook event
        event.write({"recurrency": False, "recurrence_update": "all_events"})
        self.push()
        [stored] = [item for item in self.outlook_events() if item["subject"] == "Planning"]
        self.assertEqual((stored["id"], stored["type"]), (single["id"], "singleInstance"))
        row = self.rows()
        self.assertEqual((len(row), row.kind, row.event_id), (1, "event", event))
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Planning")]), 1)

    def test_outlook_single_made_recurring_and_back(self):
        created = self.outlook_create("Coaching", start=self.brussels(self.first_monday).astimezone(timezone.utc))
        self.sync()
        event = self.rows().event_id
        self.assertTrue(event)
        self.outlook_update(created["id"], {"recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "numbered", "startDate": self.first_monday.isoformat(), "numberOfOccurrences": 4,
                      "recurrenceTimeZone": "Romance Standard Time"}}})
        self.sync()
        row = self.rows()
        self.assertEqual((len(row), row.kind, row.graph_id), (1, "series", created["id"]))
        self.assertEqual(row.recurrence_id, event.recurrence_id)
        self.assertEqual(len(event.recurrence_id.calendar_event_ids), 4)
        self.outlook_update(created["id"], {"recurrence": None})
        self.sync()
        row = self.rows()
        self.assertEqual((len(row), row.kind), (1, "event"))
        self.assertFalse(row.event_id.recurrence_id)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Coaching")]), 1)

    def test_outlook_series_moved_keeps_local_time(self):
        master = self.outlook_series(count=6)
        self.sync()
        recurrence = self.series_row(master["id"]).recurrence_id
        start = self.brussels(self.first_monday, 11)
        self.outlook_update(master["id"], {
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "Romance Standard Time"},
            "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "Romance Standard Time"}})
        self.sync()
        row = self.series_row(master["id"])
        events = row.recurrence_id.calendar_event_ids.filtered("active")
        self.assertEqual(len(events), 6)
        self.assertEqual({(moment.weekday(), moment.hour) for moment in self.local_starts(events)}, {(0, 11)})
        self.assertFalse(recurrence.exists() and recurrence != row.recurrence_id and recurrence.calendar_event_ids
                         .filtered("active"), "the old recurrence's events are not left behind")
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Weekly review")]), 6)
        again = self.sync()
        self.assertFalse(again["sent"], f"nothing echoes back: {again}")

    def test_an_unreadable_series_is_skipped_visibly(self):
        self.outlook_series(subject="Odd pattern", count=3)
        real = sync_series.event_from_graph

        def odd(payload, **kwargs):
            if payload.get("subject") == "Odd pattern":
                raise MappingError("unknown recurrence pattern type 'hourly'")
            return real(payload, **kwargs)

        with patch.object(sync_series, "event_from_graph", odd), \
                self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            counts = self.sync()
        row = self.rows()
        self.assertEqual((row.state, row.skip_reason), ("skipped", "unreadable"))
        self.assertIn("hourly", row.last_error)
        self.assertEqual(row.outlook_subject, "Odd pattern")
        self.assertEqual(counts["skipped"], 1)
        self.assertEqual(self.account.state, "connected")
        # readable again (after an edit in Outlook): imported
        self.outlook_update(row.graph_id, {"location": {"displayName": "Room 1"}})
        self.sync()
        row = self.rows()
        self.assertEqual((row.state, row.kind), ("synced", "series"))
        self.assertEqual(len(row.recurrence_id.calendar_event_ids), 3)

    def test_an_occurrence_of_an_unknown_series(self):
        with self.outlook() as client:
            counts = Counter()
            store = BindingStoreAdapter(self.account, include_pending=False)
            self.account._mcs_pull_series(client, Reconciler(store), store, {"AAMkAGnoSuchSeries"}, counts,
                                          self.account._mcs_settings_values())
        self.assertFalse(self.rows(), "a series Outlook no longer has leaves nothing behind")

    # -- meetings: the e-mails a single meeting would send, no more ------------------

    def test_a_recurring_meeting_mails_like_a_single_one(self):
        odoo_mails = self.odoo_mails()
        event = self.odoo_series(name="Team weekly", count=4, partner_ids=[(4, self.bob.partner_id.id)])
        self.push()
        mails = self.sent_mail()
        self.assertEqual([(mail["kind"], mail["to"]) for mail in mails], [("invitation", ["bob@contoso.com"])],
                         "one invitation for the whole series")
        self.clear_mail()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        events[1].unlink()
        self.push()
        self.assertEqual([(mail["kind"], mail["to"]) for mail in self.sent_mail()],
                         [("cancellation", ["bob@contoso.com"])], "one cancellation for the deleted occurrence")
        self.clear_mail()
        self.sync()
        self.assertEqual(self.sent_mail(), [], "a run with nothing to send sends nothing")
        self.assertEqual(self.odoo_mails(), odoo_mails, "Odoo sends no invitation of its own for a synced series")

    def test_first_sync_leaves_existing_recurring_meetings_out(self):
        event = self.Event.with_context(mcs_from_outlook=True).create({
            "name": "Old weekly", "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
            "user_id": self.alice.id, "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)],
            "recurrency": True, "rrule_type": "weekly", "interval": 1,
            self.tomorrow.strftime("%a").lower()[:3]: True, "end_type": "count", "count": 3})
        mine = self.Event.with_context(mcs_from_outlook=True).create({
            "name": "Focus time", "start": self.tomorrow + timedelta(hours=3),
            "stop": self.tomorrow + timedelta(hours=4), "user_id": self.alice.id,
            "recurrency": True, "rrule_type": "daily", "interval": 1, "end_type": "count", "count": 3})
        self.account.write({"last_sync": False})
        self.clear_mail()
        self.sync()
        row = self.rows().filtered(lambda row: row.recurrence_id == event.recurrence_id)
        self.assertEqual((row.kind, row.state, row.skip_reason), ("series", "skipped", "existing_meeting"))
        self.assertEqual([master["subject"] for master in self.masters()], ["Focus time"],
                         "the user's own series is sent, the existing meeting is not")
        self.assertEqual(self.sent_mail(), [], "nobody is e-mailed")
        # a later edit does not send it either
        event.write({"name": "Old weekly (renamed)", "recurrence_update": "all_events"})
        self.sync()
        self.assertEqual(self.sent_mail(), [])
        self.assertEqual(len(self.masters()), 1)
        self.assertTrue(mine.recurrence_id)

    def test_a_long_series_begun_years_ago_has_its_window_in_odoo(self):
        first = date.today() - timedelta(days=3 * 365)
        master = self.outlook_daily_series("Daily log", first)
        self.sync()
        row = self.series_row(master["id"])
        events = row.recurrence_id.calendar_event_ids
        tomorrow = date.today() + timedelta(days=1)
        self.assertIn(tomorrow, [event.start.date() for event in events],
                      "Odoo's 720 events begin in the sync window, not three years ago")
        self.assertGreaterEqual(max(events.mapped("start")).date(), date.today() + timedelta(days=365))
        again = self.sync()
        self.assertFalse(again["sent"] or again["received"], f"Outlook's series is not rewritten: {again}")
        with self.outlook() as client:
            stored = client.get_event(master["id"])
        self.assertEqual(stored["recurrence"]["range"]["startDate"], first.isoformat())
        self.assertEqual(stored["changeKey"], master["changeKey"])

    def test_odoo_series_changed_before_its_first_push(self):
        start = self.brussels(self.first_monday).astimezone(timezone.utc).replace(tzinfo=None)
        event = self.Event.create({
            "name": "Review", "start": start, "stop": start + timedelta(hours=1), "user_id": self.alice.id,
            "recurrency": True, "rrule_type": "weekly", "interval": 1, "mon": True, "end_type": "count",
            "count": 4, "event_tz": "Europe/Brussels"})
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        # before the push cron ran: one occurrence moved to Tuesday 11:00, another renamed
        moved = events[1].start + timedelta(days=1, hours=2)
        events[1].write({"start": moved, "stop": moved + timedelta(hours=1), "recurrence_update": "self_only"})
        events[2].write({"name": "Review (budget)", "recurrence_update": "self_only"})
        self.push()
        [master] = self.masters()
        occurrences = self.instances(master["id"])
        self.assertEqual(len(occurrences), 4, "nothing cancelled: the moved occurrence is found again")
        outlook = sorted((item["start"]["dateTime"][:16], item["subject"]) for item in occurrences)
        odoo = sorted((f"{item.start:%Y-%m-%dT%H:%M}", item.name) for item in events)
        self.assertEqual(outlook, odoo, "the same occurrences at the same times with the same names")
        self.assertEqual(sorted(self.rows().mapped("kind")), ["occurrence", "occurrence", "series"])

    def test_a_series_outlook_cannot_read_now_is_read_again(self):
        master = self.outlook_series(count=3)
        # every try of the run fails (the client retries 503 within the run): the page is not acknowledged
        self.fault(method="GET", path=f"/me/events/{master['id']}", status=503, times=20)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            self.sync()
        self.assertEqual(self.account.state, "error")
        self.assertFalse(self.rows(), "nothing was decided from an unanswered read")
        self.sandbox.world.extra.get("faults", []).clear()
        self.sync()
        row = self.series_row(master["id"])
        self.assertEqual((row.kind, row.state), ("series", "synced"))
        self.assertEqual(len(row.recurrence_id.calendar_event_ids), 3, "nothing lost")

    def test_reset_deletes_a_series_on_both_sides(self):
        event = self.odoo_series(count=4)
        self.push()
        master = self.outlook_series(subject="From Outlook", count=3)
        self.sync()
        self.assertEqual(len(self.masters()), 2)
        wizard = self.env["microsoft.calendar.reset.account"].with_user(self.manager).create(
            {"user_id": self.alice.id, "delete_mode": "both", "sync_mode": "new"})
        wizard.action_confirm()
        self.assertEqual(self.masters(), [], f"both series left Outlook: {wizard.result}")
        self.assertFalse(event.exists(), "the series left Odoo")
        self.assertFalse(self.env["calendar.event"].sudo().search([("name", "in", ("Stand-up", "From Outlook"))]))
        self.assertFalse(self.rows())
        self.assertNotIn(master["id"], [item["id"] for item in self.outlook_events()])
        self.assertEqual(self.sent_mail(), [])

    def test_clean_up_removes_our_series_and_archives_imported_ones(self):
        event = self.odoo_series(count=3)
        self.push()
        self.outlook_series(subject="From Outlook", count=3)
        self.sync()
        message = self.account.with_user(self.alice).action_mcs_cleanup(archive_imported=True)
        self.assertEqual([master["subject"] for master in self.masters()], ["From Outlook"],
                         f"only the series Odoo created left Outlook: {message}")
        self.assertFalse(self.env["calendar.event"].search([("name", "=", "From Outlook")]),
                         "the imported series is archived in Odoo")
        self.assertTrue(event.exists() and event.active, "Odoo's own series stays in Odoo")
        self.assertFalse(self.rows())
        self.assertEqual(self.sent_mail(), [])

    def test_one_occurrence_changed_on_both_sides_keeps_both_changes(self):
        event = self.odoo_series(count=4)
        self.push()
        [master] = self.masters()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        occurrence = self.instances(master["id"])[1]
        # before they meet: Odoo renames the second occurrence, Outlook gives it a room
        events[1].write({"name": "Stand-up (demo)", "recurrence_update": "self_only"})
        self.outlook_update(occurrence["id"], {"location": {"displayName": "Room 7"}})
        self.sync()
        self.assertEqual((events[1].name, events[1].location), ("Stand-up (demo)", "Room 7"))
        with self.outlook() as client:
            stored = client.get_event(occurrence["id"])
        self.assertEqual((stored["subject"], stored["location"]["displayName"]), ("Stand-up (demo)", "Room 7"))
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "like", "Stand-up")]), 4,
                         "no occurrence was duplicated")
        self.assertEqual(sorted(self.rows().mapped("kind")), ["occurrence", "series"])

    def test_outlook_this_and_following(self):
        master = self.outlook_series(count=6)
        self.sync()
        recurrence = self.series_row(master["id"]).recurrence_id
        split = self.first_monday + timedelta(days=21)
        # Outlook's "this and following": the series ends before the split, a new one starts there
        self.outlook_update(master["id"], {"recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "endDate", "startDate": self.first_monday.isoformat(),
                      "endDate": (split - timedelta(days=1)).isoformat(),
                      "recurrenceTimeZone": "Romance Standard Time"}}})
        later = self.outlook_series(subject="Weekly review (later)", count=3, first=split)
        self.sync()
        old_events = self.series_row(master["id"]).recurrence_id.calendar_event_ids.filtered("active")
        new_events = self.series_row(later["id"]).recurrence_id.calendar_event_ids.filtered("active")
        self.assertEqual([moment.date() for moment in self.local_starts(old_events)],
                         [self.first_monday + timedelta(weeks=week) for week in range(3)])
        self.assertEqual([moment.date() for moment in self.local_starts(new_events)],
                         [split + timedelta(weeks=week) for week in range(3)])
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "like", "Weekly review")]), 6)
        self.assertTrue(recurrence)

    def test_a_series_longer_than_odoo_holds_grows_with_the_window(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.sync_days_forward", "800")
        master = self.outlook_daily_series("Daily check", date.today() + timedelta(days=1))
        self.sync()
        row = self.series_row(master["id"])
        self.assertIn("720", row.sync_note or "", "until then, the row says Odoo holds 720 of them")
        self.account.series_extended_on = False  # the next day
        counts = self.sync()
        events = row.recurrence_id.calendar_event_ids
        last = max(events.mapped("start")).date()
        self.assertGreaterEqual(last, date.today() + timedelta(days=799),
                                f"past Odoo's 720 events, up to the window's end ({len(events)} events)")
        self.assertEqual(len(events), len(set(events.mapped("start"))), "no occurrence twice")
        self.assertFalse(row.sync_note)
        self.assertFalse(counts["sent"], "Outlook has them all already: nothing is sent")
        self.assertFalse(self.instances(master["id"], datetime.now(timezone.utc),
                                        datetime.now(timezone.utc) + timedelta(days=10)) == [])
        again = self.sync()
        self.assertFalse(again["sent"] or again["odoo_created"], f"once a day, and nothing to add: {again}")

    def test_upgrade_from_skipped_recurring_rows(self):
        """19.0.1.3.0's migration: the rows that skipped series go, a fresh round imports Outlook's
        series and Odoo's own (not meetings) join the outbox."""
        master = self.outlook_series(count=3)
        self.sync()
        self.rows().unlink()  # as an earlier version left it: a skipped row, no recurrence
        Binding = self.env["microsoft.calendar.binding"].sudo()
        Binding.create({"key": "old-skip", "account_id": self.account.id, "graph_id": master["id"],
                        "state": "skipped", "skip_reason": "recurring", "outlook_subject": "Weekly review"})
        self.env["calendar.recurrence"].sudo().search([]).calendar_event_ids.with_context(
            mcs_from_outlook=True).unlink()
        own = self.Event.with_context(mcs_from_outlook=True).create({
            "name": "Gym", "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
            "user_id": self.alice.id, "recurrency": True, "rrule_type": "daily", "interval": 1,
            "end_type": "count", "count": 2})
        self.migrate("19.0.1.3.0", "19.0.1.2.0")
        self.assertFalse(Binding.search([("skip_reason", "=", "recurring")]))
        self.assertFalse(self.account.delta_link, "a fresh round lists the unchanged series again")
        self.sync()
        row = self.series_row(master["id"])
        self.assertEqual((row.kind, row.state), ("series", "synced"))
        self.assertEqual(len(row.recurrence_id.calendar_event_ids), 3)
        self.assertEqual(sorted(item["subject"] for item in self.masters()), ["Gym", "Weekly review"])
        self.assertTrue(own.recurrence_id)

    def test_a_changed_occurrence_outside_the_window_stays_out(self):
        first = _monday_after(date.today() - timedelta(days=70))
        master = self.outlook_series(subject="Old review", count=20, first=first)
        outside, inside = self.instances(master["id"], datetime.combine(first, time(), timezone.utc),
                                          datetime.combine(first + timedelta(days=1), time(), timezone.utc)) + \
            self.instances(master["id"])[:1]
        self.outlook_update(outside["id"], {"subject": "Old review (moved)"})
        self.outlook_update(inside["id"], {"subject": "Review (this week)"})
        self.sync()
        row = self.series_row(master["id"])
        names = row.recurrence_id.calendar_event_ids.mapped("name")
        self.assertIn("Review (this week)", names)
        self.assertNotIn("Old review (moved)", names, "outside the sync window, like any event there")
        self.assertEqual(sorted(self.rows().mapped("kind")), ["occurrence", "series"])

    def test_odoo_archived_occurrence_is_cancelled_in_outlook(self):
        event = self.odoo_series(count=4)
        self.push()
        [master] = self.masters()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        archived_day = self.local_starts(events[2])[0].date()
        events[2].action_mass_archive("self_only")
        self.push()
        days = [datetime.fromisoformat(item["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                .astimezone(BRUSSELS).date() for item in self.instances(master["id"])]
        self.assertEqual(len(days), 3)
        self.assertNotIn(archived_day, days)
        self.sync()
        self.assertEqual(len(event.recurrence_id.calendar_event_ids.filtered("active")), 3)

    def test_a_series_the_user_is_only_invited_to(self):
        bob = self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        first = self.first_monday
        with settings.graph_client(bob._mcs_sign_in()) as client:
            client.create_event({
                "subject": "Bob's weekly", "attendees": [
                    {"emailAddress": {"address": "alice@contoso.com", "name": "Alice"}, "type": "required"}],
                "start": {"dateTime": f"{first}T10:00:00", "timeZone": "Romance Standard Time"},
                "end": {"dateTime": f"{first}T11:00:00", "timeZone": "Romance Standard Time"},
                "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
                               "range": {"type": "numbered", "startDate": first.isoformat(),
                                         "numberOfOccurrences": 3, "recurrenceTimeZone": "Romance Standard Time"}}})
        self.clear_mail()
        [copy] = [item for item in self.masters() if item["subject"] == "Bob's weekly"]
        self.sync()  # Bob's Outlook is connected: his account brings the series, Alice's copy waits for it
        row = self.series_row(copy["id"])
        self.assertEqual((row.state, row.skip_reason), ("skipped", "organizer_first"))
        bob._mcs_sync()
        for _run in range(3):
            counts = self.sync()
            self.assertFalse(counts["sent"], f"an invitation's copy is never written or deleted: {counts}")
        self.assertEqual((row.kind, row.state, row.attendee_copy), ("series", "synced", True))
        bob_row = self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", bob.id)])
        self.assertEqual(bob_row.recurrence_id, row.recurrence_id, "one Odoo series for the meeting")
        events = row.recurrence_id.calendar_event_ids
        self.assertEqual(len(events), 3)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Bob's weekly")]), 3)
        self.assertEqual(set(events.user_id.mapped("login")), {"bob"}, "the organizer is Bob")
        self.assertIn(self.alice.partner_id, events[0].partner_ids)
        self.assertEqual(self.sent_mail(), [])
        # a change of the series' rule in Odoo (by its organizer's side) never deletes Alice's copy
        row.recurrence_id.sudo().write({"count": 2})
        self.assertEqual(row.state, "synced", "an invitee's row is not queued by the organizer's change")
        row.write({"state": "pending", "pending": "odoo changed"})  # as a "Sync now" retry would
        counts = self.sync()
        self.assertFalse(counts["sent"] or counts["errors"], counts)
        self.assertEqual(row.state, "synced")
        self.assertIn(copy["id"], [item["id"] for item in self.outlook_events()])
        self.assertEqual(self.sent_mail(), [], "no cancellation was tried from an invitee's mailbox")
