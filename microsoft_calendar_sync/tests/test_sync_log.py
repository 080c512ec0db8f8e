# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync log people read: a row per run with its trigger and counts per
side, readable error rows, idle runs merged, the conflicts list, pruning, and
who may see what."""

import time
from collections import Counter
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncLog(SyncCase):

    def setUp(self):
        super().setUp()
        self.Run = self.env["microsoft.calendar.sync.run"].sudo()
        self.Error = self.env["microsoft.calendar.sync.error"].sudo()

    def runs(self):
        return self.Run.search([("account_id", "=", self.account.id)])

    def last_run(self):
        return self.runs()[:1]

    def test_push_then_pull_rows(self):
        self.make_event("Odoo meeting")
        self.Account._mcs_cron_push()
        run = self.last_run()
        self.assertEqual(run.trigger, "after_save")
        self.assertEqual(run.outcome, "done")
        self.assertEqual((run.outlook_created, run.odoo_created, run.errors), (1, 0, 0))
        self.assertGreater(run.graph_requests, 0)
        self.assertIn("batch", run.graph_detail)
        self.assertEqual(run.user_id, self.alice)
        self.sync()  # the next delta round lists the event Odoo just created

        self.outlook_create("From Outlook")
        self.Account._mcs_cron_pull()
        run = self.last_run()
        self.assertEqual((run.trigger, run.direction), ("cron", "both"))
        self.assertEqual((run.odoo_created, run.received), (1, 1))
        self.assertGreaterEqual(run.graph_requests, 1)

        event = self.env["calendar.event"].sudo().search([("name", "=", "From Outlook")])
        event.with_user(self.alice).write({"location": "Room 3"})
        self.account.with_user(self.alice).action_sync_now()
        run = self.last_run()
        self.assertEqual((run.trigger, run.outlook_updated, run.outlook_created), ("button", 1, 0))

    def test_idle_runs_share_one_row(self):
        self.sync()  # the row of an idle run exists
        before = len(self.runs())
        idle = self.last_run()
        self.assertEqual(idle.outcome, "idle")
        count = idle.run_count
        for _ in range(3):
            self.sync()
        self.assertEqual(len(self.runs()), before, "idle runs must not add rows")
        self.assertEqual(idle.run_count, count + 3)
        # a run that did something gets its own row; the next idle runs start the idle row again
        self.make_event("Busy")
        self.sync()
        busy = self.last_run()
        self.assertEqual((busy.outcome, busy.outlook_created), ("done", 1))
        self.sync()  # (a branch that stamps our reference on imports hears of it in the next round)
        rows = len(self.runs())
        for _ in range(3):
            self.sync()
        self.assertEqual(len(self.runs()), rows)
        self.assertEqual(self.runs().filtered(lambda run: run.outcome == "idle"), idle, "one idle row per account")
        self.assertGreaterEqual(idle.start, busy.start)
        self.assertGreaterEqual(idle.run_count, 3)
        self.assertLess(idle.run_count, count + 3, "a new quiet period counts from one")

    def test_idle_run_sql_does_not_depend_on_the_previous_row(self):
        """An idle run that starts an idle row costs the SQL of one that extends it (issue 16:
        an idle run's cost is constant)."""
        def logged(**counts):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            self.account._mcs_log_run("cron", time.time(), Counter(pages=1, **counts))
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        logged(received=1)
        starting = logged()
        extending = logged()
        self.assertEqual(self.runs().filtered(lambda run: run.outcome == "idle").run_count, 2)
        self.assertEqual(starting, extending)

    def test_webhook_trigger(self):
        subscription = self.env["microsoft.calendar.subscription"].sudo().create(
            {"account_id": self.account.id, "graph_id": "sub-1", "client_state": "x"})
        # the last pull was a minute ago; Graph's notification came after it
        self.account.sudo().last_sync = fields.Datetime.now() - timedelta(minutes=1)
        subscription._mcs_notified()
        self.outlook_create("Notified change")
        self.Account._mcs_cron_pull()
        self.assertEqual(self.last_run().trigger, "webhook")
        # the next poll, with no notification since that run, is a scheduled poll again
        self.outlook_create("Polled change")
        self.Account._mcs_cron_pull()
        self.assertEqual(self.last_run().trigger, "cron")

    def test_refused_event_is_a_readable_error(self):
        self.fault(method="POST", path="/me/events", status=400, code="ErrorInvalidAttendee",
                   message="An attendee address is not valid.", times=None)
        self.make_event("Bad attendee")
        self.push()
        run = self.last_run()
        self.assertEqual(run.outcome, "partial")
        self.assertEqual(run.pending, 1)
        error = run.error_ids
        self.assertEqual(len(error), 1)
        self.assertEqual(error.code, "ErrorInvalidAttendee")
        self.assertEqual(error.status, 400)
        self.assertIn("Bad attendee", error.event_name)
        self.assertEqual(error.operation, "Create in Outlook")
        self.assertIn("Correct it in Odoo", error.hint)
        self.assertTrue(error.event_id)

    def test_errors_of_a_dead_run_join_the_next_run(self):
        # an error row written before its run could be logged (the worker died after a commit point)
        orphan = self.Error.create({"account_id": self.account.id, "operation": "Update in Outlook",
                                    "message": "HTTP 500", "status": 500})
        self.sync()
        run = self.last_run()
        self.assertEqual(orphan.run_id, run)
        self.assertNotEqual(run.outcome, "idle", "a run with errors to show is never merged away")

    def test_failed_run_is_logged_with_request_id(self):
        self.fault(method="GET", path="*delta*", status=403, code="ErrorAccessDenied", times=None)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            self.sync()
        run = self.last_run()
        self.assertEqual(run.outcome, "failed")
        self.assertTrue(run.error_text)
        self.assertGreaterEqual(run.graph_requests, 1, "a failed run's requests are counted too")
        error = run.error_ids
        self.assertEqual((error.code, error.status), ("ErrorAccessDenied", 403))
        self.assertTrue(error.request_id, "Graph's request-id is what support asks for")
        self.assertIn("organizer", error.hint)

    def test_revoked_grant_is_logged_as_needs_reauthentication(self):
        self.control("POST", "/tokens/expire", {"mailbox": "alice@contoso.com", "kind": "all", "revoke": True})
        self.sync()
        run = self.last_run()
        self.assertEqual(run.outcome, "needs_reauth")
        self.assertIn("Reconnect", run.error_text)
        self.assertEqual(run.error_ids.code, "invalid_grant")
        self.assertIn("Reconnect your Outlook calendar", run.error_ids.hint)

    def test_health_filters(self):
        """The domains of the health overview's filters find the accounts they name."""
        Account = self.Account.with_user(self.manager)
        stale = [("state", "not in", ("not_connected", "paused")), "|", ("last_sync", "=", False),
                 ("last_sync", "<", "now -1d")]
        self.assertFalse(Account.search(stale))
        self.account.sudo().last_sync = fields.Datetime.now() - timedelta(days=2)
        self.assertEqual(Account.search(stale), self.account)
        self.account.with_user(self.alice).action_pause()
        self.assertFalse(Account.search(stale))
        self.assertEqual(Account.search([("state", "=", "paused")]), self.account)

    def test_conflict_row_with_both_values(self):
        event = self.make_event("Planning")
        self.push()
        graph_id = self.binding(event).graph_id
        event.write({"name": "Odoo's title"})
        self.outlook_update(graph_id, {"subject": "Outlook's title"})
        self.sync()
        conflicts = self.env["microsoft.calendar.sync.conflict"].sudo().search([("account_id", "=", self.account.id)])
        self.assertEqual(len(conflicts), 1)
        self.assertEqual((conflicts.odoo_value, conflicts.outlook_value, conflicts.winner),
                         ("Odoo's title", "Outlook's title", "outlook"))
        self.assertIn("subject", conflicts.field_names)
        self.assertEqual(conflicts.event_id, event)
        self.assertEqual(self.last_run().conflicts, 1)
        # the chatter note stays
        self.assertTrue(event.message_ids.filtered(lambda m: "changed in Odoo and in Outlook" in (m.body or "")))

    def test_pruning_follows_the_retention_setting(self):
        event = self.make_event("Old news")
        self.sync()
        old = self.last_run()
        event.location = "Room 1"  # a second run that does something: a row of its own
        self.sync()
        recent = self.last_run()
        self.assertNotEqual(old, recent)
        old.write({"last_start": fields.Datetime.now() - timedelta(days=31)})
        Conflict = self.env["microsoft.calendar.sync.conflict"].sudo()
        old_conflict, new_conflict = Conflict.create([
            {"account_id": self.account.id, "date": fields.Datetime.now() - timedelta(days=31)},
            {"account_id": self.account.id}])
        self.Run._mcs_cron_prune()
        self.assertFalse(old.exists())
        self.assertEqual((old_conflict.exists(), new_conflict.exists()), (Conflict, new_conflict))
        self.assertTrue(recent.exists())
        self.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.log_retention_days", "5")
        recent.write({"last_start": fields.Datetime.now() - timedelta(days=6)})
        self.Run._mcs_cron_prune()
        self.assertFalse(recent.exists())


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncLogAccess(SyncCase):

    def setUp(self):
        super().setUp()
        self.fault(method="POST", path="/me/events", status=400, times=None)
        self.make_event("Refused")
        self.push()
        self.run = self.env["microsoft.calendar.sync.run"].sudo().search([("account_id", "=", self.account.id)],
                                                                         limit=1)
        self.error = self.run.error_ids
        self.assertTrue(self.error)
        self.conflict = self.env["microsoft.calendar.sync.conflict"].sudo().create({
            "account_id": self.account.id, "event_name": "Planning", "field_names": "subject",
            "odoo_value": "A", "outlook_value": "B", "winner": "outlook"})
        self.portal = new_test_user(self.env, "portal_log", groups="base.group_portal")

    def records(self):
        return [self.run, self.error, self.conflict]

    def test_owner_reads_only(self):
        for record in self.records():
            mine = record.with_user(self.alice)
            mine.read(["account_id"])
            self.assertEqual(mine.search([("id", "=", record.id)]), mine)
            with self.assertRaises(AccessError):
                mine.write({"account_id": self.account.id})
            with self.assertRaises(AccessError):
                mine.unlink()
            with self.assertRaises(AccessError):
                mine.create({"account_id": self.account.id})

    def test_colleague_and_portal_see_nothing(self):
        for user in (self.bob, self.portal):
            for record in self.records():
                theirs = record.with_user(user)
                with self.assertRaises(AccessError):
                    theirs.read(["account_id"])
                if user == self.bob:
                    self.assertFalse(theirs.search([]))
                else:
                    with self.assertRaises(AccessError):
                        theirs.search([])
        with self.assertRaises(AccessError):
            self.account.with_user(self.bob).action_open_sync_log()

    def test_manager_reads_everyone_writes_nothing(self):
        for record in self.records():
            managed = record.with_user(self.manager)
            self.assertEqual(managed.search([("id", "=", record.id)]), managed)
            managed.read(["account_id"])
            with self.assertRaises(AccessError):
                managed.write({"account_id": self.account.id})
            with self.assertRaises(AccessError):
                managed.unlink()
        for model in ("microsoft.calendar.sync.run", "microsoft.calendar.sync.error",
                      "microsoft.calendar.sync.conflict"):
            views = self.env[model].with_user(self.manager).get_views(
                [(False, "list"), (False, "form"), (False, "search")])
            self.assertEqual(set(views["views"]), {"list", "form", "search"})
        health = self.env.ref("microsoft_calendar_sync.microsoft_calendar_account_action_health")
        views = self.Account.with_user(self.manager).get_views(
            [(False, "list"), (health.search_view_id.id, "search")])
        self.assertIn('name="stale"', views["views"]["search"]["arch"])
        action = self.account.with_user(self.manager).action_open_sync_log()
        self.assertEqual(self.env[action["res_model"]].with_user(self.manager).search(action["domain"]),
                         self.run.search([("account_id", "=", self.account.id)]))
