# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Who may read what: tokens and the client secret are for administrators
only (not even the tokens' owner); users see and manage their own account;
Outlook Calendar Sync managers see every account's health."""

import time
from collections import Counter

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException

CACHE = '{"RefreshToken": {"x": {"secret": "M.C5-very-secret-refresh-token"}}}'


@tagged("post_install", "-at_install")
class TestSecurity(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, "alice", email="alice@contoso.com", groups="base.group_user")
        cls.bob = new_test_user(cls.env, "bob", email="bob@contoso.com", groups="base.group_user")
        cls.manager = new_test_user(
            cls.env, "outlook_manager", groups="base.group_user,microsoft_calendar_sync.group_microsoft_calendar_sync_manager")
        cls.admin = cls.env.ref("base.user_admin")
        Account = cls.env["microsoft.calendar.account"].sudo()
        cls.alice_account = Account.create({
            "user_id": cls.alice.id, "mailbox": "alice@contoso.com", "state": "connected",
            "token_cache": CACHE, "home_account_id": "oid.tid"})
        cls.bob_account = Account.create({
            "user_id": cls.bob.id, "mailbox": "bob@contoso.com", "state": "error",
            "last_error": "Graph said no", "token_cache": CACHE})
        cls.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.client_secret", "s3cr3t-value")

    def test_owner_reads_health_but_never_tokens(self):
        account = self.alice_account.with_user(self.alice)
        self.assertEqual(account.read(["state", "mailbox"])[0]["state"], "connected")
        for field in ("token_cache", "home_account_id"):
            with self.assertRaises(AccessError):
                account.read([field])
            with self.assertRaises(AccessError):
                account.search_read([], [field])
            with self.assertRaises(AccessError):
                account.search([(field, "!=", False)])
        self.assertNotIn("token_cache", account.fields_get())
        # a plain read() without field names leaves the secrets out
        self.assertNotIn("token_cache", account.read()[0])

    def test_user_sees_and_manages_only_own_account(self):
        Account = self.env["microsoft.calendar.account"].with_user(self.alice)
        self.assertEqual(Account.search([]), self.alice_account)
        bobs = self.bob_account.with_user(self.alice)
        with self.assertRaises(AccessError):
            bobs.read(["state"])
        for action in ("action_pause", "action_resume", "action_disconnect", "action_sync_now"):
            with self.assertRaises(AccessError):
                getattr(bobs, action)()
        self.assertEqual(self.bob_account.state, "error")
        with self.assertRaises(AccessError):
            self.alice_account.with_user(self.alice).write({"state": "paused"})
        with self.assertRaises(AccessError):
            Account.create({"user_id": self.alice.id})
        with self.assertRaises(AccessError):
            self.alice_account.with_user(self.alice).unlink()
        # the owner stops and resumes through the actions
        self.alice_account.with_user(self.alice).action_pause()
        self.assertEqual(self.alice_account.state, "paused")
        self.alice_account.with_user(self.alice).action_resume()
        self.assertEqual(self.alice_account.state, "connected")

    def test_manager_sees_every_accounts_health_not_tokens(self):
        Account = self.env["microsoft.calendar.account"].with_user(self.manager)
        accounts = Account.search([])
        self.assertEqual(accounts, self.alice_account | self.bob_account)
        health = {r["mailbox"]: r for r in accounts.read(["mailbox", "state", "last_error", "last_sync"])}
        self.assertEqual(health["bob@contoso.com"]["last_error"], "Graph said no")
        with self.assertRaises(AccessError):
            accounts.read(["token_cache"])
        with self.assertRaises(AccessError):
            accounts.write({"state": "connected"})
        self.bob_account.with_user(self.manager).action_pause()
        self.assertEqual(self.bob_account.state, "paused")

    def test_administrator_reads_tokens(self):
        account = self.alice_account.with_user(self.admin)
        self.assertEqual(account.read(["token_cache"])[0]["token_cache"], CACHE)

    def test_client_secret_is_for_administrators(self):
        icp = self.env["ir.config_parameter"]
        with self.assertRaises(AccessError):
            icp.with_user(self.alice).get_param("microsoft_calendar_sync.client_secret")
        with self.assertRaises(AccessError):
            icp.with_user(self.manager).search_read([("key", "like", "microsoft_calendar_sync")], ["value"])
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.manager).create({})
        # not even administrators read it back (write-only; see test_settings_secret)
        settings = self.env["res.config.settings"].with_user(self.admin).create({})
        self.assertFalse(settings.mcs_client_secret)
        self.assertTrue(settings.mcs_client_secret_set)

    def test_sign_ins_are_out_of_reach(self):
        with self.assertRaises(AccessError):
            self.env["microsoft.calendar.sign.in"].with_user(self.alice).search([])

    def test_tokens_over_rpc(self):
        self.authenticate("alice", "alice")
        call = {"model": "microsoft.calendar.account", "method": "read",
                "args": [self.alice_account.ids, ["token_cache"]], "kwargs": {}}
        with self.assertRaises(JsonRpcException) as raised:
            self.make_jsonrpc_request("/web/dataset/call_kw", call)
        self.assertIn("AccessError", str(raised.exception))
        # the status the button reads carries no secret
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/status")
        self.assertEqual(status["state"], "connected")
        self.assertNotIn("very-secret", str(status))
        # an account that is not yours cannot be acted upon over HTTP either
        self.authenticate("outlook_manager", "outlook_manager")
        self.assertEqual(self.make_jsonrpc_request("/microsoft_calendar_sync/pause")["state"], "not_connected")
        result = self.make_jsonrpc_request("/microsoft_calendar_sync/sync_now")
        self.assertEqual((result["type"], result["status"]["state"]), ("warning", "not_connected"))
        self.assertEqual(self.alice_account.state, "connected")

    def call_kw(self, model, method, args, kwargs=None):
        """A JSON-RPC call as the authenticated user: (result, None) or (None, the error's text)."""
        try:
            return self.make_jsonrpc_request("/web/dataset/call_kw", {
                "model": model, "method": method, "args": args, "kwargs": kwargs or {}}), None
        except JsonRpcException as error:
            return None, str(error)

    def test_log_conflicts_lifecycle_over_http_as_portal_colleague_and_owner(self):
        Run = self.env["microsoft.calendar.sync.run"].sudo()
        run = Run.create({"account_id": self.alice_account.id, "start": "2026-12-01 10:00:00",
                          "last_start": "2026-12-01 10:00:00", "trigger": "cron", "direction": "both",
                          "outcome": "failed", "error_text": "Graph said no to Alice"})
        # the idle row, made in SQL by the account's first idle run (models/microsoft_calendar_sync_run.py)
        idle = self.alice_account.sudo()._mcs_log_run("cron", time.time(), Counter())
        self.assertEqual((idle.outcome, idle.user_id), ("idle", self.alice))
        conflict = self.env["microsoft.calendar.sync.conflict"].sudo().create({
            "account_id": self.alice_account.id, "event_name": "Alice's private review",
            "field_names": "description", "odoo_value": "Alice's notes", "outlook_value": "x", "winner": "odoo"})
        self.alice_account.sudo().write({"subscription_error": "refused for Alice", "mailbox_change": True,
                                         "linked_mailbox": "old@contoso.com"})
        new_test_user(self.env, "portal_pat", groups="base.group_portal")
        # export rights, so that only the record rules stand between Bob and Alice's rows
        self.env.ref("base.group_allow_export").sudo().user_ids = [(4, self.bob.id), (4, self.alice.id)]
        for login in ("portal_pat", "bob"):
            self.authenticate(login, login)
            for model, record in (("microsoft.calendar.sync.run", run), ("microsoft.calendar.sync.run", idle),
                                  ("microsoft.calendar.sync.conflict", conflict)):
                result, error = self.call_kw(model, "search_read", [[]], {"fields": ["display_name"]})
                self.assertTrue(error or result == [], f"{login} lists no {model} of Alice's: {result}")
                for method, args in (("read", [record.ids, ["display_name"]]),
                                     ("export_data", [record.ids, ["display_name"]]),
                                     ("write", [record.ids, {"error_text" if "run" in model else "winner": False}]),
                                     ("unlink", [record.ids])):
                    result, error = self.call_kw(model, method, args)
                    self.assertTrue(error, f"{login} {method} {model}: {result}")
            for method, args in (("read", [self.alice_account.ids, ["subscription_error", "linked_mailbox"]]),
                                 ("action_mcs_start_afresh", [self.alice_account.ids]),
                                 ("action_open_sync_log", [self.alice_account.ids]),
                                 ("action_mcs_cleanup", [self.alice_account.ids])):
                result, error = self.call_kw("microsoft.calendar.account", method, args)
                self.assertTrue(error, f"{login} {method}: {result}")
            result, error = self.call_kw("microsoft.calendar.cleanup", "create",
                                         [{"account_id": self.alice_account.id}])
            self.assertTrue(error, f"{login} opens a clean-up of Alice's account: {result}")
            result, error = self.call_kw("microsoft.calendar.reset.account", "default_get", [["user_id"]],
                                         {"context": {"default_user_id": self.alice.id}})
            self.assertTrue(error or not result.get("result"), result)
            result, error = self.call_kw("microsoft.calendar.reset.account", "create",
                                         [{"user_id": self.alice.id, "delete_mode": "both"}])
            self.assertTrue(error, f"{login} resets Alice's account: {result}")
            self.make_jsonrpc_request("/microsoft_calendar_sync/start_afresh")  # acts on nobody's account
        self.assertEqual((run.exists(), idle.exists(), conflict.exists()), (run, idle, conflict))
        self.assertTrue(self.alice_account.mailbox_change)
        # the owner reads her own log and conflicts, writes none of them
        self.authenticate("alice", "alice")
        result, error = self.call_kw("microsoft.calendar.sync.run", "read", [run.ids, ["error_text"]])
        self.assertEqual(result[0]["error_text"], "Graph said no to Alice", error)
        result, error = self.call_kw("microsoft.calendar.sync.run", "search_read", [[("outcome", "=", "idle")]],
                                     {"fields": ["run_count", "user_id"]})
        self.assertEqual([(row["run_count"], row["user_id"][0]) for row in result], [(1, self.alice.id)], error)
        result, error = self.call_kw("microsoft.calendar.sync.conflict", "export_data",
                                     [conflict.ids, ["event_name"]])
        self.assertEqual(result["datas"], [["Alice's private review"]], error)
        for model, record in (("microsoft.calendar.sync.run", run), ("microsoft.calendar.sync.conflict", conflict)):
            self.assertTrue(self.call_kw(model, "unlink", [record.ids])[1], f"owner deletes {model}")
        result, error = self.call_kw("microsoft.calendar.account", "read",
                                     [self.alice_account.ids, ["subscription_error", "mailbox_change"]])
        self.assertEqual(result[0]["subscription_error"], "refused for Alice", error)

    def test_series_rows_over_http_as_portal_colleague_and_owner(self):
        """The status rows of a series (and its changed occurrences) are Alice's: nobody else lists,
        reads or exports them, nobody (Alice included) writes them or sets their fields over RPC."""
        event = self.env["calendar.event"].sudo().with_context(mcs_from_outlook=True).create({
            "name": "Alice's weekly", "start": "2027-03-01 08:00:00", "stop": "2027-03-01 09:00:00",
            "user_id": self.alice.id, "recurrency": True, "rrule_type": "weekly", "mon": True,
            "end_type": "count", "count": 3, "event_tz": "Europe/Brussels"})
        Binding = self.env["microsoft.calendar.binding"].sudo()
        series = Binding.create({"key": "alice-series", "account_id": self.alice_account.id, "kind": "series",
                                 "recurrence_id": event.recurrence_id.id, "graph_id": "AAMkAGseries",
                                 "state": "synced", "cancelled_dates": '["2027-03-08"]',
                                 "sync_note": "Alice's series note"})
        occurrence = Binding.create({"key": "alice-occurrence", "account_id": self.alice_account.id,
                                     "kind": "occurrence", "event_id": event.id, "graph_id": "AAMkAGocc",
                                     "series_graph_id": "AAMkAGseries", "original_start": "2027-03-01 08:00:00",
                                     "state": "synced"})
        fields_ = ["kind", "recurrence_id", "cancelled_dates", "sync_note", "original_start", "series_graph_id"]
        new_test_user(self.env, "portal_series", groups="base.group_portal")
        self.env.ref("base.group_allow_export").sudo().user_ids = [(4, self.bob.id), (4, self.alice.id)]
        rows = series | occurrence
        for login in ("portal_series", "bob"):
            self.authenticate(login, login)
            result, error = self.call_kw("microsoft.calendar.binding", "search_read", [[]], {"fields": fields_})
            self.assertTrue(error or result == [], f"{login} lists Alice's series rows: {result}")
            for method, args in (("read", [rows.ids, fields_]), ("export_data", [rows.ids, fields_]),
                                 ("write", [rows.ids, {"cancelled_dates": "[]"}]), ("unlink", [rows.ids])):
                result, error = self.call_kw("microsoft.calendar.binding", method, args)
                self.assertTrue(error, f"{login} {method} on Alice's series rows: {result}")
            result, error = self.call_kw("microsoft.calendar.account", "read",
                                         [self.alice_account.ids, ["series_extended_on"]])
            self.assertTrue(error, f"{login} reads Alice's account: {result}")
        # the owner reads and exports her rows, and writes none of them (nor their series' link)
        self.authenticate("alice", "alice")
        result, error = self.call_kw("microsoft.calendar.binding", "read", [rows.ids, fields_])
        self.assertEqual(sorted(row["kind"] for row in result), ["occurrence", "series"], error)
        result, error = self.call_kw("microsoft.calendar.binding", "export_data", [series.ids, ["sync_note"]])
        self.assertEqual(result["datas"], [["Alice's series note"]], error)
        for values in ({"cancelled_dates": "[]"}, {"recurrence_id": False}, {"kind": "event"}):
            result, error = self.call_kw("microsoft.calendar.binding", "write", [rows.ids, values])
            self.assertTrue(error, f"owner writes {values}: {result}")
        result, error = self.call_kw("microsoft.calendar.binding", "create", [{
            "key": "forged", "account_id": self.alice_account.id, "kind": "series",
            "recurrence_id": event.recurrence_id.id}])
        self.assertTrue(error, f"owner forges a series row: {result}")
        self.assertEqual((series.cancelled_dates, series.kind, occurrence.exists()), ('["2027-03-08"]', "series",
                                                                                       occurrence))

    def test_meetings_over_http_as_portal_colleague_and_owner(self):
        """An invitation's row (its answer to send, its note), the account's aliases and the first
        sync's review are Alice's: nobody else lists, reads, exports or opens them; nobody (Alice
        included) sets the fields that decide what her Outlook answers or which meeting a row joins."""
        event = self.env["calendar.event"].sudo().with_context(mcs_from_outlook=True).create({
            "name": "Board meeting", "start": "2027-03-01 08:00:00", "stop": "2027-03-01 09:00:00",
            "partner_ids": [(4, self.alice.partner_id.id)]})
        row = self.env["microsoft.calendar.binding"].sudo().create({
            "key": "alice-invitation", "account_id": self.alice_account.id, "event_id": event.id,
            "graph_id": "AAMkAGinvite", "ical_uid": "040000008200E0-board", "state": "pending",
            "attendee_copy": True, "meeting_origin": True, "answer_pending": "declined",
            "not_sent_note": "Alice's note"})
        self.alice_account.sudo().mailbox_aliases = "a.martin@contoso.com"
        fields_ = ["attendee_copy", "meeting_origin", "answer_pending", "answer_tried", "not_sent_note"]
        new_test_user(self.env, "portal_meetings", groups="base.group_portal")
        self.env.ref("base.group_allow_export").sudo().user_ids = [(4, self.bob.id), (4, self.alice.id)]
        for login in ("portal_meetings", "bob"):
            self.authenticate(login, login)
            result, error = self.call_kw("microsoft.calendar.binding", "search_read", [[]], {"fields": fields_})
            self.assertTrue(error or result == [], f"{login} lists Alice's invitation rows: {result}")
            for method, args in (("read", [row.ids, fields_]), ("export_data", [row.ids, fields_]),
                                 ("write", [row.ids, {"answer_pending": "accepted"}])):
                result, error = self.call_kw("microsoft.calendar.binding", method, args)
                self.assertTrue(error, f"{login} {method} on Alice's invitation row: {result}")
            result, error = self.call_kw("microsoft.calendar.account", "read",
                                         [self.alice_account.ids, ["mailbox_aliases"]])
            self.assertTrue(error, f"{login} reads Alice's aliases: {result}")
            for method, args in (("action_mcs_review_first_sync", [self.alice_account.ids]),):
                result, error = self.call_kw("microsoft.calendar.account", method, args)
                self.assertTrue(error, f"{login} {method}: {result}")
            result, error = self.call_kw("microsoft.calendar.first.sync", "create",
                                         [{"account_id": self.alice_account.id}])
            self.assertTrue(error, f"{login} opens Alice's first sync review: {result}")
            # default_get echoes the id it is given, and tells nothing of Alice's account
            result, error = self.call_kw(
                "microsoft.calendar.first.sync", "default_get",
                [["account_id", "mailbox", "recipients", "outlook_count", "past_count", "intro"]],
                {"context": {"default_account_id": self.alice_account.id}})
            leaked = {name: value for name, value in (result or {}).items() if name != "account_id" and value}
            self.assertTrue(error or not leaked, f"{login} default_get of Alice's review: {result}")
        # the owner reads her row and aliases, and sets none of the fields that decide what is sent
        self.authenticate("alice", "alice")
        result, error = self.call_kw("microsoft.calendar.binding", "read", [row.ids, fields_])
        self.assertEqual((result[0]["answer_pending"], result[0]["not_sent_note"]), ("declined", "Alice's note"), error)
        for values in ({"answer_pending": "accepted"}, {"attendee_copy": False}, {"meeting_origin": False},
                       {"answer_tried": True}):
            result, error = self.call_kw("microsoft.calendar.binding", "write", [row.ids, values])
            self.assertTrue(error, f"owner writes {values}: {result}")
        result, error = self.call_kw("microsoft.calendar.account", "write",
                                     [self.alice_account.ids, {"mailbox_aliases": "bob@contoso.com"}])
        self.assertTrue(error or self.alice_account.mailbox_aliases == "a.martin@contoso.com",
                        f"the owner claims a colleague's address as an alias: {result}")
        self.assertEqual((row.answer_pending, row.attendee_copy, row.meeting_origin, self.alice_account.mailbox_aliases),
                         ("declined", True, True, "a.martin@contoso.com"))
