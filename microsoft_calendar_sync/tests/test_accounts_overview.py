# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The managers' accounts list: every internal user, connected or not, and the
invitation to connect."""

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OutlookCase


@tagged("post_install", "-at_install")
class TestAccountsOverview(OutlookCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(cls.env, "portal_person", groups="base.group_portal")
        cls.carol = new_test_user(cls.env, "carol", name="Carol Never", groups="base.group_user")

    def overview(self, user):
        """What ``user`` sees when opening Calendar > Outlook Accounts."""
        action = self.Account.with_user(user)._mcs_action_overview()
        self.assertEqual(action["res_model"], "microsoft.calendar.account")
        return self.Account.with_user(user).search([])

    def invitations(self, user):
        return self.env["mail.activity"].sudo().search(
            [("user_id", "=", user.id), ("summary", "=", "Connect your Outlook calendar")])

    def test_lists_every_internal_user_including_unconnected_ones(self):
        self.connect(self.alice)
        accounts = self.overview(self.manager)
        by_user = {account.user_id: account for account in accounts}
        self.assertEqual(by_user[self.alice].state, "connected")
        self.assertEqual(by_user[self.bob].state, "not_connected")
        self.assertEqual(by_user[self.carol].state, "not_connected")
        self.assertIn(self.admin, by_user)
        self.assertNotIn(self.portal, by_user, "portal users cannot connect, so they are not listed")
        # opening it again adds nobody twice (one account per user)
        self.assertEqual(len(self.overview(self.manager)), len(accounts))
        # the list's filter
        not_connected = self.Account.with_user(self.manager).search([("state", "=", "not_connected")])
        self.assertIn(self.carol, not_connected.user_id)
        self.assertNotIn(self.alice, not_connected.user_id)

    def test_an_unconnected_row_does_not_change_what_the_user_sees(self):
        self.overview(self.manager)
        status = self.Account.with_user(self.carol)._mcs_status()
        self.assertEqual(status["state"], "not_connected")
        self.assertEqual(status["skipped"], [])

    def test_invitation_is_an_activity_for_unconnected_users_once(self):
        self.connect(self.alice)
        accounts = self.overview(self.manager)
        result = accounts.with_user(self.manager).action_mcs_invite()
        self.assertIn("already connected", result["params"]["message"])
        self.assertEqual(len(self.invitations(self.bob)), 1)
        self.assertEqual(len(self.invitations(self.carol)), 1)
        self.assertFalse(self.invitations(self.alice), "a connected user is not invited")
        self.assertTrue(accounts.filtered(lambda a: a.user_id == self.bob).invited_on)
        accounts.with_user(self.manager).action_mcs_invite()
        self.assertEqual(len(self.invitations(self.bob)), 1, "invited twice, one activity")
        # connecting answers the invitation
        self.connect(self.bob)
        self.assertFalse(self.invitations(self.bob))

    def test_only_managers_open_the_overview_and_invite(self):
        for user in (self.alice, self.portal):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.Account.with_user(user)._mcs_action_overview()
        self.overview(self.manager)
        bob_account = self.Account._mcs_for_user(self.bob)
        with self.assertRaises(AccessError):
            bob_account.with_user(self.alice).action_mcs_invite()
        self.assertFalse(self.invitations(self.bob))
        # a colleague does not see the others' rows
        self.assertEqual(self.Account.with_user(self.alice).search([]).user_id, self.alice)

    def test_menu_action_over_rpc(self):
        action = self.env.ref("microsoft_calendar_sync.microsoft_calendar_account_action_overview")
        self.authenticate("outlook_manager", "outlook_manager")
        result = self.make_jsonrpc_request("/web/action/run", {"action_id": action.id})
        self.assertEqual(result["res_model"], "microsoft.calendar.account")
        self.assertTrue(self.Account.search([("user_id", "=", self.carol.id)]))
        self.authenticate("bob", "bob")
        with self.assertRaises(Exception):
            self.make_jsonrpc_request("/web/action/run", {"action_id": action.id})
