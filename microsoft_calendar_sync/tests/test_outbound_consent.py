# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A colleague's change cannot make the organizer's mailbox e-mail outsiders.

Bob works in Odoo over real HTTP (JSON-RPC, as the web client does) on events
Alice organizes; Alice's Outlook is connected. What Outlook e-mails is read
from the sandbox's sent-mail log.
"""

from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.outbound_consent import OTHERS_CHANGES_PARAM
from .sync_common import SyncCase

OUTSIDER = "client@partner.example"


@tagged("post_install", "-at_install")
class TestOutboundConsent(SyncCase):

    def setUp(self):
        super().setUp()
        self.outsider = self.env["res.partner"].create({"name": "A Client", "email": OUTSIDER})

    def as_bob(self, method, model, args, kwargs=None):
        self.authenticate("bob", "bob")
        return self.make_jsonrpc_request(f"/web/dataset/call_kw/{model}/{method}", {
            "model": model, "method": method, "args": args, "kwargs": kwargs or {}})

    def bob_creates_for_alice(self, name, partners):
        values = {"name": name, "user_id": self.alice.id, "start": str(self.tomorrow),
                  "stop": str(self.tomorrow + timedelta(hours=1)),
                  "partner_ids": [(6, 0, [self.alice.partner_id.id, *partners.ids])]}
        [event_id] = self.as_bob("create", "calendar.event", [[values]])
        return self.env["calendar.event"].browse(event_id)

    def test_colleague_cannot_invite_an_outsider_from_the_organizers_mailbox(self):
        event = self.bob_creates_for_alice("Offer review", self.outsider)
        self.push()
        binding = self.binding(event)
        self.assertEqual(binding.state, "held")
        self.assertEqual(binding.changed_by_id, self.bob)
        self.assertIn(OUTSIDER, binding.held_reason)
        self.assertIn("Bob Stone", binding.held_reason)
        self.assertEqual(self.sent_mail(), [], "Outlook e-mailed from Alice's mailbox on Bob's word")
        self.assertEqual(self.outlook_events(), [])
        # Alice is told, on her account and on the Outlook button
        self.assertTrue(self.account.activity_ids.filtered(lambda a: a.user_id == self.alice))
        self.assertEqual(self.account.with_user(self.alice)._mcs_status()["counts"]["held"], 1)
        # Bob cannot approve it for her, by RPC or otherwise
        with self.assertRaises(AccessError):
            binding.with_user(self.bob).action_send_to_outlook()

        # Alice's own later edit does not let it through either
        event.with_user(self.alice).write({"location": "Room 2"})
        self.push()
        self.assertEqual(self.binding(event).state, "held")
        self.assertEqual(self.sent_mail(), [])

        binding.with_user(self.alice).action_send_to_outlook()
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        [mail] = self.sent_mail()
        self.assertEqual(mail["kind"], "invitation")
        self.assertIn(OUTSIDER, mail["to"])
        self.assertEqual(len(self.outlook_events()), 1)
        self.assertEqual(self.outlook_get(self.binding(event).graph_id)["location"]["displayName"], "Room 2")
        self.assertFalse(self.account.activity_ids.filtered(lambda a: a.user_id == self.alice))

    def test_colleague_changes_without_outside_mail_go_out(self):
        event = self.bob_creates_for_alice("Team lunch", self.bob.partner_id)
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.as_bob("write", "calendar.event", [[event.id], {"name": "Team lunch (moved)"}])
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.assertEqual(self.outlook_events()[0]["subject"], "Team lunch (moved)")

    def test_organizer_only_policy_holds_every_change_by_others(self):
        self.env["ir.config_parameter"].sudo().set_param(OTHERS_CHANGES_PARAM, "organizer_only")
        event = self.make_event("Dentist")
        self.push()
        self.as_bob("write", "calendar.event", [[event.id], {"name": "Renamed by Bob"}])
        self.push()
        self.assertEqual(self.binding(event).state, "held")
        self.assertEqual(self.outlook_events()[0]["subject"], "Dentist")
        self.binding(event).with_user(self.alice).action_send_to_outlook()
        self.push()
        self.assertEqual(self.outlook_events()[0]["subject"], "Renamed by Bob")

    def test_colleague_cannot_cancel_a_meeting_with_outsiders(self):
        event = self.make_event("Offer review", partner_ids=[(4, self.alice.partner_id.id),
                                                              (4, self.outsider.id)])
        self.push()
        self.clear_mail()
        self.as_bob("unlink", "calendar.event", [[event.id]])
        self.push()
        self.assertEqual(self.sent_mail(), [], "a cancellation went out on Bob's word")
        self.assertEqual(len(self.outlook_events()), 1)
        held = self.env["microsoft.calendar.binding"].sudo().search([("state", "=", "held")])
        self.assertEqual(len(held), 1)
        held.with_user(self.alice).action_send_to_outlook()
        self.push()
        self.assertEqual([m["kind"] for m in self.sent_mail()], ["cancellation"])

    def test_organizers_own_changes_and_the_everyone_policy_go_out(self):
        event = self.make_event("Offer review", partner_ids=[(4, self.alice.partner_id.id), (4, self.outsider.id)])
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.env["ir.config_parameter"].sudo().set_param(OTHERS_CHANGES_PARAM, "everyone")
        other = self.bob_creates_for_alice("Demo", self.outsider)
        self.push()
        self.assertEqual(self.binding(other).state, "synced")
        self.assertEqual(len(self.sent_mail()), 2)

    def test_an_outlook_edit_made_while_held_is_kept_when_sent(self):
        event = self.make_event("Offer review", partner_ids=[(4, self.alice.partner_id.id)])
        self.push()
        graph_id = self.binding(event).graph_id
        self.as_bob("write", "calendar.event", [[event.id], {
            "location": "Room 2", "partner_ids": [(4, self.outsider.id)]}])
        self.push()
        self.assertEqual(self.binding(event).state, "held")
        # Alice renames it in Outlook meanwhile; the pull leaves the waiting event alone
        self.outlook_update(graph_id, {"subject": "Offer review (v2)"})
        self.sync()
        self.assertEqual(self.binding(event).state, "held")
        self.assertEqual(self.sent_mail(), [])

        self.binding(event).with_user(self.alice).action_send_to_outlook()
        self.sync()
        stored = self.outlook_get(graph_id)
        self.assertEqual(stored["subject"], "Offer review (v2)", "the organizer's Outlook edit was overwritten")
        self.assertEqual(stored["location"]["displayName"], "Room 2")
        self.assertIn(OUTSIDER, [a["emailAddress"]["address"] for a in stored["attendees"]])
        self.assertEqual(event.name, "Offer review (v2)")
        self.assertEqual(self.binding(event).state, "synced")
