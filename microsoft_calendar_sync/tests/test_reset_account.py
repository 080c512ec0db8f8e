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
        outlook = sorted(event["subject"] for event in self.outlook_events())
        self.assertEqual(outlook, ["Odoo only", "Outlook, never synced"],
                         "all existing: the Odoo event no binding linked is sent too, nothing twice")
        self.sync()
        self.assertEqual(len(self.outlook_ids()), 2)
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
        self.sync()
        Event = self.env["calendar.event"].sudo()
        for name in ("Linked in Odoo", "Odoo only", "Outlook, never synced"):
            self.assertEqual(Event.search_count([("name", "=", name)]), 1, name)
        self.assertEqual(sorted(event["subject"] for event in self.outlook_events()),
                         ["Linked in Odoo", "Odoo only", "Outlook, never synced"])

    def test_untouched_only_new_leaves_existing_events_out(self):
        self.reset("none", "new")
        self.control("POST", "/clock", {"advance_seconds": 2})  # Outlook's next event is created after the reset
        created_after = self.outlook_create("Outlook, after the reset")
        counts = self.sync()
        Event = self.env["calendar.event"].sudo()
        self.assertFalse(Event.search_count([("name", "=", "Outlook, never synced")]),
                         "an Outlook event that existed before the reset is not imported")
        self.assertEqual(counts["not_new"], 1, counts)
        self.assertTrue(self.odoo_event_of(created_after["id"]), "an event created after the reset is imported")
        self.assertFalse([e for e in self.outlook_events() if e["subject"] == "Odoo only"],
                         "an Odoo event that existed before the reset is not sent")
        self.odoo_only.location = "edited later"
        self.sync()
        self.assertFalse([e for e in self.outlook_events() if e["subject"] == "Odoo only"],
                         "editing an existing unlinked event does not send it either")
        # even a fresh round (an expired delta token) keeps them out
        self.account.sudo().delta_link = False
        self.sync()
        self.assertFalse(Event.search_count([("name", "=", "Outlook, never synced")]))
        self.assertEqual(Event.search_count([("name", "=", "Linked in Odoo")]), 1)

    def odoo_event_of(self, graph_id):
        return self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", graph_id)]).event_id

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


@tagged("post_install", "-at_install")
class TestResetCombinations(SyncCase):
    """Each of the 4 x 2 choices on a calendar with linked and unlinked events on both
    sides and a colleague's event: exactly which events remain where, nothing twice."""

    def setUp(self):
        super().setUp()
        self.make_event("Linked from Odoo")
        self.outlook_create("Linked from Outlook")
        self.sync()
        self.outlook_create("Outlook, never synced")
        self.make_event("Odoo, never synced")
        self.env["microsoft.calendar.binding"].sudo().search(
            [("event_id.name", "=", "Odoo, never synced")]).unlink()
        self.colleague = self.env["calendar.event"].with_user(self.bob).create({
            "name": "Bob's", "user_id": self.bob.id, "start": self.tomorrow, "stop": self.tomorrow})

    def check(self, delete_mode, sync_mode, odoo, outlook):
        wizard = self.env["microsoft.calendar.reset.account"].with_user(self.manager).create(
            {"user_id": self.alice.id, "delete_mode": delete_mode, "sync_mode": sync_mode})
        wizard.action_confirm()
        self.control("POST", "/clock", {"advance_seconds": 2})
        self.sync()
        self.sync()
        names = self.env["calendar.event"].sudo().search([("user_id", "=", self.alice.id)]).mapped("name")
        self.assertEqual(sorted(names), sorted(odoo), "Odoo, each event once")
        self.assertEqual(sorted(event["subject"] for event in self.outlook_events()), sorted(outlook),
                         "Outlook, each event once")
        self.assertTrue(self.colleague.exists() and self.colleague.active, "a colleague's event is never touched")
        self.assertEqual(self.sent_mail(), [])

    LINKED = ["Linked from Odoo", "Linked from Outlook"]
    EVERYTHING = LINKED + ["Outlook, never synced", "Odoo, never synced"]

    def test_untouched_only_new(self):
        self.check("none", "new", self.LINKED + ["Odoo, never synced"], self.LINKED + ["Outlook, never synced"])

    def test_untouched_all(self):
        self.check("none", "all", self.EVERYTHING, self.EVERYTHING)

    def test_delete_outlook_only_new(self):
        self.check("outlook", "new", self.LINKED + ["Odoo, never synced"], ["Outlook, never synced"])

    def test_delete_outlook_all(self):
        self.check("outlook", "all", self.EVERYTHING, self.EVERYTHING)

    def test_delete_odoo_only_new(self):
        self.check("odoo", "new", ["Odoo, never synced"], self.LINKED + ["Outlook, never synced"])

    def test_delete_odoo_all(self):
        self.check("odoo", "all", self.EVERYTHING, self.EVERYTHING)

    def test_delete_both_only_new(self):
        self.check("both", "new", ["Odoo, never synced"], ["Outlook, never synced"])

    def test_delete_both_all(self):
        self.check("both", "all", ["Odoo, never synced", "Outlook, never synced"],
                   ["Odoo, never synced", "Outlook, never synced"])

    def test_all_existing_never_invites_the_attendees_of_existing_meetings(self):
        meeting = self.env["calendar.event"].with_user(self.alice).create({
            "name": "Existing meeting", "user_id": self.alice.id, "start": self.tomorrow, "stop": self.tomorrow,
            "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)]})
        self.env["microsoft.calendar.binding"].sudo().search([("event_id", "=", meeting.id)]).unlink()
        self.clear_mail()
        self.check("none", "all", self.EVERYTHING + ["Existing meeting"], self.EVERYTHING)
        binding = self.env["microsoft.calendar.binding"].sudo().search([("event_id", "=", meeting.id)])
        self.assertEqual((binding.state, binding.skip_reason), ("skipped", "existing_meeting"))
        self.assertIn("second invitation", meeting.with_user(self.alice).mcs_sync_summary)
        meeting.location = "Room 4"  # a later edit does not send it either
        self.sync()
        self.assertNotIn("Existing meeting", [event["subject"] for event in self.outlook_events()])
        self.assertEqual(self.sent_mail(), [])

    def test_reset_of_an_archived_user(self):
        self.alice.sudo().active = False  # left the company; a manager cleans up her events
        self.check("both", "new", ["Odoo, never synced"], ["Outlook, never synced"])
