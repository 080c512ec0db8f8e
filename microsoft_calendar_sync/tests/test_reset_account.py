# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install")
class TestResetAccount(SyncCase):

    def setUp(self):
        super().setUp()
        self.linked = self.make_event("Linked in Odoo")
        self.sync()
        self.linked_graph = self.binding(self.linked).graph_id
        self.outlook_only = self.outlook_create("Outlook, never synced")["id"]
        self.odoo_only = self.make_event("Odoo only")
        self.binding(self.odoo_only).sudo().unlink()  # an Odoo event never linked

    def reset(self, delete_mode, sync_mode="new", user=None):
        Wizard = self.env["microsoft.calendar.reset.account"].with_user(user or self.manager)
        wizard = Wizard.create({"user_id": self.alice.id, "delete_mode": delete_mode, "sync_mode": sync_mode})
        wizard.action_confirm()
        return wizard

    def outlook_ids(self):
        return {event["id"] for event in self.outlook_events()}

    def test_delete_both_then_all(self):
        wizard = self.env["microsoft.calendar.reset.account"].with_user(self.manager).create(
            {"user_id": self.alice.id, "delete_mode": "both", "sync_mode": "all"})
        self.assertEqual((wizard.preview_outlook, wizard.preview_odoo, wizard.preview_bindings), (1, 1, 1))
        wizard.action_confirm()
        self.assertFalse(self.linked.exists())
        self.assertTrue(self.odoo_only.exists())
        self.assertEqual(self.outlook_ids(), {self.outlook_only})
        self.assertIn("1 events deleted from Outlook", wizard.result)
        # started twice: nothing more to delete
        again = self.reset("both", "all")
        self.assertIn("0 events deleted from Odoo", again.result)
        self.sync()
        names = self.env["calendar.event"].sudo().search([("user_id", "=", self.alice.id)]).mapped("name")
        self.assertEqual(sorted(names), ["Odoo only", "Outlook, never synced"])
        self.assertEqual(len(self.outlook_ids()), 1)
        self.assertFalse(self.sent_mail())

    def test_delete_odoo_only_new(self):
        self.reset("odoo")
        self.assertFalse(self.linked.exists())
        self.assertTrue(self.odoo_only.exists())
        self.assertEqual(self.outlook_ids(), {self.linked_graph, self.outlook_only})
        self.assertFalse(self.binding(self.linked))

    def test_delete_outlook_keeps_odoo(self):
        self.reset("outlook")
        self.assertTrue(self.linked.exists())
        self.assertEqual(self.outlook_ids(), {self.outlook_only})
        self.assertFalse(self.binding(self.linked))

    def test_untouched_all_no_duplicates(self):
        self.reset("none", "all")
        self.sync()
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Linked in Odoo")]), 1)
        self.assertEqual(len(self.outlook_ids()), 2)

    def test_access(self):
        with self.assertRaises(AccessError):
            self.reset("both", user=self.bob)
        self.reset("none", user=self.admin)

    def test_locked(self):
        with patch.object(type(self.account), "_mcs_reset_lock", lambda account: False), \
                self.assertRaises(UserError):
            self.reset("both")
        self.assertTrue(self.linked.exists())

    def test_disconnected(self):
        self.account.with_user(self.alice).action_disconnect()
        wizard = self.reset("both")
        self.assertFalse(self.linked.exists())
        self.assertIn("not connected", wizard.result)
        self.assertIn(self.linked_graph, self.outlook_ids())
