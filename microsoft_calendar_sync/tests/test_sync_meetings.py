# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Meetings of several connected users: one Odoo event per meeting, answers both ways, invitations
that only their organizer changes, and the e-mails the sandbox says Outlook sent."""

from datetime import timedelta, timezone

import requests

from odoo.tests import tagged

from ..utils.event_mapping import odoo_ref

from .sync_common import SyncCase


@tagged("post_install", "-at_install")
class TestSyncMeetings(SyncCase):

    def setUp(self):
        super().setUp()
        self.settings = self.env["microsoft.calendar.config"]._mcs_settings()

    # -- helpers -----------------------------------------------------------------

    def connect_bob(self):
        bob = self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        bob._mcs_sync()
        self.clear_mail()
        return bob

    def graph(self, account):
        return self.settings.graph_client(account._mcs_sign_in())

    def meeting_body(self, subject, *addresses):
        start = self.tomorrow.replace(tzinfo=timezone.utc)
        return {
            "subject": subject,
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": address}, "type": "required"} for address in addresses],
        }

    def meeting_with_bob(self, bob, name, **values):
        """Alice's Odoo meeting with Bob, sent from her Outlook and synchronized into Bob's account."""
        event = self.Event.create({"name": name, "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
                                   "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)],
                                   **values})
        self.push()
        bob._mcs_sync()
        return event

    def invitation_from_unconnected_alice(self, bob, body):
        """A meeting Alice organizes in Outlook (``body``), her mailbox not connected here, synchronized
        into Bob's account: the Odoo event comes from Bob's invitation."""
        self.account.sudo().write({"state": "paused"})
        with self.outlook() as client:
            client.create_event(body)
        self.account.sudo().write({"state": "not_connected"})
        bob._mcs_sync()

    def copy_of(self, address, subject):
        [item] = [item for item in self.outlook_events(address) if item["subject"] == subject]
        return item

    def events_named(self, subject):
        return self.env["calendar.event"].sudo().with_context(active_test=False).search([("name", "=", subject)])

    def row(self, account, graph_id):
        return self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", account.id), ("graph_id", "=", graph_id)])

    def attendee(self, event, user):
        return event.attendee_ids.filtered(lambda a: a.partner_id == user.partner_id)

    # -- one Odoo event per meeting ------------------------------------------------

    def test_a_meeting_sent_from_odoo_is_one_event_in_the_organizers_and_the_attendees_odoo(self):
        bob = self.connect_bob()
        event = self.Event.create({"name": "Budget review", "start": self.tomorrow,
                                   "stop": self.tomorrow + timedelta(hours=1),
                                   "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)]})
        self.push()
        # Bob's copy is listed to his account, which joins Alice's event
        counts = bob._mcs_sync()
        self.assertFalse(counts["sent"], counts)
        self.assertEqual(len(self.events_named("Budget review")), 1, "no second Odoo event for Bob's copy")
        copy = self.copy_of("bob@contoso.com", "Budget review")
        row = self.row(bob, copy["id"])
        self.assertEqual((row.event_id, row.attendee_copy, row.state), (event, True, "synced"))
        self.assertTrue(event.mcs_binding_ids.filtered(lambda b: b.account_id == self.account).meeting_origin,
                        "Alice's row brought the meeting")
        self.assertEqual([(mail["kind"], mail["to"]) for mail in self.sent_mail()],
                         [("invitation", ["bob@contoso.com"])], "one invitation, nothing else")
        for _run in range(2):
            self.sync()
            bob._mcs_sync()
        self.assertEqual(len(self.sent_mail()), 1, "later runs send nothing")

    def test_an_invitation_waits_for_its_connected_organizer_then_joins(self):
        bob = self.connect_bob()
        with self.outlook() as client:
            client.create_event(self.meeting_body("Planning", "bob@contoso.com"))
        copy = self.copy_of("bob@contoso.com", "Planning")
        bob._mcs_sync()  # Bob's account runs first: Alice's account brings the meeting
        row = self.row(bob, copy["id"])
        self.assertEqual((row.state, row.skip_reason), ("skipped", "organizer_first"))
        self.assertFalse(self.events_named("Planning"))
        self.sync()
        [event] = self.events_named("Planning")
        self.assertEqual((row.event_id, row.state, row.attendee_copy), (event, "synced", True))
        self.assertEqual(event.user_id, self.alice)
        bob._mcs_sync()
        self.assertEqual(len(self.events_named("Planning")), 1)
        self.assertEqual(self.sent_mail()[-1]["kind"], "invitation")
        self.assertEqual(len(self.sent_mail()), 1, "only Outlook's own invitation")

    def test_an_organizer_who_connects_later_joins_the_event_an_attendee_brought(self):
        self.account.sudo().write({"state": "paused"})  # Alice's Outlook is not synchronized here yet
        bob = self.connect_bob()
        with self.outlook() as client:
            client.create_event(self.meeting_body("Kick-off", "bob@contoso.com", "x@fabrikam.com"))
        bob._mcs_sync()
        [event] = self.events_named("Kick-off")
        self.assertEqual(event.user_id, self.alice, "the real organizer")
        self.account.sudo().write({"state": "connected"})
        self.clear_mail()
        counts = self.sync()
        self.assertEqual(len(self.events_named("Kick-off")), 1, "Alice's copy joined Bob's event")
        copy = self.copy_of("alice@contoso.com", "Kick-off")
        row = self.row(self.account, copy["id"])
        self.assertEqual((row.event_id, row.attendee_copy), (event, False))
        self.assertFalse(counts["outlook_updated"] or counts["outlook_created"], counts)
        self.assertEqual(self.sent_mail(), [], "joining sends nothing")
        # from now on Alice's Odoo edits go out through her mailbox, once
        event.with_user(self.alice).write({"location": "Room 4"})
        self.sync()
        bob._mcs_sync()
        self.assertEqual([(mail["kind"], sorted(mail["to"])) for mail in self.sent_mail()],
                         [("update", ["bob@contoso.com", "x@fabrikam.com"])])
        self.assertEqual(len(self.events_named("Kick-off")), 1)

    # -- invitations: organizer rules ---------------------------------------------

    def test_an_odoo_edit_of_a_meeting_whose_organizer_is_not_connected_is_kept_and_flagged(self):
        bob = self.connect_bob()
        self.invitation_from_unconnected_alice(bob, self.meeting_body("Supplier call", "bob@contoso.com"))
        self.clear_mail()
        [event] = self.events_named("Supplier call")
        copy = self.copy_of("bob@contoso.com", "Supplier call")
        row = self.row(bob, copy["id"])
        event.with_user(self.bob).sudo().write({"name": "Supplier call (moved)"})
        self.assertIn("not sent to Outlook", row.not_sent_note)
        self.assertIn("not sent to Outlook", event.with_user(self.bob).mcs_sync_summary)
        counts = bob._mcs_sync()
        self.assertFalse(counts["sent"], counts)
        self.assertEqual(self.copy_of("bob@contoso.com", "Supplier call")["subject"], "Supplier call")
        self.assertEqual(event.name, "Supplier call (moved)", "kept in Odoo")
        self.assertEqual(self.sent_mail(), [])

    # -- answers -------------------------------------------------------------------

    def test_answers_both_ways(self):
        bob = self.connect_bob()
        event = self.meeting_with_bob(bob, "Design review")
        self.clear_mail()
        # Bob accepts in Odoo: his Outlook answers the organizer, once
        self.attendee(event, self.bob).with_user(self.bob).do_accept()
        bob._mcs_sync()
        bob._mcs_sync()
        mails = self.sent_mail()
        self.assertEqual([(mail["kind"], mail["from"], mail["to"], mail.get("response")) for mail in mails],
                         [("response", "bob@contoso.com", ["alice@contoso.com"], "accepted")])
        self.assertEqual(self.copy_of("bob@contoso.com", "Design review")["responseStatus"]["response"], "accepted")
        self.sync()
        self.assertEqual(self.attendee(event, self.bob).state, "accepted")
        # Bob answers "maybe" in Outlook: Odoo shows it (from his copy, and from Alice's tally)
        copy = self.copy_of("bob@contoso.com", "Design review")
        with self.graph(bob) as client:
            client.post(f"/me/events/{copy['id']}/tentativelyAccept", {"sendResponse": True})
        bob._mcs_sync()
        self.assertEqual(self.attendee(event, self.bob).state, "tentative")
        self.sync()
        self.assertEqual(self.attendee(event, self.bob).state, "tentative")
        self.assertEqual(len(self.sent_mail()), 2, "Bob's two answers, nothing sent back")

    def test_declining_in_outlook_leaves_the_meeting_in_odoo_for_the_others(self):
        bob = self.connect_bob()
        event = self.meeting_with_bob(bob, "Offsite")
        copy = self.copy_of("bob@contoso.com", "Offsite")
        with self.graph(bob) as client:
            client.post(f"/me/events/{copy['id']}/decline", {"sendResponse": True})
        self.clear_mail()
        bob._mcs_sync()
        self.assertTrue(event.active, "the meeting stays")
        self.assertEqual(self.attendee(event, self.bob).state, "declined")
        self.assertFalse(self.row(bob, copy["id"]), "Bob's row is gone with his copy")
        self.sync()
        self.assertIn("Offsite", [item["subject"] for item in self.outlook_events()])
        self.assertEqual(self.sent_mail(), [], "no cancellation, no update")

    def test_removing_the_meeting_from_ones_odoo_calendar_declines_it_and_never_cancels_it(self):
        bob = self.connect_bob()
        self.invitation_from_unconnected_alice(bob, self.meeting_body("Vendor demo", "bob@contoso.com", "x@fabrikam.com"))
        [event] = self.events_named("Vendor demo")
        copy = self.copy_of("bob@contoso.com", "Vendor demo")
        self.clear_mail()
        event.with_user(self.bob).sudo().write({"partner_ids": [(3, self.bob.partner_id.id)]})
        bob._mcs_sync()
        self.assertEqual([(mail["kind"], mail["from"], mail.get("response")) for mail in self.sent_mail()],
                         [("response", "bob@contoso.com", "declined")])
        self.assertNotIn(copy["id"], [item["id"] for item in self.outlook_events("bob@contoso.com")])
        self.assertIn("Vendor demo", [item["subject"] for item in self.outlook_events()], "not cancelled")
        self.assertFalse(self.row(bob, copy["id"]))

    def test_deleting_a_meeting_its_connected_organizer_cancels_sends_no_decline(self):
        bob = self.connect_bob()
        event = self.meeting_with_bob(bob, "Retro")
        self.clear_mail()
        event.unlink()
        bob._mcs_sync()  # Bob's account first: it leaves the cancelling to Alice's
        self.sync()
        bob._mcs_sync()
        self.assertEqual([(mail["kind"], mail["to"]) for mail in self.sent_mail()],
                         [("cancellation", ["bob@contoso.com"])])

    # -- recurring meetings ------------------------------------------------------------

    def test_a_recurring_meeting_is_one_odoo_series_and_takes_answers_as_a_whole(self):
        bob = self.connect_bob()
        event = self.Event.create({
            "name": "Weekly sync", "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
            "recurrency": True, "rrule_type": "weekly", "interval": 1, "end_type": "count", "count": 4,
            "event_tz": "Europe/Brussels", ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[self.tomorrow.weekday()]: True,
            "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id)]})
        self.push()
        counts = bob._mcs_sync()
        self.assertFalse(counts["sent"], counts)
        self.assertEqual(self.events_named("Weekly sync"), event.recurrence_id.calendar_event_ids,
                         "Bob's copy of the series joined Alice's recurrence")
        [copy] = [item for item in self.outlook_events("bob@contoso.com")
                  if item["subject"] == "Weekly sync" and item["type"] == "seriesMaster"]
        row = self.row(bob, copy["id"])
        self.assertEqual((row.kind, row.attendee_copy, row.recurrence_id), ("series", True, event.recurrence_id))
        self.clear_mail()
        # Bob accepts one occurrence in Odoo: Outlook answers the whole series, once
        occurrence = event.recurrence_id.calendar_event_ids.sorted("start")[1]
        self.attendee(occurrence, self.bob).with_user(self.bob).do_accept()
        bob._mcs_sync()
        bob._mcs_sync()
        self.assertEqual([(mail["kind"], mail.get("response")) for mail in self.sent_mail()], [("response", "accepted")])
        self.sync()
        bob._mcs_sync()
        states = set(event.recurrence_id.calendar_event_ids.attendee_ids.filtered(
            lambda a: a.partner_id == self.bob.partner_id).mapped("state"))
        self.assertEqual(states, {"accepted"}, "Outlook's answer is the series' answer")
        self.assertEqual(len(self.sent_mail()), 1)

    # -- bad input -------------------------------------------------------------------

    def test_an_event_the_user_organizes_under_an_alias_is_the_users_own(self):
        created = self.outlook_create("Alias meeting", attendees=[
            {"emailAddress": {"address": "x@fabrikam.com"}, "type": "required"}])
        mailbox = self.sandbox.world.mailbox_by_address("alice@contoso.com")
        with self.sandbox.world.lock:
            mailbox.events[created["id"]].data["organizer"] = {
                "emailAddress": {"name": "Alice", "address": "a.martin@contoso.com"}}
        self.clear_mail()
        self.sync()
        [event] = self.events_named("Alias meeting")
        self.assertEqual(event.user_id, self.alice, "Outlook says Alice organizes it (isOrganizer)")
        event.with_user(self.alice).write({"name": "Alias meeting (v2)"})
        self.sync()
        self.assertEqual(self.outlook_get(created["id"])["subject"], "Alias meeting (v2)")
        self.assertEqual([mail["kind"] for mail in self.sent_mail()], ["update"])

    def test_two_partners_sharing_an_address_are_invited_once(self):
        twins = self.env["res.partner"].create([{"name": "Xavier", "email": "x@fabrikam.com"},
                                                {"name": "X. (duplicate)", "email": "X@fabrikam.com"}])
        nameless = self.env["res.partner"].create({"name": "No address"})
        self.Event.create({"name": "Twins", "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
                           "partner_ids": [(4, self.alice.partner_id.id), (4, nameless.id)]
                           + [(4, partner.id) for partner in twins]})
        counts = self.push()
        self.assertFalse(counts["errors"], counts)
        [item] = [item for item in self.outlook_events() if item["subject"] == "Twins"]
        self.assertEqual([a["emailAddress"]["address"].lower() for a in item["attendees"]], ["x@fabrikam.com"])
        self.assertEqual([(mail["kind"], mail["to"]) for mail in self.sent_mail()],
                         [("invitation", ["x@fabrikam.com"])])
        self.sync()
        self.assertEqual(len(self.sent_mail()), 1, "the address is not taken as changed afterwards")

    def test_upgrade_marks_the_rows_of_invitations(self):
        bob = self.connect_bob()
        with self.outlook() as client:
            client.create_event(self.meeting_body("Legacy invitation", "bob@contoso.com"))
        self.sync()
        bob._mcs_sync()
        copy = self.copy_of("bob@contoso.com", "Legacy invitation")
        row = self.row(bob, copy["id"])
        own = self.row(self.account, self.copy_of("alice@contoso.com", "Legacy invitation")["id"])
        (row | own).write({"attendee_copy": False})  # as rows were before 19.0.1.4.0
        self.env.flush_all()
        self.migrate("19.0.1.4.0", "19.0.1.3.0")
        self.assertEqual((row.attendee_copy, own.attendee_copy), (True, False))

    def test_unknown_attendees_without_new_contacts_stay_in_outlook(self):
        self.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.no_new_contacts", "True")
        created = self.outlook_create("Partners call", attendees=[
            {"emailAddress": {"address": "stranger@nowhere.example"}, "type": "required"},
            {"emailAddress": {"address": "bob@contoso.com"}, "type": "optional"}])
        self.sync()
        [event] = self.events_named("Partners call")
        self.assertFalse(self.env["res.partner"].search([("email", "=ilike", "stranger@nowhere.example")]),
                         "no contact created, by the setting")
        self.assertEqual(event.partner_ids, self.alice.partner_id | self.bob.partner_id)
        self.clear_mail()
        event.with_user(self.alice).write({"name": "Partners call (agenda)"})
        self.sync()
        item = self.outlook_get(created["id"])
        self.assertEqual(sorted(a["emailAddress"]["address"] for a in item["attendees"]),
                         ["bob@contoso.com", "stranger@nowhere.example"], "Odoo removed nobody")
        self.assertEqual([(mail["kind"], sorted(mail["to"])) for mail in self.sent_mail()],
                         [("update", ["bob@contoso.com", "stranger@nowhere.example"])])
        # removing a known attendee in Odoo still removes them
        event.with_user(self.alice).write({"partner_ids": [(3, self.bob.partner_id.id)]})
        self.sync()
        item = self.outlook_get(created["id"])
        self.assertEqual([a["emailAddress"]["address"] for a in item["attendees"]], ["stranger@nowhere.example"])

    def test_two_accounts_bringing_one_meeting_at_the_same_moment_make_one_event(self):
        bob = self.connect_bob()
        self.account.sudo().write({"state": "paused"})
        with self.outlook() as client:
            client.create_event(self.meeting_body("Race", "bob@contoso.com"))
        copy = self.copy_of("bob@contoso.com", "Race")
        # Alice's worker brought the meeting at the same moment and has not committed: Bob's run
        # cannot see its row, only the database's unique index on the meeting's origin does.
        other = self.Event.sudo().with_context(mcs_from_outlook=True).create({"name": "Race", "start": self.tomorrow,
                                          "stop": self.tomorrow + timedelta(hours=1), "user_id": self.alice.id})
        hidden = self.env["microsoft.calendar.binding"].sudo().create({
            "key": "race", "account_id": self.account.id, "event_id": other.id, "odoo_ref": f"x:calendar.event:{other.id}",
            "ical_uid": copy["iCalUId"], "meeting_origin": True, "state": "skipped", "graph_id": "elsewhere"})
        bob._mcs_sync()
        self.assertEqual(bob.state, "connected", "not an error of the account: the next run settles it")
        self.assertIn("same meeting", bob.last_error)
        self.assertEqual(self.events_named("Race"), other, "Bob's run undid its own copy of the event")
        self.assertFalse(self.row(bob, copy["id"]))
        # Alice's worker commits: the next run of Bob's account joins her event
        hidden.write({"state": "synced", "odoo_ref": odoo_ref(other)})
        bob._mcs_sync()
        self.assertEqual(self.events_named("Race"), other)
        self.assertEqual(self.row(bob, copy["id"]).event_id, other)

    def test_an_answer_a_crash_interrupted_is_not_sent_twice(self):
        bob = self.connect_bob()
        event = self.meeting_with_bob(bob, "Standup")
        copy = self.copy_of("bob@contoso.com", "Standup")
        row = self.row(bob, copy["id"])
        self.attendee(event, self.bob).with_user(self.bob).do_accept()
        # the run that sent it died before it could record so: Outlook has the answer already
        with self.graph(bob) as client:
            client.respond_to_event(copy["id"], "accept")
        row.write({"answer_tried": True})
        self.clear_mail()
        bob._mcs_sync()
        self.assertEqual(self.sent_mail(), [], "Outlook holds the answer: not sent again")
        self.assertEqual((row.state, row.answer_pending), ("synced", False))

    # -- nobody answers or leaves for someone else ----------------------------------------

    def test_a_colleague_cannot_answer_or_decline_from_someone_elses_outlook(self):
        bob = self.connect_bob()
        self.invitation_from_unconnected_alice(bob, self.meeting_body("Board", "bob@contoso.com", "x@fabrikam.com"))
        [event] = self.events_named("Board")
        copy = self.copy_of("bob@contoso.com", "Board")
        self.clear_mail()
        # Alice (a colleague in Odoo) changes Bob's answer, over JSON-RPC as she would
        attendee = self.attendee(event, self.bob)
        self.authenticate("alice", "alice")
        self.make_jsonrpc_request("/web/dataset/call_kw/calendar.attendee/write", {
            "model": "calendar.attendee", "method": "write", "args": [attendee.ids, {"state": "declined"}],
            "kwargs": {}})
        self.assertEqual(attendee.state, "declined", "Odoo lets a colleague change it")
        bob._mcs_sync()
        self.assertEqual(self.sent_mail(), [], "Bob's Outlook does not answer on Alice's word")
        self.assertEqual(self.row(bob, copy["id"]).answer_pending, False)
        # Alice removes Bob from the meeting in Odoo: no decline from Bob's Outlook either
        event.with_user(self.alice).write({"partner_ids": [(3, self.bob.partner_id.id)]})
        bob._mcs_sync()
        self.assertEqual(self.sent_mail(), [])
        self.assertIn(copy["id"], [item["id"] for item in self.outlook_events("bob@contoso.com")])
        self.assertFalse(self.row(bob, copy["id"]), "Bob's row is forgotten; Bob is still invited in Outlook")

    def test_a_forged_invitation_with_a_meetings_icaluid_does_not_join_it(self):
        bob = self.connect_bob()
        event = self.Event.create({"name": "Salaries", "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
                                   "partner_ids": [(4, self.alice.partner_id.id), (4, self.manager.partner_id.id)]})
        self.push()
        ical_uid = self.binding(event).ical_uid
        self.assertTrue(ical_uid)
        # someone outside who knows the meeting's iCalUId invites Bob with it, as its "organizer"
        world = self.sandbox.world
        mailbox = world.mailbox_by_address("bob@contoso.com")
        with self.outlook() as client:
            created = client.create_event(self.meeting_body("Forged", "bob@contoso.com"))
        copy = self.copy_of("bob@contoso.com", "Forged")
        with world.lock:
            mailbox.events[copy["id"]].ical_uid = ical_uid
            mailbox.events[copy["id"]].data["organizer"] = {"emailAddress": {"address": "mallory@evil.example"}}
        self.outlook_delete(created["id"])  # (Alice's own copy of the forged one is not the point)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            bob._mcs_sync()
        self.assertEqual(event.name, "Salaries")
        self.assertNotEqual(self.row(bob, copy["id"]).event_id, event, "not joined to Alice's meeting")
        self.assertNotIn(self.bob.partner_id, event.partner_ids)

    def test_an_organizer_odoo_has_no_user_for_is_a_contact_on_the_event(self):
        Partner = self.env["res.partner"]
        older = Partner.create({"name": "Carol (old)", "email": "carol@outlook.com"})
        Partner.create({"name": "Carol (newer)", "email": "Carol@Outlook.com"})
        bob = self.connect_bob()
        token = self.control("POST", "/tokens", {"mailbox": "carol@outlook.com"})["access_token"]
        response = requests.post(f"{self.sandbox.graph_url}/me/events", json=self.meeting_body(
            "Carol's party", "bob@contoso.com"), headers={"Authorization": f"Bearer {token}"},
            verify=self.sandbox.ca_path, timeout=10)
        response.raise_for_status()
        self.clear_mail()
        bob._mcs_sync()
        [event] = self.events_named("Carol's party")
        self.assertFalse(event.user_id, "no Odoo user organizes it")
        self.assertEqual(event.partner_ids, older | self.bob.partner_id,
                         "the organizer is one contact (a user's first, else the oldest), as Odoo shows it")
        self.assertEqual(event.attendee_ids.filtered(lambda a: a.partner_id == older).state, "accepted")
        for _run in range(2):
            counts = bob._mcs_sync()
            self.assertFalse(counts["sent"] or counts["odoo_updated"], counts)
        row = self.row(bob, self.copy_of("bob@contoso.com", "Carol's party")["id"])
        self.assertFalse(row.not_sent_note, "the organizer in Odoo's attendees is no change of Odoo's")
        self.assertEqual(self.sent_mail(), [])
        # Bob invites someone in Odoo: kept in Odoo, said on the row, and Odoo mails nobody either
        guest = Partner.create({"name": "Guest", "email": "guest@fabrikam.com"})
        odoo_mails = self.odoo_mails()
        event.with_user(self.bob).write({"partner_ids": [(4, guest.id)]})
        self.assertEqual(self.odoo_mails(), odoo_mails, "Carol's Outlook invites, not Odoo")
        self.assertIn("not sent to Outlook", row.not_sent_note)
        bob._mcs_sync()
        self.assertEqual(self.sent_mail(), [])

    def test_an_answer_waiting_for_a_new_sign_in_says_so_and_goes_out_after_it(self):
        bob = self.connect_bob()
        event = self.meeting_with_bob(bob, "Review")
        self.clear_mail()
        bob.sudo().write({"state": "needs_reauth"})  # Microsoft no longer takes Bob's tokens
        self.attendee(event, self.bob).with_user(self.bob).do_decline()
        bob._mcs_sync()
        self.assertEqual(self.sent_mail(), [])
        summary = event.with_user(self.bob).mcs_sync_summary
        self.assertIn("Your answer (Decline) waits", summary)
        self.assertIn("sign in to Outlook again", summary)
        bob.sudo().write({"state": "connected"})  # signed in again
        bob._mcs_sync()
        self.assertEqual([(mail["kind"], mail.get("response")) for mail in self.sent_mail()],
                         [("response", "declined")], "sent once the account works again, nothing lost")

    def test_an_odoo_edit_of_a_series_one_is_invited_to_is_kept_and_flagged(self):
        bob = self.connect_bob()
        first = self.tomorrow.replace(tzinfo=timezone.utc)
        self.invitation_from_unconnected_alice(bob, {
            **self.meeting_body("Weekly 1:1", "bob@contoso.com"),
            "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [first.strftime("%A").lower()]},
                           "range": {"type": "numbered", "startDate": first.date().isoformat(),
                                     "numberOfOccurrences": 3}}})
        events = self.events_named("Weekly 1:1")
        self.assertEqual(len(events), 3)
        row = self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", bob.id), ("kind", "=", "series")])
        self.assertEqual((row.attendee_copy, row.recurrence_id), (True, events.recurrence_id))
        self.clear_mail()
        events.sorted("start")[0].with_user(self.bob).sudo().write(
            {"location": "Room 9", "recurrence_update": "all_events"})
        self.assertIn("not sent to Outlook", row.not_sent_note)
        counts = bob._mcs_sync()
        self.assertFalse(counts["sent"], counts)
        self.assertEqual(self.sent_mail(), [])
        self.assertIn("not sent to Outlook", row.not_sent_note, "still said after the run")
        self.assertIn("not sent to Outlook", events.sorted("start")[-1].with_user(self.bob).mcs_sync_summary)

    def test_an_invitation_to_a_users_alias_is_that_user_never_a_new_contact(self):
        self.sandbox.world.mailbox_by_address("alice@contoso.com").aliases.append("a.martin@contoso.com")
        self.account._mcs_check_connection()  # Microsoft lists the mailbox's proxy addresses
        self.assertEqual(self.account.mailbox_aliases, "a.martin@contoso.com")
        bob = self.connect_bob()
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        with settings.graph_client(bob._mcs_sign_in()) as client:
            created = client.create_event(self.meeting_body("Alias invite", "a.martin@contoso.com", "x@fabrikam.com"))
        bob._mcs_sync()
        [event] = self.events_named("Alias invite")
        self.assertFalse(self.env["res.partner"].search([("email", "=ilike", "a.martin@contoso.com")]),
                         "no contact for Alice's alias")
        self.assertIn(self.alice.partner_id, event.partner_ids, "the alias is Alice")
        self.clear_mail()
        event.with_user(self.bob).write({"name": "Alias invite (agenda)"})
        bob._mcs_sync()
        with settings.graph_client(bob._mcs_sign_in()) as client:
            item = client.get_event(created["id"])
        self.assertEqual(sorted(a["emailAddress"]["address"].lower() for a in item["attendees"]),
                         ["a.martin@contoso.com", "x@fabrikam.com"], "Outlook keeps the alias")
        self.assertEqual([(mail["kind"], sorted(mail["to"])) for mail in self.sent_mail()],
                         [("update", ["a.martin@contoso.com", "x@fabrikam.com"])], "an update, no swap")
        # Alice's copy (delivered to her alias) joins the event, nothing said, nothing sent
        counts = self.sync()
        self.assertFalse(counts["sent"], counts)
        self.assertEqual(len(self.events_named("Alias invite (agenda)")), 1)
        row = self.row(self.account, self.copy_of("alice@contoso.com", "Alias invite (agenda)")["id"])
        self.assertEqual((row.event_id, row.attendee_copy, row.not_sent_note), (event, True, False))
        self.assertEqual(len(self.sent_mail()), 1)
