# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Meetings and the e-mails they cost (issue #13): each action on a meeting
Alice organizes makes Outlook send exactly the messages Outlook itself would
send for it, once, and Odoo sends none of its own.

Read from the sandbox's sent-mail log (``/_sandbox/mail``: one entry per message,
with every recipient). Bob (bob@contoso.com) is another sandbox mailbox, not
connected; x@fabrikam.com and y@fabrikam.com are outside addresses. After each
action the sync runs twice more: a run with nothing to send sends nothing."""

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import requests

from odoo import Command
from odoo.tests import tagged

from .sync_common import SyncCase

BOB = "bob@contoso.com"
X = "x@fabrikam.com"
Y = "y@fabrikam.com"


@tagged("post_install", "-at_install", "mcs_sync", "mcs_meetings")
class TestMeetingMail(SyncCase):

    def setUp(self):
        super().setUp()
        Partner = self.env["res.partner"]
        self.x = Partner.create({"name": "Xavier Outside", "email": X})
        self.y = Partner.create({"name": "Yolanda Outside", "email": Y})
        self.odoo_mails_before = self.odoo_mails()

    # -- helpers -----------------------------------------------------------------

    def mail(self):
        """The messages Outlook sent since the last clear: (kind, sorted recipients), all from Alice."""
        log = self.sent_mail()
        self.assertEqual({entry["from"] for entry in log} - {"alice@contoso.com"}, set(),
                         f"only the organizer's mailbox sends: {log}")
        return [(entry["kind"], sorted(entry["to"])) for entry in log]

    def assert_mail(self, expected, message=""):
        """Exactly ``expected`` was sent since the last clear; then two more runs send nothing."""
        self.assertEqual(self.mail(), expected, message)
        self.assertEqual(self.odoo_mails(), self.odoo_mails_before, "Odoo sends no e-mail of its own")
        self.clear_mail()
        for run in (1, 2):
            self.sync()
            self.assertEqual(self.mail(), [], f"run {run} after the action sent again")
        self.assertEqual(self.odoo_mails(), self.odoo_mails_before, "Odoo sends no e-mail of its own")

    def meeting(self, name="Project review", *partners, **values):
        partners = partners or (self.bob.partner_id, self.x)
        return self.make_event(name, partner_ids=[Command.set([self.alice.partner_id.id, *(p.id for p in partners)])],
                               **values)

    def pushed_meeting(self, name="Project review", *partners, **values):
        """A meeting already in Outlook (its invitations sent and cleared)."""
        event = self.meeting(name, *partners, **values)
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.clear_mail()
        return event

    def stored(self, event, address="alice@contoso.com"):
        graph_id = self.binding(event).graph_id
        [item] = [item for item in self.outlook_events(address) if item["id"] == graph_id]
        return item

    def copies(self, subject, address=BOB):
        return [item for item in self.outlook_events(address) if item["subject"].endswith(subject)]

    def series(self, name="Team weekly", count=4, partners=None):
        start = self.tomorrow.replace(tzinfo=ZoneInfo("Europe/Brussels")).astimezone(ZoneInfo("UTC"))
        start = start.replace(tzinfo=None)
        partners = partners or (self.bob.partner_id, self.x)
        return self.Event.create({
            "name": name, "start": start, "stop": start + timedelta(minutes=30), "user_id": self.alice.id,
            "partner_ids": [Command.set([self.alice.partner_id.id, *(p.id for p in partners)])],
            "recurrency": True, "rrule_type": "daily", "interval": 1, "end_type": "count", "count": count,
            "event_tz": "Europe/Brussels"})

    def series_row(self, recurrence):
        return self.env["microsoft.calendar.binding"].sudo().search(
            [("kind", "=", "series"), ("recurrence_id", "=", recurrence.id)])

    # -- single meetings made in Odoo ---------------------------------------------------

    def test_create_invites_every_attendee_once(self):
        event = self.meeting("Kick-off")
        self.assertEqual(self.odoo_mails(), self.odoo_mails_before, "Odoo must not send its own invitation")
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.assert_mail([("invitation", [BOB, X])], "one invitation, to each attendee but the organizer")
        self.assertEqual(len(self.copies("Kick-off")), 1, "Bob's mailbox got the meeting once")

    def test_delete_cancels_once(self):
        event = self.pushed_meeting("Doomed meeting")
        event.unlink()
        self.push()
        self.assert_mail([("cancellation", [BOB, X])])
        self.assertTrue(self.copies("Doomed meeting")[0]["isCancelled"])

    def test_archive_cancels_and_unarchive_invites_once(self):
        event = self.pushed_meeting("Archived meeting")
        event.write({"active": False})
        self.push()
        self.assert_mail([("cancellation", [BOB, X])], "archiving cancels the meeting")
        event.write({"active": True})
        self.push()
        self.assertEqual(self.binding(event).state, "synced")
        self.assert_mail([("invitation", [BOB, X])], "unarchiving invites again")

    def test_adding_an_attendee_invites_only_them(self):
        event = self.pushed_meeting("Growing meeting", self.bob.partner_id)
        event.write({"partner_ids": [Command.link(self.x.id)]})
        self.push()
        self.assert_mail([("invitation", [X])], "nobody else hears of it")
        self.assertEqual(sorted(a["emailAddress"]["address"] for a in self.stored(event)["attendees"]), [BOB, X])

    def test_removing_an_attendee_cancels_only_them(self):
        event = self.pushed_meeting("Shrinking meeting", self.bob.partner_id, self.x, self.y)
        event.write({"partner_ids": [Command.unlink(self.y.id)]})
        self.push()
        self.assert_mail([("cancellation", [Y])], "nobody else hears of it")
        self.assertEqual(sorted(a["emailAddress"]["address"] for a in self.stored(event)["attendees"]), [BOB, X])

    def test_replacing_an_attendee_invites_one_and_cancels_the_other(self):
        event = self.pushed_meeting("Swapped meeting", self.bob.partner_id, self.x)
        event.write({"partner_ids": [Command.unlink(self.x.id), Command.link(self.y.id)]})
        self.push()
        self.assertEqual(sorted(self.mail()), [("cancellation", [X]), ("invitation", [Y])])
        self.clear_mail()
        self.assert_mail([])

    def test_subject_and_time_edits_send_one_update(self):
        event = self.pushed_meeting("Budget")
        event.write({"name": "Budget 2027"})
        self.push()
        self.assert_mail([("update", [BOB, X])], "a new subject: one update to the attendees")
        self.assertEqual([c["subject"] for c in self.copies("Budget 2027")], ["Budget 2027"])
        event.write({"start": event.start + timedelta(hours=2), "stop": event.stop + timedelta(hours=2)})
        self.push()
        self.assert_mail([("update", [BOB, X])], "a new time: one update")
        # a change of several meeting fields at once is still one message
        event.write({"name": "Budget 2027 (final)", "location": "Room 9", "start": event.start + timedelta(days=1),
                     "stop": event.stop + timedelta(days=1)})
        self.push()
        self.assert_mail([("update", [BOB, X])], "one write, one update")

    def test_personal_fields_send_nothing(self):
        event = self.pushed_meeting("Personal fields")
        tag = self.env["calendar.event.type"].create({"name": "Customer"})
        counts = Counter()
        event.write({"alarm_ids": [Command.set([self.env.ref("calendar.alarm_notif_3").id])]})
        counts.update(self.push())
        event.write({"categ_ids": [Command.link(tag.id)]})
        counts.update(self.push())
        event.write({"show_as": "free"})
        counts.update(self.push())
        self.assertEqual(counts["graph batch"], 3, f"each personal change went to Outlook: {counts}")
        stored = self.outlook_get(self.binding(event).graph_id)
        self.assertEqual((stored["reminderMinutesBeforeStart"], stored["categories"], stored["showAs"]),
                         (60, ["Customer"], "free"))
        self.assert_mail([], "the organizer's own view of the meeting e-mails nobody")

    # -- changes made in Outlook ---------------------------------------------------------

    def test_an_outlook_change_pulled_sends_nothing_more(self):
        event = self.pushed_meeting("Changed in Outlook")
        graph_id = self.binding(event).graph_id
        new_start = event.start + timedelta(hours=3)
        self.outlook_update(graph_id, {
            "subject": "Changed in Outlook (moved)", "location": {"displayName": "Room 2"},
            "start": {"dateTime": f"{new_start:%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"},
            "end": {"dateTime": f"{new_start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}", "timeZone": "UTC"}})
        self.assertEqual(self.mail(), [("update", [BOB, X])], "Outlook's own update (Alice's edit)")
        self.clear_mail()
        self.sync()
        self.assertEqual((event.name, event.location, event.start), ("Changed in Outlook (moved)", "Room 2", new_start))
        self.assert_mail([], "the pull sends nothing: Outlook already told the attendees")

    def test_an_outlook_attendee_change_pulled_sends_nothing_more(self):
        event = self.pushed_meeting("Attendees changed in Outlook", self.bob.partner_id, self.x)
        graph_id = self.binding(event).graph_id
        self.outlook_update(graph_id, {"attendees": [
            {"emailAddress": {"address": BOB, "name": "Bob Stone"}, "type": "required"},
            {"emailAddress": {"address": Y, "name": "Yolanda Outside"}, "type": "required"}]})
        self.assertEqual(sorted(self.mail()), [("cancellation", [X]), ("invitation", [Y])])
        self.clear_mail()
        self.sync()
        self.assertEqual(event.partner_ids, self.alice.partner_id | self.bob.partner_id | self.y)
        self.assert_mail([])

    def test_an_outlook_meeting_imported_then_edited_in_odoo(self):
        self.outlook_create("Made in Outlook", attendees=[
            {"emailAddress": {"address": BOB, "name": "Bob Stone"}, "type": "required"},
            {"emailAddress": {"address": X, "name": "Xavier Outside"}, "type": "required"}])
        self.assertEqual(self.mail(), [("invitation", [BOB, X])], "Outlook invited them when Alice created it")
        self.clear_mail()
        self.sync()
        event = self.Event.search([("name", "=", "Made in Outlook")])
        self.assertEqual(len(event), 1)
        self.assertEqual(event.partner_ids, self.alice.partner_id | self.bob.partner_id | self.x)
        self.assert_mail([], "importing a meeting e-mails nobody")
        event.write({"location": "Room 5"})
        self.push()
        self.assert_mail([("update", [BOB, X])], "an Odoo edit of an imported meeting: one update")

    def test_an_attendee_answer_pulled_sends_nothing_more(self):
        event = self.pushed_meeting("Answered meeting")
        [copy] = self.copies("Answered meeting")
        token = self.control("POST", "/tokens", {"mailbox": BOB, "client_id": "outlook-web"})["access_token"]
        answer = requests.post(f"{self.sandbox.graph_url}/me/events/{copy['id']}/accept", json={"sendResponse": True},
                               headers={"Authorization": f"Bearer {token}"}, verify=self.sandbox.ca_path, timeout=10)
        answer.raise_for_status()
        self.assertEqual([(m["kind"], m["from"], m["to"]) for m in self.sent_mail()],
                         [("response", BOB, ["alice@contoso.com"])], "Bob's answer, mailed by his Outlook")
        self.clear_mail()
        self.sync()
        [attendee] = event.attendee_ids.filtered(lambda attendee: attendee.partner_id == self.bob.partner_id)
        self.assertEqual(attendee.state, "accepted", "the answer reached Odoo")
        self.assert_mail([], "taking in an answer e-mails nobody")

    # -- Bob connected too: his copy goes through his own account ------------------------------

    def connect_bob(self):
        bob_account = self.assert_connected(self.connect(self.bob), self.bob, BOB)
        bob_account._mcs_sync()
        return bob_account

    def shared_meeting(self, bob_account, name, *partners):
        """Alice's meeting, pushed, and Bob's copy of it in Odoo through his account; mail cleared."""
        event = self.meeting(name, *partners)
        self.push()
        self.assertEqual(self.mail(), [("invitation", sorted(partner.email for partner in partners))])
        self.clear_mail()
        bob_account._mcs_sync()
        self.assertEqual(self.mail(), [], "Bob's copy reaching Odoo e-mails nobody")
        self.assertEqual(self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", bob_account.id)]).event_id, event, "Bob's copy is Alice's Odoo event")
        return event

    def log(self):
        """Every message since the last clear, Bob's answers included: (kind, from, recipients)."""
        return [(entry["kind"], entry["from"], sorted(entry["to"])) for entry in self.sent_mail()]

    def both_sync_quietly(self, bob_account, message, rows=True):
        """Two more runs of each account send nothing; with ``rows``, nothing waits in Bob's account."""
        for _run in (1, 2):
            bob_account._mcs_sync()
            self.sync()
            self.assertEqual(self.log(), [], message)
        self.assertEqual(self.odoo_mails(), self.odoo_mails_before, f"Odoo sends no e-mail of its own: {message}")
        self.assertEqual(bob_account.state, "connected", bob_account.last_error)
        if rows:
            waiting = self.env["microsoft.calendar.binding"].sudo().search(
                [("account_id", "=", bob_account.id), ("state", "in", ("held", "pending", "error"))])
            self.assertFalse(waiting, "nothing is left waiting in Bob's account: " + "; ".join(
                f"{row.kind} {row.state} {row.pending or ''} {row.last_error or ''}"[:200] for row in waiting))

    def test_a_connected_attendee_syncs_without_mail(self):
        # Alice's delete marks Bob's row of the meeting too: it is an invitation's row, never held for
        # an approval (it was, with an outside guest: Bob got an approval e-mail, his row stayed held)
        self.connected_attendee_story(self.bob.partner_id, self.x)

    def test_a_connected_colleague_only_syncs_without_mail(self):
        self.connected_attendee_story(self.bob.partner_id)

    def connected_attendee_story(self, *partners):
        """Bob's copy of Alice's meeting comes and goes through his own sync; the only messages are
        Alice's (from her Outlook), once per action."""
        recipients = sorted(partner.email for partner in partners)
        bob_account = self.connect_bob()
        event = self.shared_meeting(bob_account, "Shared with Bob", *partners)
        self.both_sync_quietly(bob_account, "Bob's copy in Odoo e-mails nobody")
        event.write({"name": "Shared with Bob (moved)", "start": event.start + timedelta(hours=1),
                     "stop": event.stop + timedelta(hours=1)})
        self.push()
        self.assertEqual(self.mail(), [("update", recipients)], "one update, from the organizer's mailbox only")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "Bob's updated copy e-mails nobody")
        event.unlink()
        self.push()
        self.assertEqual(self.mail(), [("cancellation", recipients)])
        self.clear_mail()
        self.both_sync_quietly(bob_account, "Bob's cancelled copy e-mails nobody (no decline, no second cancellation)")

    def test_a_connected_attendee_removed_by_the_organizer_gets_one_cancellation(self):
        bob_account = self.connect_bob()
        event = self.shared_meeting(bob_account, "Without Bob", self.bob.partner_id, self.x)
        event.write({"partner_ids": [Command.unlink(self.bob.partner_id.id)]})
        bob_account._mcs_sync()
        self.sync()
        self.assertEqual(self.log(), [("cancellation", "alice@contoso.com", [BOB])], "no decline from Bob as well")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "nothing more")

    def bob_leaves(self, *others):
        """Bob removes himself from Alice's meeting in Odoo: Outlook hears of it once (his decline to Alice,
        or Alice's cancellation to him only), Bob's copy is no longer an accepted-or-pending meeting, Odoo
        e-mails nobody and nothing waits."""
        bob_account = self.connect_bob()
        event = self.shared_meeting(bob_account, "Bob leaves", self.bob.partner_id, *others)
        [copy] = self.copies("Bob leaves")
        event.with_user(self.bob).write({"partner_ids": [Command.unlink(self.bob.partner_id.id)]})
        bob_account._mcs_sync()
        self.sync()
        self.assertIn(self.log(), ([("response", BOB, ["alice@contoso.com"])],
                                   [("cancellation", "alice@contoso.com", [BOB])]),
                      "one message about Bob, to or from him only")
        left = [item for item in self.outlook_events(BOB) if item["id"] == copy["id"]]
        self.assertTrue(not left or left[0]["isCancelled"] or left[0]["responseStatus"]["response"] == "declined",
                        f"Bob's Outlook still holds the meeting as not declined: {left}")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "nothing more")

    def test_a_connected_attendee_leaving_a_meeting_with_an_outside_guest(self):
        # Bob's leaving changes the attendees only: Outlook mails Bob alone (internal), so Alice's row
        # is not held for her approval (it was, counting every attendee, and nothing reached Outlook)
        self.bob_leaves(self.env["res.partner"].create({"name": "Carol Personal", "email": "carol@outlook.com"}))

    def test_a_connected_attendee_leaving_a_meeting_of_colleagues(self):
        self.bob_leaves(self.manager.partner_id)

    def test_archiving_a_meeting_with_a_connected_attendee_sends_one_cancellation(self):
        bob_account = self.connect_bob()
        event = self.shared_meeting(bob_account, "Archived with Bob", self.bob.partner_id)
        event.write({"active": False})
        bob_account._mcs_sync()  # Bob's account first: it must leave the cancelling to Alice's
        self.sync()
        self.assertEqual(self.log(), [("cancellation", "alice@contoso.com", [BOB])], "no decline from Bob")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "nothing more")

    def shared_series(self, bob_account, name):
        event = self.series(name, count=4, partners=(self.bob.partner_id, self.manager.partner_id))
        self.push()
        self.assertEqual(self.mail(), [("invitation", sorted([BOB, self.manager.email]))],
                         "one invitation for the series")
        self.clear_mail()
        return event

    def test_a_connected_attendee_and_a_recurring_meeting(self):
        """The messages only (what Bob's account leaves waiting is the next test's)."""
        bob_account = self.connect_bob()
        event = self.shared_series(bob_account, "Weekly with Bob")
        recipients = sorted([BOB, self.manager.email])
        self.both_sync_quietly(bob_account, "Bob's copy of the series in Odoo e-mails nobody", rows=False)
        self.assertEqual(len(self.Event.search([("name", "=", "Weekly with Bob")])), 4, "one Odoo series, not two")
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        events[1].write({"name": "Weekly with Bob (demo)", "recurrence_update": "self_only"})
        self.push()
        self.assertEqual(self.mail(), [("update", recipients)], "one update for the changed occurrence")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "Bob's copy of the changed occurrence e-mails nobody", rows=False)
        events[2].unlink()
        self.push()
        self.assertEqual(self.mail(), [("cancellation", recipients)], "one cancellation for the deleted occurrence")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "Bob's copy of the cancelled occurrence e-mails nobody", rows=False)
        event.action_mass_deletion("all_events")
        self.push()
        self.assertEqual(self.mail(), [("cancellation", recipients)], "one cancellation for the series")
        self.clear_mail()
        self.both_sync_quietly(bob_account, "Bob's cancelled series e-mails nobody", rows=False)

    def test_a_connected_attendee_of_a_recurring_meeting_has_nothing_waiting(self):
        # Bob's account never cancels the occurrences of a series he is only invited to (it tried to,
        # and four rows stayed pending for ever)
        bob_account = self.connect_bob()
        self.shared_series(bob_account, "Weekly with Bob")
        self.both_sync_quietly(bob_account, "Bob's copy of the series in Odoo e-mails nobody")

    # -- recurring meetings ----------------------------------------------------------------

    def test_recurring_meeting_create_invites_once_for_the_series(self):
        event = self.series("Weekly sync", count=4)
        self.assertEqual(self.odoo_mails(), self.odoo_mails_before, "Odoo must not send its own invitations")
        self.push()
        self.assertEqual(self.series_row(event.recurrence_id).state, "synced")
        self.assert_mail([("invitation", [BOB, X])], "one invitation for the whole series, not one per occurrence")
        masters = [item for item in self.outlook_events(BOB) if item["type"] == "seriesMaster"]
        self.assertEqual(len(masters), 1, "Bob's mailbox holds the series once")

    def test_recurring_meeting_one_occurrence_edited_sends_one_update(self):
        event = self.series("Daily check", count=4)
        self.push()
        self.clear_mail()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        events[1].write({"name": "Daily check (demo)", "recurrence_update": "self_only"})
        self.push()
        self.assert_mail([("update", [BOB, X])], "one update for the changed occurrence")
        exceptions = [item for item in self.outlook_events() if item["type"] == "exception"]
        self.assertEqual([item["subject"] for item in exceptions], ["Daily check (demo)"])

    def test_recurring_meeting_one_occurrence_deleted_sends_one_cancellation(self):
        event = self.series("Daily triage", count=4)
        self.push()
        self.clear_mail()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        events[2].unlink()
        self.push()
        self.assert_mail([("cancellation", [BOB, X])], "one cancellation for the deleted occurrence")
        self.assertEqual(len(event.recurrence_id.calendar_event_ids), 3)

    def test_recurring_meeting_deleted_sends_one_cancellation(self):
        event = self.series("Daily retro", count=4)
        self.push()
        graph_id = self.series_row(event.recurrence_id).graph_id
        self.clear_mail()
        event.action_mass_deletion("all_events")
        self.push()
        self.assert_mail([("cancellation", [BOB, X])], "one cancellation for the whole series")
        self.assertNotIn(graph_id, [item["id"] for item in self.outlook_events()])

    def test_recurring_meeting_one_occurrence_archived_sends_one_cancellation(self):
        event = self.series("Daily walk", count=4)
        self.push()
        self.clear_mail()
        events = event.recurrence_id.calendar_event_ids.sorted("start")
        events[1].action_mass_archive("self_only")
        self.push()
        self.assert_mail([("cancellation", [BOB, X])], "one cancellation for the archived occurrence")

    def test_recurring_meeting_whole_series_edited(self):
        event = self.series("Daily plan", count=4)
        self.push()
        self.clear_mail()
        event.write({"name": "Daily plan (new room)", "location": "Room 3", "recurrence_update": "all_events"})
        self.push()
        self.assert_mail([("update", [BOB, X])], "one update for the series, not one per occurrence")
        event.write({"partner_ids": [Command.link(self.y.id)], "recurrence_update": "all_events"})
        self.push()
        self.assert_mail([("invitation", [Y])], "the new attendee is invited to the series, nobody else hears")
        masters = [item for item in self.outlook_events() if item["type"] == "seriesMaster"]
        self.assertEqual(len(masters), 1, "still one series in Outlook")

    def test_single_meeting_made_recurring_sends_one_update(self):
        event = self.pushed_meeting("Becomes weekly")
        graph_id = self.binding(event).graph_id
        event.write({"recurrency": True, "rrule_type": "daily", "interval": 1, "end_type": "count", "count": 3})
        self.push()
        self.assert_mail([("update", [BOB, X])], "the meeting became a series: one update, no cancellation")
        [master] = [item for item in self.outlook_events() if item["type"] == "seriesMaster"]
        self.assertEqual(master["id"], graph_id, "the same Outlook event, now a series")

    # -- odd attendees ---------------------------------------------------------------------

    def test_attendees_without_address_or_sharing_one(self):
        Partner = self.env["res.partner"]
        nameless = Partner.create({"name": "Walk-in visitor"})  # no e-mail
        twin_a = Partner.create({"name": "Dana (sales)", "email": "dana@fabrikam.com"})
        twin_b = Partner.create({"name": "Dana (support)", "email": "Dana@Fabrikam.com"})
        event = self.meeting("Odd attendees", self.bob.partner_id, nameless, twin_a, twin_b)
        self.push()
        binding = self.binding(event)
        self.assertEqual(binding.state, "synced", binding.last_error)
        self.assertIn("Synchronized with alice@contoso.com", event.mcs_sync_summary)
        self.assertIn("not invited in Outlook (no e-mail address): Walk-in visitor", event.mcs_sync_summary,
                      "an attendee Outlook cannot invite is said on the event")
        self.assert_mail([("invitation", [BOB, "dana@fabrikam.com"])], "once per address, none without one")
        self.assertEqual(sorted(a["emailAddress"]["address"].lower() for a in self.stored(event)["attendees"]),
                         [BOB, "dana@fabrikam.com"])
        self.assertEqual(len(event.partner_ids), 5, "Odoo keeps every attendee it had")
        # one of the two partners leaves: the address still attends, nobody is e-mailed
        event.write({"partner_ids": [Command.unlink(twin_b.id)]})
        self.push()
        self.assert_mail([], "the address still attends")
        # the other leaves too: now the address is cancelled
        event.write({"partner_ids": [Command.unlink(twin_a.id)]})
        self.push()
        self.assert_mail([("cancellation", ["dana@fabrikam.com"])])
        self.assertEqual(binding.state, "synced", binding.last_error)
