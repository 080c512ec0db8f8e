# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo -> Outlook: the outbox, create/update/delete/archive/unarchive through
$batch, e-mails (Outlook's only, once), retries without duplicates."""

from datetime import timedelta

from outlook_sync.mapping import ODOO_REF_PROPERTY_ID

from odoo.tests import tagged

from ..utils import event_mapping
from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncOutbound(SyncCase):

    def test_create_marks_pending_and_pushes_once(self):
        push_cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_push")
        triggers = self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", push_cron.id)])
        stats_before = dict(self.sandbox.world.stats)
        event = self.make_event("Budget review", location="Room 4")
        binding = self.binding(event)
        # the outbox: pending in the user's transaction, the push cron triggered, no HTTP
        self.assertEqual(binding.state, "pending")
        self.assertEqual(binding.odoo_ref, event_mapping.odoo_ref(event))
        self.assertEqual(self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", push_cron.id)]),
                         triggers + 1)
        self.assertEqual(dict(self.sandbox.world.stats), stats_before, "the user's request must not call Graph")

        counts = self.push()
        self.assertEqual(counts["graph batch"], 1, counts)
        self.assertEqual(binding.state, "synced")
        self.assertTrue(binding.graph_id)
        [stored] = [e for e in self.outlook_events() if e["id"] == binding.graph_id]
        self.assertEqual(stored["subject"], "Budget review")
        self.assertTrue(stored["transactionId"])
        self.assertEqual(stored["extendedProperties"].get(ODOO_REF_PROPERTY_ID), binding.odoo_ref)
        # nothing left to do: the next push sends nothing
        self.assertFalse(self.push()["graph batch"])

    def test_update_sends_changed_fields_only(self):
        event = self.make_event("Before")
        self.push()
        binding = self.binding(event)
        event.write({"name": "After"})
        self.assertEqual(binding.state, "pending")
        counts = self.push()
        self.assertEqual(counts["graph batch"], 1)
        [stored] = [e for e in self.outlook_events() if e["id"] == binding.graph_id]
        self.assertEqual(stored["subject"], "After")
        self.assertEqual(binding.state, "synced")
        # a field Outlook does not care about marks nothing
        event.write({"recurrence_update": "self_only"})
        self.assertEqual(binding.state, "synced")

    def test_unlink_deletes_in_outlook(self):
        event = self.make_event("Doomed")
        self.push()
        graph_id = self.binding(event).graph_id
        event.unlink()
        binding = self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", graph_id)])
        self.assertEqual(binding.state, "pending", "the binding survives the unlink to push the DELETE")
        self.assertFalse(binding.event_id)
        self.push()
        self.assertNotIn(graph_id, [e["id"] for e in self.outlook_events()])
        self.assertFalse(binding.exists())

    def test_archive_cancels_a_meeting_and_deletes_a_plain_event(self):
        meeting = self.make_event("Team meeting", partner_ids=[(4, self.alice.partner_id.id),
                                                               (4, self.bob.partner_id.id)])
        plain = self.make_event("Dentist")
        self.push()
        meeting_id, plain_id = self.binding(meeting).graph_id, self.binding(plain).graph_id
        self.clear_mail()
        (meeting | plain).write({"active": False})
        self.push()
        stored = {e["id"]: e for e in self.outlook_events()}
        self.assertNotIn(plain_id, stored)
        mail = self.sent_mail()
        self.assertEqual([(m["kind"], m["to"]) for m in mail], [("cancellation", ["bob@contoso.com"])])
        self.assertFalse(self.binding(meeting))

        # unarchive: created again (a new invitation, as users expect)
        self.clear_mail()
        meeting.write({"active": True})
        self.push()
        binding = self.binding(meeting)
        self.assertEqual(binding.state, "synced")
        self.assertNotEqual(binding.graph_id, meeting_id)
        self.assertEqual([m["kind"] for m in self.sent_mail()], ["invitation"])

    def test_one_invitation_per_attendee_from_outlook_only(self):
        mails_before = self.odoo_mails()
        event = self.make_event("Kick-off", start=self.tomorrow + timedelta(days=2),
                                stop=self.tomorrow + timedelta(days=2, hours=1),
                                partner_ids=[(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)])
        self.assertEqual(self.odoo_mails(), mails_before, "Odoo must not send its own invitation")
        self.push()
        mail = self.sent_mail()
        self.assertEqual([(m["kind"], m["to"]) for m in mail], [("invitation", ["bob@contoso.com"])])
        # a time change: one update from Outlook, none from Odoo
        self.clear_mail()
        event.write({"start": event.start + timedelta(hours=1), "stop": event.stop + timedelta(hours=1)})
        self.assertEqual(self.odoo_mails(), mails_before)
        self.push()
        self.assertEqual([m["kind"] for m in self.sent_mail()], ["update"])

    def test_a_recurring_event_is_one_series_row_and_one_outlook_series(self):
        event = self.make_event("Weekly", recurrency=True, rrule_type="daily", count=3, end_type="count")
        events = self.env["calendar.event"].sudo().search([("recurrence_id", "=", event.recurrence_id.id)])
        rows = self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", self.account.id)])
        self.assertEqual(len(events), 3)
        self.assertEqual(len(rows), 1, "one status row for the series, not one per occurrence")
        self.assertEqual((rows.kind, rows.recurrence_id), ("series", event.recurrence_id))
        events[1:].write({"location": "Room 3"})
        self.assertIn("Waiting to be sent", events[2].mcs_sync_summary, "each occurrence shows its series' row")
        self.push()
        masters = [e for e in self.outlook_events() if e["subject"] == "Weekly" and e["type"] != "exception"]
        self.assertEqual([e["type"] for e in masters], ["seriesMaster"], "one series in Outlook, not three events")
        self.assertEqual(self.env["microsoft.calendar.binding"].sudo().search_count(
            [("account_id", "=", self.account.id), ("kind", "!=", "occurrence")]), 1)
        events.invalidate_recordset(["mcs_sync_summary", "mcs_binding_ids"])
        self.assertIn("Synchronized", events[2].mcs_sync_summary)
        # the occurrences written on their own became exceptions in Outlook
        [master] = [e for e in self.outlook_events() if e["subject"] == "Weekly" and e["type"] == "seriesMaster"]
        window = {"startDateTime": (self.tomorrow - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "endDateTime": (self.tomorrow + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        with self.outlook() as client:
            instances = list(client.iter_items(f"/me/events/{master['id']}/instances", window))
        outlook = {item["start"]["dateTime"][:16]: item["location"]["displayName"] for item in instances}
        odoo = {f"{event.start:%Y-%m-%dT%H:%M}": event.location or "" for event in events}
        self.assertEqual(outlook, odoo, "each occurrence has the same place on both sides")

    def test_failed_push_stays_pending_and_is_retried(self):
        self.fault(method="POST", path="/$batch", status=503, times=None)
        event = self.make_event("Resilient")
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            counts = self.push()
        binding = self.binding(event)
        self.assertEqual(binding.state, "pending")
        self.assertTrue(binding.next_retry)
        self.assertTrue(binding.last_error)
        self.assertEqual(binding.attempts, 1)
        self.assertEqual(self.account.state, "error", counts)
        self.sandbox.world.extra["faults"].clear()
        self.push()
        self.assertEqual(binding.state, "pending", "the backoff is respected")
        self.due_now(binding)
        self.push()
        self.assertEqual(binding.state, "synced")
        self.assertEqual(len([e for e in self.outlook_events() if e["subject"] == "Resilient"]), 1)
        self.assertEqual(self.account.state, "connected")

    def test_retry_after_timeout_never_duplicates(self):
        # the first $batch is answered too late (a timeout), Outlook did create the event
        self.fault(method="POST", path="/$batch", status=None, delay=2.5, times=1)
        event = self.make_event("Exactly once")
        with self.patch_module("CLIENT_TIMEOUT", (2.0, 1.0)):
            self.push()
        binding = self.binding(event)
        self.due_now(binding)
        self.push()
        self.assertEqual(binding.state, "synced")
        self.assertEqual(len([e for e in self.outlook_events() if e["subject"] == "Exactly once"]), 1)

    def test_throttling_storm_is_absorbed(self):
        self.fault(method="POST", path="/$batch", status=429, retry_after=0.1, times=3)
        events = self.Event.browse()
        for number in range(5):
            events |= self.make_event(f"Storm {number}")
        counts = self.push()
        self.assertEqual(set(self.env["microsoft.calendar.binding"].sudo().search(
            [("event_id", "in", events.ids)]).mapped("state")), {"synced"}, counts)
        self.assertEqual(len([e for e in self.outlook_events() if e["subject"].startswith("Storm")]), 5)
