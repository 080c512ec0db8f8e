# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where tokens live: their own insert-only table, safe from sync runs' row locks.

Connecting while a sync run holds the account's row is made to happen on cue: the callback's UPDATE of the
account row fails with a serialization failure (SQLSTATE 40001), Odoo's SQL
layer logs the failed statement with its parameters at ERROR, and Odoo runs the
whole request again (``retrying`` in odoo/service/model.py). The failure is
raised by PostgreSQL itself, from a trigger on the account table, once.
"""

import logging

from odoo.tests import tagged

from ..utils.token_migration import move_tokens_to_credentials
from .common import CLIENT_SECRET, CapturingHandler, OutlookCase


@tagged("post_install", "-at_install")
class TestTokenStorage(OutlookCase):

    def fail_next_account_update_once(self):
        """The next UPDATE of an account row fails once with 40001, as if a run held it.

        The sequence counts attempts outside the transaction: Odoo's retry rolls
        the request back to its savepoint, but not a sequence's nextval.
        """
        self.env.cr.execute("""
            CREATE SEQUENCE mcs_test_account_update_attempt;
            CREATE FUNCTION mcs_test_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('mcs_test_account_update_attempt') = 1 THEN
                    RAISE EXCEPTION 'could not serialize access due to concurrent update'
                        USING ERRCODE = 'serialization_failure';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER mcs_test_fail_once BEFORE UPDATE ON microsoft_calendar_account
                FOR EACH ROW EXECUTE FUNCTION mcs_test_fail_once();
        """)

    def issued_secrets(self):
        world = self.sandbox.world
        return [CLIENT_SECRET, *world.access_tokens, *world.refresh_tokens]

    def test_callback_retried_after_a_lock_conflict_connects_once_and_logs_no_token(self):
        # an account that already exists (reconnecting), so the callback UPDATEs its row
        self.Account.sudo().create({"user_id": self.alice.id})
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.fail_next_account_update_once()
        handler = CapturingHandler()
        sql_logger = logging.getLogger("odoo.sql_db")
        with self.assertLogs("odoo.sql_db", "ERROR") as failed:
            sql_logger.addHandler(handler)
            try:
                response = self.come_back(callback)
            finally:
                sql_logger.removeHandler(handler)
        self.assertTrue(any("bad query" in line and "microsoft_calendar_account" in line
                            for line in failed.output), "the race did not happen")

        # the retry did not redeem the code a second time: the user is connected
        account = self.assert_connected(response, self.alice, "alice@contoso.com")
        self.assertTrue(account.token_cache)
        self.assertEqual(len(self.sandbox.world.refresh_tokens), 1, "the code was redeemed more than once")
        # and the failed statement Odoo logged holds no token and no secret
        logged = "\n".join(failed.output + handler.lines)
        for secret in self.issued_secrets():
            self.assertNotIn(secret, logged)

    def test_tokens_are_saved_by_insert_only(self):
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        self.env.cr.execute("SELECT column_name FROM information_schema.columns "
                            "WHERE table_name = 'microsoft_calendar_account'")
        columns = {name for (name,) in self.env.cr.fetchall()}
        self.assertFalse({"token_cache", "home_account_id"} & columns, "tokens on the row a run holds")
        first = self.env["microsoft.calendar.credential"].sudo().search([("user_id", "=", self.alice.id)])
        self.assertEqual(len(first), 1)
        # a refresh saves a new row; the account reads the newest
        signin = account._mcs_sign_in()
        signin.get_token(force_refresh=True)
        account._mcs_save_cache(signin)
        saved = self.env["microsoft.calendar.credential"].sudo().search([("user_id", "=", self.alice.id)])
        self.assertEqual(len(saved), 2)
        self.assertEqual(first.token_cache, saved[1].token_cache, "an earlier save was rewritten")
        account.invalidate_recordset()
        self.assertEqual(account.token_cache, saved[0].token_cache)

    def test_a_run_started_before_a_reconnect_does_not_overwrite_its_tokens(self):
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        signin_of_the_run = account._mcs_sign_in()
        account.with_user(self.alice).action_disconnect()
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        new_tokens = account.token_cache
        # the old run refreshes and saves at its end
        signin_of_the_run.get_token(force_refresh=True)
        account._mcs_save_cache(signin_of_the_run)
        account.invalidate_recordset()
        self.assertEqual(account.token_cache, new_tokens)

    def test_autovacuum_keeps_only_what_an_account_reads(self):
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        signin = account._mcs_sign_in()
        signin.get_token(force_refresh=True)
        account._mcs_save_cache(signin)
        current = account.token_cache
        Credential = self.env["microsoft.calendar.credential"].sudo()
        Credential._mcs_save(self.bob, "a-key-no-account-has", "{}", False)
        Credential._gc_superseded_credentials()
        left = Credential.search([])
        self.assertEqual(left.mapped("token_cache"), [current])

    def test_upgrade_moves_tokens_off_the_account_row(self):
        account = self.Account.sudo().create({"user_id": self.alice.id, "state": "connected"})
        cr = self.env.cr
        cr.execute("ALTER TABLE microsoft_calendar_account ADD COLUMN token_cache text, "
                   "ADD COLUMN home_account_id varchar")
        cr.execute("UPDATE microsoft_calendar_account SET token_cache = %s, home_account_id = %s WHERE id = %s",
                   ['{"RefreshToken": {}}', "oid.tid", account.id])
        self.assertEqual(move_tokens_to_credentials(cr), 1)
        account.invalidate_recordset()
        self.assertEqual(account.token_cache, '{"RefreshToken": {}}')
        self.assertEqual(account.home_account_id, "oid.tid")
        cr.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'microsoft_calendar_account' "
                   "AND column_name IN ('token_cache', 'home_account_id')")
        self.assertEqual(cr.fetchone()[0], 0)
        self.assertEqual(move_tokens_to_credentials(cr), 0, "a second run finds nothing to move")
