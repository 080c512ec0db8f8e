# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Outlook button in the Calendar, rendered in a real browser, in each of
its states, and its menu acting on the server."""

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


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
