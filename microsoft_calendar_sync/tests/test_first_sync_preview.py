# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""First sync without surprises (issue 13): existing meetings wait for the user's review.

Bob has meetings in Odoo before he connects his Outlook: the first sync waits
for his choice (the crons leave it alone), the review says what would be
imported, created and e-mailed to whom, and each choice is checked against
the sandbox's log of the e-mails Outlook would have sent."""

from collections import Counter
from datetime import datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .sync_common import SyncCase

QUIET = {"no_mail_to_attendees": True, "mail_create_nosubscribe": True, "mail_create_nolog": True,
         "mail_notrack": True, "tracking_disable": True}


@tagged("post_install", "-at_install", "mcs_sync")
class TestFirstSyncPreview(SyncCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"].sudo()
        cls.ext1 = Partner.create({"name": "Erin Fabrikam", "email": "erin@fabrikam.example"})
        cls.ext2 = Partner.create({"name": "Frank Tailspin", "email": "frank@tailspin.example"})
        cls.ext3 = Partner.create({"name": "Grace Late", "email": "grace@late.example"})

    def setUp(self):
        super().setUp()  # Alice connected and synced once (she has no meetings: she was not asked)
        self.now = datetime.now().replace(microsecond=0)

    # -- helpers ---------------------------------------------------------------

    def meetings(self, name, starts, attendees):
        """Bob's meetings (as they exist before he connects): one per start, with ``attendees`` besides him."""
        return self.env["calendar.event"].with_user(self.bob).with_context(**QUIET).create([{
            "name": f"{name} {number}", "start": start, "stop": start + timedelta(hours=1), "user_id": self.bob.id,
            "partner_ids": [(4, self.bob.partner_id.id)] + [(4, partner.id) for partner in attendees],
        } for number, start in enumerate(starts)])

    def past(self, count):
        return [self.now - timedelta(days=1 + number // 10, hours=number % 10) for number in range(count)]

    def future(self, count):
        return [self.now + timedelta(days=1 + number, hours=number % 5) for number in range(count)]

    def connect_bob(self):
        account = self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        self.env.invalidate_all()  # the callback wrote the account through another environment
        return account

    def review(self, account, user=None, **choices):
        action = account.with_user(user or self.bob).action_mcs_review_first_sync()
        self.assertEqual(action["res_model"], "microsoft.calendar.first.sync")
        review = self.env["microsoft.calendar.first.sync"].with_user(user or self.bob).browse(action["res_id"])
        if choices:
            review.write(choices)
        return review

    def bob_outlook(self, account):
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        return settings.graph_client(account._mcs_sign_in(), mailbox=account.mailbox)

    def bob_events(self):
        return {event["subject"]: event for event in self.outlook_events("bob@contoso.com")}

    def invitations(self):
        """(subject, recipient) of every invitation Outlook sent, one per recipient."""
        return Counter((mail["subject"], recipient) for mail in self.sent_mail() if mail["kind"] == "invitation"
                       for recipient in mail["to"])

    def rows(self, account, events):
        return self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", account.id), ("event_id", "in", events.ids)])

    def bob_requests(self):
        return self.control("GET", "/stats")["by_mailbox"].get("bob@contoso.com", 0)

    def run_crons(self):
        Account = self.env["microsoft.calendar.account"].sudo()
        Account._mcs_cron_push()
        Account._mcs_cron_pull()

    # -- tests -----------------------------------------------------------------

    def test_default_choices_send_no_mail_over_200_past_and_50_future_meetings(self):
        past = self.meetings("Past meeting", self.past(200), self.alice.partner_id | self.ext1)
        future = self.meetings("Future meeting", self.future(50), self.alice.partner_id | self.ext1 | self.ext2)
        own = self.env["calendar.event"].with_user(self.bob).with_context(**QUIET).create([
            {"name": "Dentist", "start": self.now + timedelta(days=2), "stop": self.now + timedelta(days=2, hours=1),
             "user_id": self.bob.id},
            {"name": "Focus time", "start": self.now - timedelta(days=2),
             "stop": self.now - timedelta(days=2) + timedelta(hours=2), "user_id": self.bob.id}])
        self.assertFalse(self.account.first_sync_wait_until, "Alice has no meeting: nothing to ask her")

        account = self.connect_bob()
        self.assertTrue(account.first_sync_wait_until, "the first sync waits for Bob's review")
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/status")  # Bob's browser, back in Calendar
        self.assertTrue(status["flash"]["review_first_sync"], "the calendar opens the review at once")
        self.assertTrue(status["first_sync"]["waiting"])
        self.assertIn("safe choices", status["first_sync"]["text"])
        with self.bob_outlook(account) as client:  # what Bob has in Outlook already
            for subject in ("Outlook one", "Outlook two"):
                client.create_event({"subject": subject,
                                     "start": {"dateTime": (self.now + timedelta(days=3)).isoformat(), "timeZone": "UTC"},
                                     "end": {"dateTime": (self.now + timedelta(days=3, hours=1)).isoformat(),
                                             "timeZone": "UTC"}})
            client.create_event({"subject": "Outlook weekly",
                                 "start": {"dateTime": (self.now + timedelta(days=1)).isoformat(), "timeZone": "UTC"},
                                 "end": {"dateTime": (self.now + timedelta(days=1, hours=1)).isoformat(),
                                         "timeZone": "UTC"},
                                 "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [
                                     (self.now + timedelta(days=1)).strftime("%A").lower()]},
                                     "range": {"type": "numbered", "startDate": (self.now + timedelta(days=1)).strftime(
                                         "%Y-%m-%d"), "numberOfOccurrences": 5}}})
        self.control("DELETE", "/stats")
        self.run_crons()
        self.assertFalse(account.last_sync, "the crons leave a first sync waiting for its review alone")
        self.assertFalse(self.bob_requests(), "nothing asked of or sent to Bob's Outlook")
        self.assertEqual(account.with_user(self.bob).action_sync_now()["type"], "warning")
        self.assertFalse(account._mcs_sync(trigger="webhook"), "an Outlook notification waits too")
        self.assertFalse(account.last_sync)

        review = self.review(account)
        self.assertFalse(review.outlook_error)
        self.assertEqual((review.outlook_count, review.outlook_more), (3, False), "a series counts once")
        self.assertEqual((review.own_count, review.past_count, review.future_count), (2, 200, 50))
        self.assertEqual((review.past_meetings, review.future_meetings), ("no_attendees", "skip"), "the safe default")
        self.assertEqual((review.created_count, review.withheld_count, review.invitation_count), (202, 200, 0))
        self.assertFalse(review.recipients)
        self.assertEqual(self.bob_requests(), 1, "the review asks Outlook once")

        # Bob closes the review without a choice: once its time is up, the safe choices apply
        account.first_sync_wait_until = fields.Datetime.now() - timedelta(seconds=1)
        self.run_crons()
        self.assertTrue(account.last_sync, account.last_error)
        self.assertFalse(account.first_sync_wait_until)
        self.assertTrue(account.message_ids.filtered(lambda message: "without a review" in (message.body or "")))
        self.assertEqual(self.sent_mail(), [], "a first sync with the default choices e-mails nobody")
        stored = self.bob_events()
        self.assertEqual(len([subject for subject in stored if subject.startswith("Past meeting")]), 200)
        self.assertFalse([subject for subject in stored if subject.startswith("Future meeting")])
        self.assertTrue({"Dentist", "Focus time"} <= set(stored))
        self.assertFalse([event for event in stored.values() if event["attendees"]], "no Outlook event invites anyone")
        past_rows, future_rows = self.rows(account, past), self.rows(account, future)
        self.assertEqual(set(past_rows.mapped("state")), {"synced"})
        self.assertTrue(all(past_rows.mapped("attendees_withheld")))
        self.assertEqual(set(future_rows.mapped("skip_reason")), {"existing_meeting"})
        imported = self.env["calendar.event"].sudo().search(
            [("name", "in", ["Outlook one", "Outlook two", "Outlook weekly"])])
        self.assertEqual(len(imported - imported.recurrence_id.calendar_event_ids) + len(imported.recurrence_id), 3,
                         "Outlook's events imported, as the review said")
        # a second run agrees with the first: nothing sent, no attendee lost in Odoo
        self.control("DELETE", "/stats")
        account._mcs_sync()
        self.assertFalse(self.control("GET", "/stats")["by_endpoint"].get("POST /$batch"), "nothing to send")
        self.assertEqual(past[0].partner_ids, self.bob.partner_id | self.alice.partner_id | self.ext1)
        self.assertEqual(self.sent_mail(), [])
        self.assertTrue(own)

    def test_preview_counts_invitations_and_who_gets_them(self):
        self.meetings("Past", self.past(3), self.alice.partner_id | self.ext1)
        self.meetings("Future", self.future(2), self.alice.partner_id | self.ext1 | self.ext2)
        account = self.connect_bob()
        review = self.review(account, future_meetings="with_attendees")
        self.assertEqual((review.past_count, review.future_count, review.created_count), (3, 2, 5))
        self.assertEqual((review.invitation_count, review.invitation_internal, review.invitation_external), (6, 2, 4))
        self.assertIn("alice@contoso.com (internal): 2 invitations", review.recipients)
        self.assertIn("frank@tailspin.example (external): 2 invitations", review.recipients)
        review.write({"past_meetings": "skip", "future_meetings": "skip"})
        self.assertEqual((review.created_count, review.invitation_count, review.withheld_count), (0, 0, 0))

    def test_with_attendees_invites_each_attendee_of_the_future_meetings_only(self):
        self.meetings("Past", self.past(3), self.alice.partner_id | self.ext1)
        future = self.meetings("Future", self.future(2), self.alice.partner_id | self.ext1 | self.ext2)
        account = self.connect_bob()
        self.review(account, future_meetings="with_attendees").action_confirm()
        self.assertFalse(account.first_sync_wait_until)
        self.run_crons()
        self.assertTrue(account.last_sync, account.last_error)
        expected = Counter({(event.name, partner.email): 1 for event in future
                            for partner in self.alice.partner_id | self.ext1 | self.ext2})
        self.assertEqual(self.invitations(), expected,
                         "one invitation per attendee of the future meetings; past meetings invite nobody")
        self.assertEqual([mail for mail in self.sent_mail() if mail["kind"] != "invitation"], [])
        stored = self.bob_events()
        self.assertEqual([stored[f"Past {number}"]["attendees"] for number in range(3)], [[], [], []])
        self.assertEqual(account.first_sync_future_meetings, "skip", "an explicit choice, used once")

    def test_without_attendees_stays_so_on_later_edits(self):
        [meeting] = self.meetings("Kick-off", self.future(1), self.alice.partner_id | self.ext1)
        account = self.connect_bob()
        self.review(account, future_meetings="no_attendees").action_confirm()
        self.run_crons()
        self.assertEqual(self.sent_mail(), [])
        row = self.rows(account, meeting)
        self.assertTrue(row.attendees_withheld)
        self.assertEqual(self.bob_events()["Kick-off 0"]["attendees"], [])
        with self.bob_outlook(account) as client:
            body = client.get_event(row.graph_id)["body"]["content"]
        self.assertIn("alice@contoso.com", body, "the attendees are listed in the Outlook event")
        self.assertIn("Erin Fabrikam &lt;erin@fabrikam.example&gt;", body)

        # Bob edits it in Odoo and adds an attendee: Outlook updates the list, invites nobody
        meeting.with_user(self.bob).write({"name": "Kick-off (moved)", "location": "Room 2",
                                           "partner_ids": [(4, self.ext3.id)]})
        self.run_crons()
        self.assertEqual(self.sent_mail(), [])
        stored = self.bob_events()["Kick-off (moved)"]
        self.assertEqual(stored["attendees"], [])
        with self.bob_outlook(account) as client:
            body = client.get_event(row.graph_id)["body"]["content"]
        self.assertIn("grace@late.example", body)
        self.control("DELETE", "/stats")
        account._mcs_sync()
        self.assertFalse(self.control("GET", "/stats")["by_endpoint"].get("POST /$batch"),
                         "the attendees' list is stable: no PATCH of the body at every run")

        # Bob edits it in Outlook: Odoo keeps its attendees, and the list stays out of its description
        with self.bob_outlook(account) as client:
            client.update_event(row.graph_id, {"subject": "Kick-off (Outlook)", "body": {
                "contentType": "html", "content": "<p>New agenda</p>" + body}})
        account._mcs_sync()
        account._mcs_sync()
        self.assertEqual(meeting.name, "Kick-off (Outlook)")
        self.assertEqual(meeting.partner_ids, self.bob.partner_id | self.alice.partner_id | self.ext1 | self.ext3)
        self.assertIn("New agenda", meeting.description)
        self.assertNotIn("not invited from Outlook", meeting.description, "the list stays out of Odoo")
        with self.bob_outlook(account) as client:
            body = client.get_event(row.graph_id)["body"]["content"]
        self.assertEqual(body.count("not invited from Outlook"), 1, "one list, not one more per round trip")
        self.assertEqual(self.sent_mail(), [])
        self.assertEqual(row.state, "synced")

    def test_do_not_send_keeps_them_out_of_outlook(self):
        past = self.meetings("Old", self.past(2), self.ext1)
        future = self.meetings("Soon", self.future(2), self.ext1)
        account = self.connect_bob()
        future[0].with_user(self.bob).write({"name": "Soon (edited while the review waits)"})
        self.assertEqual(self.rows(account, future[0]).state, "pending", "the outbox marks it, as any edit")
        self.review(account, past_meetings="skip", future_meetings="skip").action_confirm()
        self.run_crons()
        rows = self.rows(account, past | future)
        self.assertEqual(len(rows), 4)
        self.assertEqual(set(rows.mapped("skip_reason")), {"existing_meeting"})
        self.assertEqual(set(rows.mapped("state")), {"skipped"})
        (past | future).with_user(self.bob).write({"location": "Room 9"})  # later edits do not send them either
        self.run_crons()
        self.assertFalse([subject for subject in self.bob_events() if subject.startswith(("Old", "Soon"))])
        self.assertEqual(self.sent_mail(), [])

    def test_a_series_follows_the_choice_as_one_row(self):
        start = self.now + timedelta(days=1)
        weekly = self.env["calendar.event"].with_user(self.bob).with_context(**QUIET).create({
            "name": "Weekly sync", "start": start, "stop": start + timedelta(hours=1), "user_id": self.bob.id,
            "partner_ids": [(4, self.bob.partner_id.id), (4, self.ext1.id), (4, self.alice.partner_id.id)],
            "recurrency": True, "rrule_type": "weekly", "interval": 1, start.strftime("%a").lower()[:3]: True,
            "end_type": "count", "count": 4})
        account = self.connect_bob()
        review = self.review(account, future_meetings="no_attendees")
        self.assertEqual(review.future_count, 1, "a series counts once")
        review.action_confirm()
        self.run_crons()
        account._mcs_sync()
        rows = self.env["microsoft.calendar.binding"].sudo().search([("account_id", "=", account.id),
                                                                     ("recurrence_id", "=", weekly.recurrence_id.id)])
        self.assertEqual([(row.kind, row.state, row.attendees_withheld) for row in rows], [("series", "synced", True)],
                         "one row, and no occurrence sent on its own")
        [master] = [event for event in self.outlook_events("bob@contoso.com") if event["subject"] == "Weekly sync"]
        self.assertEqual((master["type"], master["attendees"]), ("seriesMaster", []))
        self.assertEqual(self.sent_mail(), [])
        self.assertEqual(len(weekly.recurrence_id.calendar_event_ids.partner_ids), 3, "Odoo keeps its attendees")

    def test_reset_to_all_existing_events_goes_through_the_review(self):
        meeting = self.env["calendar.event"].with_user(self.alice).with_context(mcs_from_outlook=True, **QUIET).create({
            "name": "Old review", "user_id": self.alice.id, "start": self.now - timedelta(days=3),
            "stop": self.now - timedelta(days=3) + timedelta(hours=1),
            "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id), (4, self.ext1.id)]})
        wizard = self.env["microsoft.calendar.reset.account"].with_user(self.manager).create(
            {"user_id": self.alice.id, "delete_mode": "none", "sync_mode": "all"})
        action = wizard.action_confirm()
        self.assertEqual(action["res_model"], "microsoft.calendar.first.sync", "the review opens next")
        review = self.env["microsoft.calendar.first.sync"].with_user(self.manager).browse(action["res_id"])
        self.assertIn("review", review.intro)
        self.assertEqual((review.past_count, review.future_count, review.past_meetings), (1, 0, "no_attendees"))
        self.assertTrue(self.account.first_sync_wait_until)
        self.run_crons()
        self.assertFalse(self.account.last_sync, "the crons wait for the review")
        review.action_confirm()
        self.run_crons()
        self.assertTrue(self.account.last_sync)
        row = self.binding(meeting)
        self.assertEqual((row.state, row.attendees_withheld), ("synced", True))
        self.assertEqual(self.sent_mail(), [])

    def test_review_says_when_outlook_cannot_be_asked(self):
        self.meetings("Past", self.past(2), self.ext1)
        account = self.connect_bob()
        self.fault(method="GET", path="/me/calendarView*", mailbox="bob@contoso.com", status=403, times=1)
        review = self.review(account)
        self.assertIn("Outlook could not be asked", review.outlook_error)
        self.assertEqual((review.past_count, review.created_count), (2, 2), "the Odoo side is still shown")
        review.action_confirm()  # and the first sync goes ahead
        self.run_crons()
        self.assertTrue(account.last_sync, account.last_error)
        self.assertEqual(self.sent_mail(), [])

    def test_only_the_owner_and_managers_open_or_read_a_review(self):
        self.meetings("Past", self.past(1), self.ext1)
        account = self.connect_bob()
        portal = new_test_user(self.env, "portal_first_sync", groups="base.group_portal")
        review = self.review(account)
        Review = self.env["microsoft.calendar.first.sync"]
        for intruder in (self.alice, portal):
            with self.assertRaises(AccessError):
                account.with_user(intruder).action_mcs_review_first_sync()
            with self.assertRaises(AccessError):
                Review.with_user(intruder).create({"account_id": account.id})
            with self.assertRaises(AccessError):
                review.with_user(intruder).read(["recipients", "past_count"])
            with self.assertRaises(AccessError):
                review.with_user(intruder).write({"future_meetings": "with_attendees"})
            with self.assertRaises(AccessError):
                review.with_user(intruder).action_confirm()
        self.assertFalse(Review.with_user(self.alice).search([]), "a colleague lists no review of Bob's")
        self.assertTrue(account.first_sync_wait_until, "nobody else started Bob's first sync")
        # a manager may (after a reset, for the user)
        managed = self.review(account, user=self.manager)
        self.assertEqual(managed.past_count, 1)
        with self.assertRaises(AccessError):
            review.with_user(self.manager).read(["past_count"])  # but not Bob's own review


@tagged("post_install", "-at_install", "mcs_sync")
class TestFirstSyncReviewTour(SyncCase):
    """The review opened from the Outlook button's panel, in a real browser."""

    def test_the_panel_opens_the_review_and_its_choice_starts_the_first_sync(self):
        now = datetime.now().replace(microsecond=0)
        erin = self.env["res.partner"].sudo().create({"name": "Erin Fabrikam", "email": "erin@fabrikam.example"})
        Event = self.env["calendar.event"].with_user(self.alice).with_context(mcs_from_outlook=True, **QUIET)
        for name, start in (("Last week", now - timedelta(days=7)), ("Next week", now + timedelta(days=7))):
            Event.create({"name": name, "start": start, "stop": start + timedelta(hours=1), "user_id": self.alice.id,
                          "partner_ids": [(4, self.alice.partner_id.id), (4, self.bob.partner_id.id),
                                          (4, erin.id)]})
        self.account.write({"delta_link": False, "last_sync": False})  # as after a reset to all existing events
        self.assertTrue(self.account._mcs_first_sync_ask())
        self.start_tour("/odoo/calendar", "microsoft_calendar_sync_first_sync_review", login="alice")
        self.assertFalse(self.account.first_sync_wait_until)
        self.assertEqual(self.account.first_sync_future_meetings, "with_attendees")
        self.account._mcs_sync()
        self.assertEqual(sorted((mail["subject"], tuple(sorted(mail["to"]))) for mail in self.sent_mail()),
                         [("Next week", ("bob@contoso.com", "erin@fabrikam.example"))])
