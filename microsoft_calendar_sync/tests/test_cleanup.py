# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Clean up: the events Odoo created in Outlook are removed, the count shown
first is what gets removed, events the user made in Outlook are never touched
(even when they carry our reference), a failure halfway is resumed by a rerun,
and only the owner or a manager may run it."""

from outlook_sync.mapping import ODOO_REF_PROPERTY_ID

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..utils import event_mapping
from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestCleanup(SyncCase):

    def setUp(self):
        super().setUp()
        self.ours = self.make_event("Made in Odoo")
        self.ours_too = self.make_event("Also made in Odoo", location="Room 2")
        self.push()
        self.ours_graph = self.binding(self.ours).graph_id
        self.user_made = self.outlook_create("Made in Outlook")["id"]
        self.sync()
        self.imported = self.env["calendar.event"].sudo().search([("name", "=", "Made in Outlook")])
        self.assertTrue(self.imported)
        # Our reference on an event the user made in Outlook (the push stamps imported events):
        # the reference alone must not make it ours.
        self.outlook_update(self.user_made, {"singleValueExtendedProperties": [
            {"id": ODOO_REF_PROPERTY_ID, "value": event_mapping.odoo_ref(self.imported)}]})
        self.Cleanup = self.env["microsoft.calendar.cleanup"]

    def outlook_subjects(self):
        return sorted(event["subject"] for event in self.outlook_events())

    def test_count_shown_is_what_is_removed(self):
        action = self.account.with_user(self.alice).action_open_cleanup()
        wizard = self.Cleanup.with_user(self.alice).browse(action["res_id"])
        self.assertEqual(wizard.preview_outlook, 2)
        wizard.action_confirm()
        self.assertIn("2 events removed from Outlook", wizard.result)
        self.assertEqual(self.outlook_subjects(), ["Made in Outlook"])
        self.assertFalse(self.binding(self.ours))
        self.assertTrue(self.binding(self.imported), "the imported event stays linked")
        self.assertTrue(self.ours.exists() and self.ours.active, "Odoo keeps its events")
        self.assertEqual(self.account.state, "paused")
        self.assertFalse(self.sent_mail())

    def test_meetings_are_kept(self):
        self.make_event("Meeting", partner_ids=[(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)])
        self.push()
        self.clear_mail()
        wizard = self.Cleanup.with_user(self.alice).create({"account_id": self.account.id})
        self.assertEqual((wizard.preview_outlook, wizard.preview_meetings), (2, 1))
        wizard.action_confirm()
        self.assertEqual(self.outlook_subjects(), ["Made in Outlook", "Meeting"])
        self.assertFalse(self.sent_mail(), "no cancellation was e-mailed")

    def test_failure_halfway_is_resumed(self):
        self.fault(method="DELETE", path="/me/events/*", status=403, times=1)
        result = self.account.with_user(self.alice).action_mcs_cleanup(pause=False)
        self.assertIn("1 events removed from Outlook", result)
        self.assertIn("1 events could not be removed", result)
        remaining = [event for event in self.outlook_events() if event["subject"] != "Made in Outlook"]
        self.assertEqual(len(remaining), 1)
        self.assertTrue(self.env["microsoft.calendar.binding"].sudo().search(
            [("graph_id", "=", remaining[0]["id"])]), "what Outlook did not confirm stays linked")
        again = self.account.with_user(self.alice).action_mcs_cleanup(pause=False)
        self.assertIn("1 events removed from Outlook", again)
        self.assertNotIn("could not", again)
        self.assertEqual(self.outlook_subjects(), ["Made in Outlook"])

    def test_already_gone_counts_as_removed(self):
        self.fault(method="DELETE", path="/me/events/*", status=404, times=1)
        result = self.account.with_user(self.alice).action_mcs_cleanup(pause=False)
        self.assertIn("2 events removed from Outlook", result)
        self.assertFalse(self.binding(self.ours) | self.binding(self.ours_too))

    def test_archive_imported_copies(self):
        self.make_event("Not sent yet")  # pending: neither ours in Outlook nor imported
        wizard = self.Cleanup.with_user(self.alice).create({"account_id": self.account.id, "archive_imported": True})
        self.assertEqual(wizard.preview_imported, 1)
        wizard.action_confirm()
        self.assertFalse(self.imported.active)
        self.assertFalse(self.binding(self.imported))
        self.account.with_user(self.alice).action_resume()
        self.sync()
        # archiving the copy deletes nothing in Outlook (the pending event went out on resume)
        self.assertEqual(self.outlook_subjects(), ["Made in Outlook", "Not sent yet"])

    def test_colleague_refused_manager_allowed(self):
        with self.assertRaises(AccessError):
            self.Cleanup.with_user(self.bob).create({"account_id": self.account.id})
        with self.assertRaises(AccessError):
            self.account.with_user(self.bob).action_mcs_cleanup()
        portal = new_test_user(self.env, "portal_cleanup", groups="base.group_portal")
        with self.assertRaises(AccessError):
            self.Cleanup.with_user(portal).create({"account_id": self.account.id})
        self.assertEqual(len(self.outlook_events()), 3)
        result = self.account.with_user(self.manager).action_mcs_cleanup()
        self.assertIn("2 events removed from Outlook", result)
