# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Both sides changed between two runs: per-field three-way merge, the policy
setting for a field changed on both sides, and where the conflict is shown;
412 (changed meanwhile) and 404 (deleted meanwhile) on a push."""

from odoo.tests import tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncConflicts(SyncCase):

    def setUp(self):
        super().setUp()
        self.event = self.make_event("Planning", location="Room 1")
        self.push()
        self.graph_id = self.binding(self.event).graph_id

    def stored(self):
        return self.outlook_get(self.graph_id)

    def test_different_fields_are_merged(self):
        self.event.write({"location": "Room 2"})
        self.outlook_update(self.graph_id, {"subject": "Planning (moved agenda)"})
        self.sync()
        self.assertEqual(self.event.name, "Planning (moved agenda)")
        self.assertEqual(self.event.location, "Room 2")
        stored = self.stored()
        self.assertEqual(stored["subject"], "Planning (moved agenda)")
        self.assertEqual(self.binding(self.event).state, "synced")
        self.assertFalse(self.event.message_ids.filtered(lambda m: "changed in Odoo and in Outlook" in (m.body or "")))

    def _both_change_subject(self):
        self.event.write({"name": "Odoo's title"})
        self.outlook_update(self.graph_id, {"subject": "Outlook's title"})  # later than Odoo's write

    def test_same_field_later_change_wins_and_is_recorded(self):
        self._both_change_subject()
        counts = self.sync()
        self.assertEqual(counts["conflicts"], 1, counts)
        self.assertEqual(self.event.name, "Outlook's title")
        self.assertEqual(self.stored()["subject"], "Outlook's title")
        notes = self.event.message_ids.filtered(lambda m: "changed in Odoo and in Outlook" in (m.body or ""))
        self.assertEqual(len(notes), 1)
        self.assertIn("subject", notes.body)

    def test_same_field_odoo_wins_policy(self):
        self.set_params(conflict_policy="odoo_wins")
        self.addCleanup(self.set_params, conflict_policy="later_wins")
        self._both_change_subject()
        self.sync()
        self.assertEqual(self.event.name, "Odoo's title")
        self.assertEqual(self.stored()["subject"], "Odoo's title")

    def test_changed_meanwhile_412_is_refetched_and_merged(self):
        self.event.write({"location": "Room 9"})
        self.outlook_update(self.graph_id, {"subject": "Renamed in Outlook"})
        self.fault(method="PATCH", path="/me/events/*", status=412, times=1)
        self.push()
        self.assertEqual(self.stored()["location"]["displayName"], "Room 9")
        self.assertEqual(self.event.name, "Renamed in Outlook", "the re-fetched Outlook change is merged")
        self.assertEqual(self.binding(self.event).state, "synced")

    def test_deleted_meanwhile_404_creates_again_with_the_odoo_edit(self):
        self.outlook_delete(self.graph_id)
        self.event.write({"name": "Still wanted"})
        self.push()
        binding = self.binding(self.event)
        self.assertEqual(binding.state, "synced")
        self.assertNotEqual(binding.graph_id, self.graph_id)
        self.assertEqual([e["subject"] for e in self.outlook_events() if e["id"] == binding.graph_id],
                         ["Still wanted"])

    def test_archived_in_odoo_edited_in_outlook_comes_back_as_the_same_event(self):
        """An Outlook edit wins over an Odoo deletion: an archived event is unarchived with that edit
        (the same record: its chatter, links and attendees' answers stay), never copied into a new
        one, which unarchiving the old one later would turn into a duplicate (chaos seed 5)."""
        self.event.message_post(body="Agenda agreed")
        self.event.active = False
        self.outlook_update(self.graph_id, {"location": {"displayName": "Room 4"}})
        self.control("DELETE", "/stats")
        counts = self.sync()
        self.assertEqual((counts["odoo_created"], counts["odoo_updated"], counts["sent"]), (0, 1, 0), counts)
        self.assertEqual(self.control("GET", "/stats")["by_endpoint"], {"GET /me/calendarView/delta": 1},
                         "nothing is written back to Outlook")
        self.assertTrue(self.event.active, "the archived event is back")
        self.assertEqual(self.event.location, "Room 4")
        self.assertIn("Agenda agreed", "".join(self.event.message_ids.mapped("body")))
        self.assertEqual(self.Event.with_context(active_test=False).search_count([("name", "=", "Planning")]), 1,
                         "no copy, archived or not")
        binding = self.binding(self.event)
        self.assertEqual((binding.state, binding.graph_id), ("synced", self.graph_id))
        self.assertEqual([e["subject"] for e in self.outlook_events()], ["Planning"])

    def test_deleted_in_odoo_edited_in_outlook_comes_back_as_a_new_event(self):
        self.event.unlink()
        self.outlook_update(self.graph_id, {"location": {"displayName": "Room 4"}})
        counts = self.sync()
        self.assertEqual(counts["odoo_created"], 1, counts)
        [back] = self.Event.search([("name", "=", "Planning")])
        self.assertEqual((back.location, self.binding(back).graph_id), ("Room 4", self.graph_id))
