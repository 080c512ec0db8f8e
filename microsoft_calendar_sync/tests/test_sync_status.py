# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What people see: the button's status (counts, last run), "Sync now", who
may read which sync status rows, and the crons' account selection."""

from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models import microsoft_calendar_sync as sync_module
from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncStatus(SyncCase):

    def test_sync_now_pushes_and_pulls_and_the_button_shows_counts(self):
        event = self.make_event("Shown on the button")
        self.outlook_create("From Outlook for the button")
        self.authenticate("alice", "alice")
        result = self.make_jsonrpc_request("/microsoft_calendar_sync/sync_now")
        self.assertEqual(result["type"], "success", result)
        self.assertIn("1 received", result["message"])
        self.assertEqual(self.binding(event).state, "synced")
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/status")
        self.assertEqual(status["counts"]["synced"], 2, status)
        self.assertEqual(status["counts"]["errors"], 0)
        self.assertIn("received", status["last_run_text"])

    def test_users_see_their_own_sync_status_only(self):
        self.make_event("Alice's")
        Binding = self.env["microsoft.calendar.binding"]
        self.assertEqual(Binding.with_user(self.alice).search_count([]), 1)
        self.assertEqual(Binding.with_user(self.bob).search_count([]), 0)
        self.assertEqual(Binding.with_user(self.manager).search_count([]), 1)
        with self.assertRaises(AccessError):
            Binding.with_user(self.alice).search([]).write({"state": "synced"})

    def test_paused_accounts_are_skipped_and_keep_their_outbox(self):
        self.account.with_user(self.alice).action_pause()
        event = self.make_event("While paused")
        self.env["microsoft.calendar.account"]._mcs_cron_push()
        self.assertEqual(self.binding(event).state, "pending")
        self.account.with_user(self.alice).action_resume()
        self.env["microsoft.calendar.account"]._mcs_cron_push()
        self.assertEqual(self.binding(event).state, "synced")

    def test_an_account_locked_by_another_worker_is_left_alone(self):
        event = self.make_event("While another worker syncs")
        self.control("DELETE", "/stats")
        # The row lock itself is PostgreSQL's (SELECT ... FOR UPDATE SKIP LOCKED);
        # what is ours is what a run does when it does not get the row.
        with patch.object(type(self.account), "_mcs_lock", lambda account: False):
            self.env["microsoft.calendar.account"]._mcs_cron_push()
            self.assertEqual(self.account._mcs_sync(), {})
        self.assertEqual(self.control("GET", "/stats")["total"], 0)
        self.assertEqual(self.binding(event).state, "pending")
        self.assertEqual(self.account.state, "connected")
        self.env["microsoft.calendar.account"]._mcs_cron_push()
        self.assertEqual(self.binding(event).state, "synced")

    def test_settings_conflict_policy_hard_delete_and_polling(self):
        settings = self.env["res.config.settings"].create({
            "mcs_conflict_policy": "outlook_wins", "mcs_hard_delete": True, "mcs_polling_minutes": 7})
        settings.execute()
        values = self.account._mcs_settings_values()
        self.assertEqual(values["policy"], "outlook_wins")
        self.assertTrue(values["hard_delete"])
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull")
        self.assertEqual((cron.interval_number, cron.interval_type), (7, "minutes"))

    def test_user_form_shows_the_outlook_status(self):
        self.make_event("Counted")
        self.sync()
        form = self.env["res.users"].with_user(self.manager).browse(self.alice.id)
        [account] = form.mcs_account_ids
        self.assertEqual(account.state, "connected")
        self.assertEqual(account.sync_synced_count, 1)
        view = self.env.ref("microsoft_calendar_sync.res_users_view_form_outlook_sync")
        self.assertIn("mcs_account_ids", view.arch)

    def test_a_run_stops_when_the_user_pauses_or_reconnects_meanwhile(self):
        event = self.make_event("Pushed before the pause")
        changed_by_user = iter(["UPDATE microsoft_calendar_account SET state = 'paused' WHERE id = %s"])

        def commit_point(account, relock=True):
            # the real commit point flushes and commits (tests can only flush); then comes what
            # another transaction (the user's click) committed while the run went on
            account.env.flush_all()
            statement = next(changed_by_user, None)
            if statement:
                self.env.cr.execute(statement, [account.id])
            if relock and not account._mcs_lock():
                raise sync_module.LockLost()

        with patch.object(type(self.account), "_mcs_commit", commit_point):
            self.account._mcs_sync()
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "paused", "the run wrote over the user's pause")
        self.assertEqual(self.binding(event).state, "pending", "kept in the outbox for when the user resumes")

        # a reconnect (new connection key) stops a run too
        self.env.cr.execute("UPDATE microsoft_calendar_account SET state = 'connected' WHERE id = %s",
                            [self.account.id])
        self.account.invalidate_recordset()
        self.assertTrue(self.account._mcs_lock())
        self.env.cr.execute("UPDATE microsoft_calendar_account SET connection_key = 'another-sign-in' "
                            "WHERE id = %s", [self.account.id])
        self.assertFalse(self.account._mcs_lock(), "the run's connection is not the account's any more")
