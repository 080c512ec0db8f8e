# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The crons share their time fairly between accounts, and runs leave no
chatter trail (issue 9, item 4).

Odoo calls a cron's action again while it reports work remaining, and
reschedules it at once when its own time is up. Here each call finds that
time already used up after its first account, as a real cron call almost
always does (Odoo gives a call 10 s, a run may take 120): the calls must
take the accounts in turn, each once per pass, and the pass must end.
"""

import time
from datetime import timedelta
from unittest.mock import patch

from odoo.tests import new_test_user, tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestCronFairness(SyncCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carol = new_test_user(cls.env, "carol", email="carol@outlook.com", name="Carol Personal",
                                  groups="base.group_user")
        cls.carol.sudo().mcs_expected_mailbox = "carol@outlook.com"

    def setUp(self):
        super().setUp()  # Alice connected and synced once
        self.bob_account = self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        self.carol_account = self.assert_connected(self.connect(self.carol), self.carol, "carol@outlook.com")
        self.accounts = self.account | self.bob_account | self.carol_account
        self.Account.sudo()._mcs_cron_pull()  # the pass the connections triggered: everyone's first sync
        self.assertEqual(set(self.accounts.mapped("state")), {"connected"})
        # work for more than one call: a few Outlook events in each mailbox
        for account in self.accounts:
            for number in range(3):
                self.outlook_create_for(account, f"{account.mailbox} #{number}")

    def outlook_create_for(self, account, subject):
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        start = self.tomorrow
        body = {"subject": subject,
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}}
        with settings.graph_client(account._mcs_sign_in(), mailbox=account.mailbox) as client:
            client.create_event(body)

    def cron_call(self, method):
        """One call of the cron's action whose time is up after its first account."""
        return getattr(self.Account.sudo().with_context(cron_end_time=time.monotonic()), method)()

    def delta_requests(self):
        rows = self.control("GET", "/stats")["rows"]
        return {address: sum(row["count"] for row in rows if row["mailbox"] == address and "delta" in row["endpoint"])
                for address in self.accounts.mapped("mailbox")}

    def chatter(self):
        return {account.mailbox: self.env["mail.message"].sudo().search_count(
            [("model", "=", account._name), ("res_id", "=", account.id)]) for account in self.accounts}

    def commits_like_postgres(self):
        """The run's commit points are no-ops in tests; run what a commit runs (flush, then the
        precommit hooks: chatter tracking) so that each run's state changes are seen as they are in production."""
        account_class = type(self.env["microsoft.calendar.account"])
        real_commit = account_class._mcs_commit

        def commit(account, relock=True):
            account.env.flush_all()
            account.env.cr.precommit.run()
            return real_commit(account, relock)
        return patch.object(account_class, "_mcs_commit", commit)

    def test_pull_calls_take_accounts_in_turn_and_passes_end(self):
        self.control("DELETE", "/stats")
        chatter_before = self.chatter()
        with self.commits_like_postgres():
            remaining = [self.cron_call("_mcs_cron_pull") for _call in range(9)]
        # three passes of three calls; each pass's last call reports nothing left (Odoo stops calling)
        self.assertEqual(remaining, [2, 1, 0] * 3)
        self.assertEqual(self.delta_requests(), dict.fromkeys(self.accounts.mapped("mailbox"), 3))
        self.assertEqual(self.chatter(), chatter_before, "a sync run writes no chatter message")
        # every Outlook event arrived
        events = self.env["calendar.event"].sudo().search([("name", "like", "#")])
        self.assertEqual(len(events), 9)

    def served_by(self, call):
        """The accounts one cron call ran."""
        before = {account: account.pull_pass for account in self.accounts}
        left = self.cron_call(call)
        return left, {account for account in self.accounts if account.pull_pass != before[account]}

    def test_a_pass_continues_after_the_last_account_served(self):
        _left, [served_first] = self.served_by("_mcs_cron_pull")  # a pass starts: one account ran
        # an account that joins mid-pass (reconnected, resumed: an old pass number) joins this pass
        joiner = (self.accounts - served_first)[0]
        joiner.pull_pass = 0
        served = set()
        for _call in range(2):
            _left, ran = self.served_by("_mcs_cron_pull")
            self.assertEqual(len(ran), 1)
            served |= ran
        self.assertEqual(served, set(self.accounts - served_first), "the account served first is not run again")
        # the pass is over: the next call starts the next pass with the least recently run account
        left, ran = self.served_by("_mcs_cron_pull")
        self.assertEqual((left, ran), (2, {served_first}))

    def test_an_account_another_worker_runs_is_skipped_without_waiting(self):
        with patch.object(type(self.env["microsoft.calendar.account"]), "_mcs_lock", lambda account: False):
            self.assertEqual(self.Account.sudo()._mcs_cron_pull(), 0)
        self.assertFalse(any(self.accounts.mapped(lambda a: a.state == "syncing")))

    def test_push_calls_take_accounts_in_turn(self):
        for user in (self.alice, self.bob, self.carol):
            self.env["calendar.event"].with_user(user).create({
                "name": f"Odoo meeting of {user.name}", "start": self.tomorrow,
                "stop": self.tomorrow + timedelta(hours=1), "user_id": user.id})
        remaining = [self.cron_call("_mcs_cron_push") for _call in range(3)]
        self.assertEqual(remaining, [2, 1, 0])
        for account, user in zip(self.accounts, (self.alice, self.bob, self.carol)):
            subjects = {event["subject"] for event in self.outlook_events(account.mailbox)}
            self.assertIn(f"Odoo meeting of {user.name}", subjects)
        self.assertEqual(self.cron_call("_mcs_cron_push"), 0, "nothing left to push")

    def test_only_meaningful_state_changes_are_tracked(self):
        account = self.account
        with self.commits_like_postgres():
            before = self.chatter()[account.mailbox]
            account.state = "syncing"
            account._mcs_commit(relock=False)
            account.state = "connected"
            account._mcs_commit(relock=False)
            self.assertEqual(self.chatter()[account.mailbox], before)
            account.state = "syncing"
            account._mcs_commit(relock=False)
            account.state = "needs_reauth"
            account._mcs_commit(relock=False)
        self.assertEqual(self.chatter()[account.mailbox], before + 1)
        message = self.env["mail.message"].sudo().search(
            [("model", "=", account._name), ("res_id", "=", account.id)], order="id desc", limit=1)
        [tracked] = message.tracking_value_ids
        self.assertEqual(tracked.field_id.name, "connection_state")
        self.assertEqual((tracked.old_value_char, tracked.new_value_char), ("Connected", "Needs re-authentication"))
