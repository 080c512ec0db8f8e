# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the sync status rows are called: the event's subject and start, from
the Odoo event, the last agreed snapshot, or what Outlook sent when the row was
skipped; never a raw Graph id, and never a request to Outlook to find out."""

from datetime import timedelta


from odoo.tests import tagged
from odoo.tools import format_datetime

from ..models import sync_pull
from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncNaming(SyncCase):

    def setUp(self):
        super().setUp()
        self.Binding = self.env["microsoft.calendar.binding"].sudo()

    def when(self, moment):
        return format_datetime(self.env, moment, dt_format="short")

    def test_an_outlook_series_has_one_row_named_by_subject_and_date(self):
        start = self.tomorrow
        series = self.outlook_create("Weekly review", recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [start.strftime("%A").lower()]},
            "range": {"type": "numbered", "startDate": start.date().isoformat(), "numberOfOccurrences": 3}})
        self.sync()
        rows = self.Binding.search([("account_id", "=", self.account.id)])
        # one row for the series, not one per occurrence (its stubs count under their master)
        self.assertEqual(len(rows), 1, rows.mapped("name"))
        self.assertEqual((rows.kind, rows.state, rows.graph_id), ("series", "synced", series["id"]))
        self.assertEqual(rows.name, f"Weekly review ({self.when(start)})")
        self.assertNotIn(rows.graph_id, rows.name)
        # the next rounds do not add rows either
        self.outlook_update(series["id"], {"location": {"displayName": "Room 2"}})
        self.sync()
        self.assertEqual(self.Binding.search_count([("account_id", "=", self.account.id)]), 1)

    def test_a_row_whose_odoo_event_is_gone_keeps_its_name(self):
        event = self.make_event("Budget review")
        self.sync()
        binding = self.binding(event)
        self.assertEqual(binding.name, f"Budget review ({self.when(self.tomorrow)})")
        event.unlink()  # the row waits for the push that deletes the Outlook event
        self.assertFalse(binding.event_id)
        self.assertEqual(binding.name, f"Budget review ({self.when(self.tomorrow)})")

    def test_an_unreadable_payload_is_named_by_what_outlook_sent(self):
        bad = self.outlook_create("Broken")
        with self.unreadable_in_outlook("Broken"), \
                self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            self.sync()
        skipped = self.Binding.search([("graph_id", "=", bad["id"])])
        self.assertEqual((skipped.state, skipped.outlook_subject), ("skipped", "Broken"))
        self.assertEqual(skipped.name, f"Broken ({self.when(self.tomorrow)})")
        # the managers' list searches the name it shows
        self.assertEqual(self.Binding.search([("name", "ilike", "broken")]), skipped)

    def test_empty_status_lists_say_what_empty_means(self):
        for xmlid, words in (("microsoft_calendar_binding_action", "No synchronization errors"),
                             ("microsoft_calendar_binding_action_held", "No change waits for your approval")):
            action = self.env.ref(f"microsoft_calendar_sync.{xmlid}")
            self.assertIn(words, action.help)
            self.assertIn("o_view_nocontent", action.help)

    def test_only_a_row_with_nothing_else_shows_a_short_labelled_id(self):
        graph_id = "AAMkAGB09DQwLTU5YmQtNDc4Ni1hNjAzLWQ0ZTk2MTdhZDk1ZgBGAAAAAADx0123abcd="
        binding = self.Binding.create({"key": "bare", "account_id": self.account.id, "graph_id": graph_id,
                                       "state": "skipped", "skip_reason": "unreadable"})
        self.assertEqual(binding.name, "Outlook event …123abcd=")
        broken = self.Binding.create({"key": "broken", "account_id": self.account.id, "graph_id": "x" * 20,
                                      "base": "{not json", "outlook_start": self.tomorrow + timedelta(days=1)})
        self.assertEqual(broken.name, f"Outlook event …xxxxxxxx ({self.when(self.tomorrow + timedelta(days=1))})")


@tagged("post_install", "-at_install", "mcs_sync")
class TestEventSyncState(SyncCase):
    """The event's Outlook state per account, on its form and in the calendar's popover."""

    def state_of(self, event, user=None):
        event = event.with_user(user or self.alice)
        event.invalidate_recordset(["mcs_binding_ids", "mcs_sync_summary"])
        return event.mcs_sync_summary

    def test_a_synced_event_says_with_which_mailbox_and_when(self):
        event = self.make_event("Synced one")
        self.sync()
        binding = self.binding(event)
        self.assertEqual(binding.state, "synced")
        when = format_datetime(self.env, binding.last_sync, dt_format="short")
        self.assertEqual(self.state_of(event), f"Synchronized with alice@contoso.com ({when})")
        self.assertEqual(event.with_user(self.alice).mcs_binding_ids, binding)

    def test_open_in_outlook_links_both_ways(self):
        pushed = self.make_event("Sent from Odoo")
        imported_id = self.outlook_create("Made in Outlook")["id"]
        self.sync()
        for binding in (self.binding(pushed), self.env["microsoft.calendar.binding"].sudo().search(
                [("graph_id", "=", imported_id)])):
            self.assertEqual(binding.web_link, self.outlook_get(binding.graph_id)["webLink"], binding.name)
            self.assertTrue(binding.web_link.startswith("https://outlook.office365.com/"))
        store = sync_pull.BindingStoreAdapter(self.account)
        store.note_web_link({"id": "x", "webLink": "javascript:alert(1)"})
        self.assertEqual(store.web_links, {}, "only an https link is kept (it becomes a link on the form)")

    def test_a_pending_event_says_it_waits(self):
        event = self.make_event("Not sent yet")
        self.assertEqual(self.binding(event).state, "pending")
        self.assertEqual(self.state_of(event), "Waiting to be sent to alice@contoso.com")

    def test_an_event_in_error_shows_the_message(self):
        event = self.make_event("Failing")
        self.binding(event).write({"state": "error", "last_error": "Outlook refused the event (HTTP 400)"})
        self.assertEqual(self.state_of(event),
                         "Error with alice@contoso.com: Outlook refused the event (HTTP 400)")

    def test_a_held_or_skipped_event_says_why(self):
        event = self.make_event("Held")
        binding = self.binding(event)
        binding.write({"state": "held"})
        self.assertEqual(self.state_of(event), "Waiting for approval before it is sent to alice@contoso.com")
        binding.write({"state": "skipped", "skip_reason": "unreadable"})
        self.assertEqual(self.state_of(event),
                         "Not synchronized with alice@contoso.com: Outlook sent it in a form that cannot be read")

    def test_a_colleague_sees_nothing_of_another_users_sync_state(self):
        event = self.make_event("Alice's meeting", partner_ids=[(4, self.bob.partner_id.id)])
        self.sync()
        as_bob = event.with_user(self.bob)
        self.assertEqual(as_bob.name, "Alice's meeting")  # Bob may read the event ...
        self.assertFalse(self.state_of(event, self.bob))  # ... not Alice's sync status
        self.assertFalse(as_bob.mcs_binding_ids)
        # the form as the web client loads it: no AccessError
        form = as_bob.web_read({"name": {}, "mcs_sync_summary": {},
                                "mcs_binding_ids": {"fields": {"state": {}, "last_error": {}}}})
        self.assertEqual(form[0]["mcs_binding_ids"], [])
        # a manager sees every account's row
        self.assertTrue(self.state_of(event, self.manager).startswith("Synchronized with alice@contoso.com"))
        views = self.env["calendar.event"].with_user(self.bob).get_views([(False, "form"), (False, "calendar")])
        self.assertIn("mcs_binding_ids", views["views"]["form"]["arch"])
        self.assertIn("mcs_sync_summary", views["views"]["calendar"]["arch"])
