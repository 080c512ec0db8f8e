# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Outlook -> Odoo: delta rounds applied in bulk, deletions archived, events
leaving the window kept, no echo, no Odoo e-mails, 410, crashes, bad payloads,
revoked tokens, first sync after connect."""

from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from outlook_sync.mapping import ODOO_REF_PROPERTY_ID

from odoo.tests import tagged

from ..utils import event_mapping
from .sync_common import SyncCase


class WorkerKilled(Exception):
    """A cron worker dying in the middle of a run."""


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncInbound(SyncCase):

    def odoo_event(self, graph_id):
        binding = self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", graph_id)])
        return binding.event_id.with_context(active_test=False)

    def test_outlook_create_update_delete(self):
        mails_before = self.odoo_mails()
        created = self.outlook_create("Lunch with Dana", location={"displayName": "Cafe"},
                                      attendees=[{"emailAddress": {"address": "bob@contoso.com", "name": "Bob"},
                                                  "type": "required"}])
        self.clear_mail()
        counts = self.sync()
        event = self.odoo_event(created["id"])
        self.assertEqual(event.name, "Lunch with Dana")
        self.assertEqual(event.location, "Cafe")
        self.assertEqual(event.user_id, self.alice)
        self.assertIn(self.bob.partner_id, event.partner_ids)
        self.assertEqual(counts["odoo_created"], 1)
        self.assertEqual(self.odoo_mails(), mails_before, "inbound creates send no Odoo e-mail")
        self.assertEqual(self.sent_mail(), [], "an import sends no Outlook e-mail")
        self.assertFalse(counts["graph batch"], f"an import writes nothing back to Outlook: {counts}")
        [stored] = [e for e in self.outlook_events() if e["id"] == created["id"]]
        self.assertNotIn(ODOO_REF_PROPERTY_ID, stored.get("extendedProperties") or {},
                         "no reference is stamped on an event Outlook created")
        self.assertEqual(stored["changeKey"], created["changeKey"], "the Outlook event was not written")
        # the next round lists nothing: no write of ours comes back through delta
        self.assertFalse(self.sync()["received"], "the import did not echo back in the next delta round")

        # edited in Odoo: the edit reaches Outlook, still without our reference or back-link
        event.location = "Cafe Central"
        self.sync()
        with self.outlook() as client:
            stored = client.get_event(created["id"], {
                "$expand": f"singleValueExtendedProperties($filter=id eq '{ODOO_REF_PROPERTY_ID}')"})
        self.assertEqual(stored["location"]["displayName"], "Cafe Central")
        self.assertFalse(stored.get("singleValueExtendedProperties"), "no reference written by the edit")
        self.assertNotIn(event_mapping.event_url(event), stored["body"]["content"], "no back-link in its body")

        # update in Outlook: applied, not echoed back
        self.outlook_update(created["id"], {"subject": "Lunch with Dana and Eve"})
        counts = self.sync()
        self.assertEqual(event.name, "Lunch with Dana and Eve")
        self.assertFalse(counts["graph batch"], f"an inbound update must not be pushed back: {counts}")
        self.assertEqual(self.odoo_mails(), mails_before)

        # nothing changed: one Graph request (the delta round)
        counts = self.sync()
        graph = {k: v for k, v in counts.items() if k.startswith("graph ")}
        self.assertEqual(sum(graph.values()), 1, graph)

        # deleted in Outlook: archived in Odoo (recoverable)
        self.outlook_delete(created["id"])
        self.sync()
        self.assertTrue(event.exists())
        self.assertFalse(event.active)
        self.assertEqual(self.odoo_mails(), mails_before)

    def test_hard_delete_setting(self):
        self.set_params(hard_delete="True")
        self.addCleanup(self.set_params, hard_delete="False")
        created = self.outlook_create("Temporary")
        self.sync()
        event = self.odoo_event(created["id"])
        self.assertTrue(event)
        self.outlook_delete(created["id"])
        self.sync()
        self.assertFalse(event.exists())

    def test_all_day_and_time_zone(self):
        with self.outlook() as client:
            created = client.create_event({
                "subject": "Offsite", "isAllDay": True,
                "start": {"dateTime": self.tomorrow.date().isoformat() + "T00:00:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": (self.tomorrow.date() + timedelta(days=2)).isoformat() + "T00:00:00",
                        "timeZone": "Europe/Paris"}})
        self.sync()
        event = self.odoo_event(created["id"])
        self.assertTrue(event.allday)
        self.assertEqual(event.start_date, self.tomorrow.date())
        self.assertEqual(event.stop_date, self.tomorrow.date() + timedelta(days=1), "inclusive end")
        timed = self.outlook_create(
            "Call Paris", start=datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
        self.outlook_update(timed["id"], {
            "start": {"dateTime": (self.tomorrow.date()).isoformat() + "T10:00:00", "timeZone": "Romance Standard Time"},
            "end": {"dateTime": (self.tomorrow.date()).isoformat() + "T11:00:00", "timeZone": "Romance Standard Time"}})
        self.sync()
        event = self.odoo_event(timed["id"])
        # 10:00 in Paris is 09:00 or 08:00 UTC depending on the season; Odoo stores UTC
        expected = datetime.combine(self.tomorrow.date(), datetime.min.time()).replace(hour=10)
        from zoneinfo import ZoneInfo
        expected = expected.replace(tzinfo=ZoneInfo("Europe/Paris")).astimezone(timezone.utc).replace(tzinfo=None)
        self.assertEqual(event.start, expected)

    def test_event_leaving_the_window_is_not_archived(self):
        created = self.outlook_create("Moves far away")
        self.sync()
        event = self.odoo_event(created["id"])
        far = datetime.now(timezone.utc) + timedelta(days=800)
        self.outlook_update(created["id"], {
            "start": {"dateTime": far.strftime("%Y-%m-%dT09:00:00"), "timeZone": "UTC"},
            "end": {"dateTime": far.strftime("%Y-%m-%dT10:00:00"), "timeZone": "UTC"}})
        # Graph reports the move as @removed: Odoo asks which it is, keeps the event and moves it
        counts = self.sync()
        self.assertTrue(event.active, counts)
        self.assertEqual(event.start.date(), far.date())
        self.assertEqual(counts["graph batch"], 1, "one $batch of GETs tells moves from deletions")
        # later @removed entries for it are known to be outside the window: no request, no archive
        self.outlook_delete(created["id"])
        counts = self.sync()
        self.assertTrue(event.active)

    def test_removed_after_the_window_slid_past_is_not_a_deletion(self):
        created = self.outlook_create("Last month")
        self.sync()
        event = self.odoo_event(created["id"])
        # the window of the current round now starts after the event (time went by)
        self.account.delta_window_start = event.stop + timedelta(hours=1)
        self.outlook_delete(created["id"])
        counts = self.sync()
        self.assertTrue(event.active, "an event outside the window is never archived by an @removed")
        self.assertEqual(counts["left_window"], 1, counts)
        self.assertFalse(counts["graph batch"], "no request needed to tell: its known time is outside")

    def test_sync_state_lost_restarts_without_duplicates(self):
        for number in range(3):
            self.outlook_create(f"Existing {number}")
        self.sync()
        self.control("POST", "/delta/evict", {"mailbox": "alice@contoso.com"})
        self.outlook_create("New after eviction")
        counts = self.sync()
        self.assertEqual(self.account.state, "connected", self.account.last_error)
        names = self.env["calendar.event"].sudo().search([("user_id", "=", self.alice.id)]).mapped("name")
        for number in range(3):
            self.assertEqual(names.count(f"Existing {number}"), 1, names)
        self.assertEqual(names.count("New after eviction"), 1, counts)

    def test_crash_mid_run_resumes_without_loss_or_duplicates(self):
        for number in range(5):
            self.outlook_create(f"Crash {number}")
        Account = type(self.account)
        apply_page = Account._mcs_apply_page
        applied = []

        def apply_then_die(account, *args, **kwargs):
            # The worker dies as it starts the second page: the first page's
            # changes and resume point were committed.
            if applied:
                raise WorkerKilled()
            applied.append(True)
            return apply_page(account, *args, **kwargs)

        with self.patch_module("PAGE_SIZE", 2):
            # (not assertRaises: Odoo's rolls back to a savepoint, a killed worker keeps its commits)
            crashed = False
            try:
                with patch.object(Account, "_mcs_apply_page", apply_then_die):
                    self.sync()
            except WorkerKilled:
                crashed = True
            self.assertTrue(crashed)
            first = self.env["calendar.event"].sudo().search_count([("name", "like", "Crash %")])
            self.assertGreater(first, 0)
            self.assertLess(first, 5)
            self.account.state = "syncing"  # what the killed run left behind
            self.sync()
        names = self.env["calendar.event"].sudo().search([("name", "like", "Crash %")]).mapped("name")
        self.assertEqual(sorted(names), [f"Crash {n}" for n in range(5)])
        self.assertEqual(len([e for e in self.outlook_events() if e["subject"].startswith("Crash")]), 5)

    def test_unreadable_payload_is_skipped_and_visible(self):
        self.outlook_create("Readable")
        bad = self.outlook_create("Broken")
        with self.unreadable_in_outlook("Broken"), \
                self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING") as logs:
            counts = self.sync()
        self.assertIn(bad["id"], "\n".join(logs.output))
        self.assertEqual(counts["skipped"], 1)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Readable")]), 1)
        skipped = self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", bad["id"])])
        self.assertEqual((skipped.state, skipped.skip_reason), ("skipped", "unreadable"))
        self.assertIn("not a date", skipped.last_error)
        # readable again later: synced
        self.outlook_update(bad["id"], {"subject": "Mended"})
        self.sync()
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Mended")]), 1)

    def test_token_revoked_mid_run_needs_reauthentication(self):
        self.outlook_create("Before revocation")
        self.control("POST", "/tokens/expire", {"mailbox": "alice@contoso.com", "kind": "all", "revoke": True})
        self.sync()
        self.assertEqual(self.account.state, "needs_reauth")
        self.assertIn("Reconnect", self.account.last_error)
        # the outbox waits for the reconnection
        event = self.make_event("Waiting")
        self.assertEqual(self.binding(event).state, "pending")
        self.assertFalse(self.push()["graph batch"])

    def test_first_sync_after_connect(self):
        # Bob has events on both sides before connecting
        bob_event = self.env["calendar.event"].with_user(self.bob).create({
            "name": "Bob's Odoo event", "user_id": self.bob.id, "start": self.tomorrow,
            "stop": self.tomorrow + timedelta(hours=1)})
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        pull_cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull")
        triggers = self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", pull_cron.id)])
        account = self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        self.assertEqual(self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", pull_cron.id)]),
                         triggers + 1, "the first sync is queued after connecting")
        with settings.graph_client(account._mcs_sign_in()) as client:
            client.create_event({"subject": "Bob's Outlook event",
                                 "start": {"dateTime": self.tomorrow.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                                 "end": {"dateTime": (self.tomorrow + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
                                         "timeZone": "UTC"}})
        # a push cron run that comes first (another event saved meanwhile) is not the first sync
        account._mcs_sync(pull=False)
        self.assertFalse(account.last_sync, "the first sync's enqueue is still to run")
        self.env["microsoft.calendar.account"]._mcs_cron_pull()  # what the triggered cron runs
        self.assertEqual(account.state, "connected", account.last_error)
        self.assertTrue(account.last_sync)
        subjects = [e["subject"] for e in self.outlook_events("bob@contoso.com")]
        self.assertIn("Bob's Odoo event", subjects)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Bob's Outlook event")]), 1)
        self.assertEqual(self.binding(bob_event).state, "synced")
