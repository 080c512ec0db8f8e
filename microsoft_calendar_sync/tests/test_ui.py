# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Outlook button in the Calendar, rendered in a real browser, in each of
its states, its panel and its menu acting on the server; the calendar reloaded
after a sync that changed events; the event's Outlook state."""

from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

from .common import CLIENT_SECRET, OutlookCase
from .sync_common import SyncCase


@tagged("post_install", "-at_install")
class TestOutlookButton(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param("microsoft_calendar_sync.enabled", "True")
        icp.set_param("microsoft_calendar_sync.client_id", "6731de76-14a6-49ae-97bc-6eba6914391e")
        icp.set_param("microsoft_calendar_sync.client_secret", "a-secret")
        cls.alice = new_test_user(cls.env, "alice", email="alice@contoso.com", groups="base.group_user")

    def set_state(self, state, **values):
        Account = self.env["microsoft.calendar.account"].sudo()
        account = Account.search([("user_id", "=", self.alice.id)]) or Account.create({"user_id": self.alice.id})
        mailbox = "alice@contoso.com" if state != "not_connected" else False
        account.write({"state": state, "mailbox": mailbox, **values})
        return account

    def test_each_state(self):
        cases = {
            "not_connected": {},
            "syncing": {},
            "connected": {"last_sync": fields.Datetime.now()},
            "paused": {},
            "needs_reauth": {"last_error": "Your Outlook connection has expired."},
            "error": {"last_error": "Graph is unhappy (503)."},
        }
        for state, values in cases.items():
            with self.subTest(state=state):
                self.set_state(state, **values)
                self.start_tour("/odoo/calendar", f"microsoft_calendar_sync_button_{state}", login="alice")

    def test_panel_says_what_the_last_run_did_and_what_is_skipped(self):
        account = self.set_state("connected", last_sync=fields.Datetime.now(),
                                 last_run_counts={"sent": 2, "received": 1},
                                 last_run_end=fields.Datetime.now())
        Binding = self.env["microsoft.calendar.binding"].sudo()
        start = datetime.now().replace(microsecond=0)
        Binding.create([{
            "key": f"weekly-{number}", "account_id": account.id, "state": "skipped", "skip_reason": "existing_meeting",
            "graph_id": f"AAMkAGweekly{number}", "outlook_subject": "Weekly standup",
            "outlook_start": start + timedelta(weeks=number),
        } for number in range(19)])
        Binding.create({"key": "broken", "account_id": account.id, "state": "skipped", "skip_reason": "unreadable",
                        "graph_id": "AAMkAGbroken", "outlook_subject": "Broken invite"})
        Binding.create({"key": "failed", "account_id": account.id, "state": "error", "graph_id": "AAMkAGfailed",
                        "outlook_subject": "Failed one", "last_error": "Outlook said no"})
        # instant updates on or off and why (a key the subscriptions side adds to the status)
        Account = type(self.env["microsoft.calendar.account"])
        real_status = Account._mcs_status

        def with_push(model, user=None):
            return {**real_status(model, user), "push": {"on": False, "text": "Instant updates are off: not https"}}

        with patch.object(Account, "_mcs_status", with_push):
            self.start_tour("/odoo/calendar", "microsoft_calendar_sync_panel", login="alice")

    def test_menu_stops_resumes_and_disconnects(self):
        account = self.set_state("connected", token_cache="{}")
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_button_menu", login="alice")
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(account.token_cache)

    def test_administrator_is_led_to_the_settings(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.enabled", "False")
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_button_setup", login="admin")

    def test_button_hidden_when_the_option_is_off(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.enabled", "False")
        self.set_state("connected")
        self.browser_js(
            "/odoo/calendar",
            "(async () => { "
            "const until = Date.now() + 5000; "
            "while (!document.querySelector('.o_calendar_container') && Date.now() < until) "
            "{ await new Promise(r => setTimeout(r, 100)); } "
            "await new Promise(r => setTimeout(r, 500)); "
            "if (!document.querySelector('.o_calendar_container')) { console.error('no calendar'); } "
            "else if (document.querySelector('.o_mcs_outlook')) { console.error('the Outlook button is shown'); } "
            "else { console.log('test successful'); } })();",
            login="alice",
        )


@tagged("post_install", "-at_install")
class TestCalendarRefresh(SyncCase):
    """The calendar shows what a sync brought in, without a reload."""

    def setUp(self):
        super().setUp()
        # today, so the calendar's current week shows it whatever the weekday
        noon = datetime.now().replace(hour=12, minute=0, second=0, microsecond=0)
        self.event = self.make_event("Before the rename", start=noon, stop=noon + timedelta(hours=1))
        self.push()
        self.assertEqual(self.binding(self.event).state, "synced")
        self.outlook_update(self.binding(self.event).graph_id, {"subject": "Renamed in Outlook"})

    def test_sync_now_reloads_the_calendar(self):
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_refresh_after_sync_now", login="alice")
        self.assertEqual(self.event.name, "Renamed in Outlook")

    def test_a_run_that_changed_events_reloads_the_open_calendar(self):
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_refresh_on_bus", login="alice")
        self.assertEqual(self.event.name, "Renamed in Outlook")

    def changed_notifications(self):
        self.env.cr.precommit.run()  # bus.bus rows are written when the transaction commits
        return self.env["bus.bus"].sudo().search([("message", "like", "microsoft_calendar_sync/changed")])

    def test_one_notification_per_run_that_changed_events(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        self.sync()  # brings the rename
        self.assertEqual(len(self.changed_notifications()), 1)
        self.assertTrue(self.account._mcs_last_run_changed())
        self.env["bus.bus"].sudo().search([]).unlink()
        self.sync()  # nothing new
        self.assertFalse(self.changed_notifications())
        self.assertFalse(self.account._mcs_last_run_changed())

    def test_event_form_and_popover_show_the_outlook_state(self):
        self.sync()
        self.event.name = "Synced meeting"
        self.push()
        self.assertEqual(self.binding(self.event).state, "synced")
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_event_state", login="alice")


@tagged("post_install", "-at_install")
class TestSettingsTestConnection(OutlookCase):
    """The Test connection button in the browser, against the sandbox."""

    def test_good_then_wrong_secret(self):
        self.start_tour("/odoo/settings", "microsoft_calendar_sync_test_connection", login="admin")
        # testing a typed secret does not save it
        stored = self.env["ir.config_parameter"].sudo().get_param("microsoft_calendar_sync.client_secret")
        self.assertEqual(stored, CLIENT_SECRET)


@tagged("post_install", "-at_install")
class TestResetAccountTour(SyncCase):
    """The Reset Account wizard opened from a user's form, in a real browser."""

    def test_reset_from_the_users_form(self):
        event = self.make_event("Linked")
        self.sync()
        graph_id = self.binding(event).graph_id
        self.start_tour(f"/odoo/action-base.action_res_users/{self.alice.id}",
                        "microsoft_calendar_sync_reset_account", login="admin")
        self.assertNotIn(graph_id, [e["id"] for e in self.outlook_events()], "deleted from Outlook")
        self.assertTrue(event.exists(), "kept in Odoo")
        self.assertFalse(self.binding(event), "no longer linked")
