# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings > Outlook Calendar > Test connection, against the sandbox; the secret expiry reminder."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import CLIENT_SECRET, OutlookCase


@tagged("post_install", "-at_install")
class TestTestConnection(OutlookCase):

    def check(self, **values):
        settings = self.env["res.config.settings"].create(values)
        return settings.action_mcs_test_connection()["params"]

    def test_good_credentials(self):
        params = self.check(mcs_client_secret=CLIENT_SECRET)
        self.assertEqual(params["type"], "success", params["message"])

    def test_wrong_secret(self):
        params = self.check(mcs_client_secret="not-the-secret")
        self.assertEqual(params["type"], "danger")
        self.assertIn("AADSTS7000215", params["message"])
        self.assertIn("client secret is wrong", params["message"])

    def test_unknown_client_id(self):
        params = self.check(mcs_client_id="00000000-0000-0000-0000-000000000001", mcs_client_secret=CLIENT_SECRET)
        self.assertEqual(params["type"], "danger")
        self.assertIn("AADSTS700016", params["message"])

    def test_secret_expiry_reminder(self):
        Settings = self.env["res.config.settings"]
        Activity = self.env["mail.activity"].sudo()
        Settings.create({"mcs_client_secret_expiry": fields.Date.today() + timedelta(days=60)}).execute()
        Settings._mcs_cron_secret_expiry_reminder()
        self.assertFalse(Activity.search([("summary", "like", "client secret expires")]))
        Settings.create({"mcs_client_secret_expiry": fields.Date.today() + timedelta(days=20)}).execute()
        Settings._mcs_cron_secret_expiry_reminder()
        Settings._mcs_cron_secret_expiry_reminder()  # once per date
        reminders = Activity.search([("summary", "like", "client secret expires")])
        self.assertIn(self.admin, reminders.user_id)
        self.assertEqual(len(reminders.filtered(lambda a: a.user_id == self.admin)), 1)
