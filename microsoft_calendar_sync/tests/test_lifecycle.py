# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Stop and resume, disconnect and reconnect: nothing is sent while stopped, the
resume catches up with both sides (also after the delta token expired), and the
same mailbox reconnected re-links instead of duplicating."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestLifecycle(SyncCase):

    def setUp(self):
        super().setUp()
        self.kept = self.make_event("Kept")
        self.renamed_in_odoo = self.make_event("Odoo renames me")
        self.from_outlook = self.outlook_create("Outlook renames me")
        self.deleted_in_outlook = self.outlook_create("Outlook deletes me")
        self.sync()

    def change_both_sides(self, outlook):
        """What the user does on both sides while the sync is stopped."""
        self.renamed_in_odoo.name = "Renamed in Odoo"
        self.make_event("Created in Odoo meanwhile")
        with outlook as client:
            client.update_event(self.from_outlook["id"], {"subject": "Renamed in Outlook"})
            client.delete_event(self.deleted_in_outlook["id"])
            client.create_event({
                "subject": "Created in Outlook meanwhile",
                "start": {"dateTime": self.tomorrow.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": self.tomorrow.replace(hour=11).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}})

    def assert_both_sides_agree(self):
        odoo = sorted(self.env["calendar.event"].sudo().search([("user_id", "=", self.alice.id)]).mapped("name"))
        outlook = sorted(event["subject"] for event in self.outlook_events())
        expected = ["Created in Odoo meanwhile", "Created in Outlook meanwhile", "Kept",
                    "Renamed in Odoo", "Renamed in Outlook"]
        self.assertEqual(odoo, expected, "Odoo: every change of both sides, nothing twice")
        self.assertEqual(outlook, expected, "Outlook: every change of both sides, nothing twice")
        self.assertEqual(self.sent_mail(), [])

    def test_stop_then_resume_catches_up_both_ways(self):
        self.account.with_user(self.alice).action_pause()
        self.change_both_sides(self.outlook())
        self.control("DELETE", "/stats")
        Account = self.env["microsoft.calendar.account"]
        Account._mcs_cron_push()
        Account._mcs_cron_pull()
        self.assertEqual(self.control("GET", "/stats")["total"], 0, "a stopped sync sends nothing to Microsoft")
        self.account.with_user(self.alice).action_resume()
        self.sync()
        self.assert_both_sides_agree()

    def test_resume_after_the_delta_token_expired(self):
        self.account.with_user(self.alice).action_pause()
        self.change_both_sides(self.outlook())
        self.control("POST", "/delta/evict", {"mailbox": "alice@contoso.com"})
        self.account.with_user(self.alice).action_resume()
        self.sync()
        self.sync()
        self.assert_both_sides_agree()

    def test_disconnect_keeps_everything_and_the_same_mailbox_relinks(self):
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        outlook = settings.graph_client(self.account._mcs_sign_in())  # Alice keeps using Outlook meanwhile
        bindings = self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", self.account.id)])
        self.account.with_user(self.alice).action_disconnect()
        self.assertEqual(len(self.outlook_events()), 4, "disconnecting deletes nothing in Outlook")
        self.assertTrue(self.kept.exists() and self.kept.active, "nor in Odoo")
        self.change_both_sides(outlook)
        self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        self.env.invalidate_all()  # the connect request wrote the account through another environment
        self.sync()
        self.assert_both_sides_agree()
        self.assertTrue(bindings.exists(), "the same links are used again")

    def test_another_mailbox_asks_before_anything_then_starts_afresh(self):
        old_mailbox = sorted(event["subject"] for event in self.outlook_events())
        links = self.account.binding_ids
        self.account.with_user(self.alice).action_disconnect()
        self.alice.sudo().mcs_expected_mailbox = "bob@contoso.com"  # an administrator moves her mailbox
        response = self.connect(self.alice, address="bob@contoso.com")
        self.assertEqual(response.status_code, 303, response.text[:2000])
        self.env.invalidate_all()
        self.assertEqual((self.account.mailbox, self.account.state), ("bob@contoso.com", "paused"),
                         "connected, but nothing is synchronized before the user chooses")
        self.assertTrue(self.account.mailbox_change)
        self.assertEqual(self.account.binding_ids, links, "the old links are kept until then")
        self.assertTrue(self.account.message_ids.filtered(lambda message: "Start afresh" in (message.body or "")))
        # a manager's reset meanwhile cannot delete in the old mailbox with the new one's tokens
        wizard = self.env["microsoft.calendar.reset.account"].with_user(self.manager).create(
            {"user_id": self.alice.id, "delete_mode": "both", "sync_mode": "all"})
        wizard.action_confirm()
        self.assertIn("now connected to bob@contoso.com", wizard.result)
        self.assertEqual(sorted(event["subject"] for event in self.outlook_events()), old_mailbox)
        self.assertTrue(self.kept.exists(), "an event whose Outlook copy was not deleted stays in Odoo")
        with self.assertRaises(UserError):
            self.account.with_user(self.alice).action_resume()
        self.control("DELETE", "/stats")
        self.env["microsoft.calendar.account"]._mcs_cron_pull()
        self.assertEqual(self.control("GET", "/stats")["total"], 0, "nothing sent to either mailbox")
        with self.assertRaises(AccessError):
            self.account.with_user(self.bob).action_mcs_start_afresh()
        self.authenticate("alice", "alice")  # the Outlook button: its panel says why, and offers the choice
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/status")
        self.assertIn("alice@contoso.com", status["mailbox_change"])
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/start_afresh")
        self.assertEqual((status["state"], status["mailbox_change"]), ("connected", ""))
        self.env.invalidate_all()
        self.assertEqual(self.account.state, "connected")
        self.assertFalse(links.exists(), "the links to the old mailbox's events are gone")
        self.sync()
        self.assertEqual(sorted(event["subject"] for event in self.outlook_events()), old_mailbox,
                         "nothing deleted or changed in the old mailbox")
        Event = self.env["calendar.event"].sudo()
        for name in ("Kept", "Odoo renames me", "Outlook renames me", "Outlook deletes me"):
            self.assertEqual(Event.search_count([("name", "=", name), ("active", "=", True)]), 1, name)
        self.assertIn("Kept", [event["subject"] for event in self.outlook_events("bob@contoso.com")],
                      "the Odoo events go to the new mailbox as on a first connection")
