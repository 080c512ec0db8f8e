# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Entra ID client secret is write-only (issue 9, item 1).

Over real HTTP, as a portal user, an internal user and an administrator,
through the web client's ``/web/dataset/call_kw`` and the external API's
``/jsonrpc``: no read path (default_get, onchange, web_read, read,
export_data, search_read, web_search_read) answers the stored secret. An
administrator sets and replaces it from the settings; saving other settings
keeps it; the sign-in uses it.
"""

import json

from odoo.tests import get_db_name, new_test_user, tagged
from odoo.tools import mute_logger

from .common import CLIENT_SECRET, OutlookCase

SECRET_FIELDS = ["mcs_client_secret", "mcs_client_secret_set", "mcs_client_id"]
SPEC = {name: {} for name in SECRET_FIELDS}


@tagged("post_install", "-at_install")
class TestClientSecretIsWriteOnly(OutlookCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(cls.env, "portal_pat", email="pat@example.com", groups="base.group_portal")
        cls.stored = "stored-secret~" + "x" * 20
        cls.set_params(client_secret=cls.stored)

    def param(self):
        return self.env["ir.config_parameter"].sudo().get_param("microsoft_calendar_sync.client_secret")

    # -- HTTP ------------------------------------------------------------------

    def post_json(self, url, params):
        response = self.url_open(url, data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}),
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 200, response.text[:1000])
        return response.text, response.json()

    def password(self, user):
        # new_test_user pads short logins to 8 characters
        return "admin" if user == self.admin else user.login + "x" * (8 - len(user.login))

    def call_kw(self, user, method, args, kwargs=None):
        """``/web/dataset/call_kw`` in ``user``'s browser session; (raw answer, decoded answer)."""
        self.authenticate(user.login, self.password(user))
        return self.post_json(f"/web/dataset/call_kw/res.config.settings/{method}", {
            "model": "res.config.settings", "method": method, "args": args, "kwargs": kwargs or {}})

    def execute_kw(self, user, method, args, kwargs=None):
        """The external API (``/jsonrpc``, login and password in each call)."""
        return self.post_json("/jsonrpc", {"service": "object", "method": "execute_kw", "args": [
            get_db_name(), user.id, self.password(user), "res.config.settings", method, args, kwargs or {}]})

    def admin_saves(self, values):
        """What the settings form's Save does: create the record, then its execute button."""
        _raw, created = self.call_kw(self.admin, "web_save", [[], values], {"specification": SPEC})
        self.assertNotIn("error", created, created)
        record = created["result"][0]
        # the save answers at most what the administrator just typed, never the stored secret
        self.assertIn(record["mcs_client_secret"], (False, values.get("mcs_client_secret")))
        _raw, executed = self.call_kw(self.admin, "execute", [[record["id"]]])
        self.assertNotIn("error", executed, executed)
        return record["id"]

    def read_paths(self, record_ids):
        """Every read a client can try: (label, method, args, kwargs)."""
        return [
            ("default_get", "default_get", [SECRET_FIELDS], {}),
            # onchange(values, field_names, fields_spec) on no record (a new form), then an edit
            ("onchange", "onchange", [[], {}, [], SPEC], {}),
            ("onchange edit", "onchange", [[], {"mcs_client_id": "x"}, ["mcs_client_id"], SPEC], {}),
            ("web_read", "web_read", [record_ids, SPEC], {}),
            ("read", "read", [record_ids, SECRET_FIELDS], {}),
            ("read all fields", "read", [record_ids], {}),
            ("export_data", "export_data", [record_ids, SECRET_FIELDS], {}),
            ("search_read", "search_read", [[]], {"fields": SECRET_FIELDS}),
            ("web_search_read", "web_search_read", [[]], {"specification": SPEC}),
            ("fields_get", "fields_get", [SECRET_FIELDS], {}),
        ]

    def assert_unreadable(self, secret, record_ids):
        answered = {}
        # (reading every field of a settings record computes partner_autocomplete's credit, which
        # creates an IAP account in the read-only cursor: Odoo logs the query and retries read/write)
        with mute_logger("odoo.sql_db"):
            self._read_everything(secret, record_ids, answered)
        return answered

    def _read_everything(self, secret, record_ids, answered):
        for user in (self.portal, self.alice, self.admin):
            for via, call in (("call_kw", self.call_kw), ("jsonrpc", self.execute_kw)):
                for label, method, args, kwargs in self.read_paths(record_ids):
                    with self.subTest(user=user.login, via=via, path=label):
                        raw, answer = call(user, method, args, kwargs)
                        self.assertNotIn(secret, raw)
                        answered[user.login, via, label] = answer

    # -- tests -------------------------------------------------------------------

    def test_no_read_path_answers_the_secret(self):
        typed = "typed-not-saved~" + "y" * 20
        # an administrator's settings record holding a typed, not yet saved secret
        _raw, created = self.call_kw(self.admin, "web_save", [[], {"mcs_client_secret": typed}], {"specification": {}})
        pending_id = created["result"][0]["id"]
        saved_id = self.admin_saves({"mcs_polling_minutes": 20})
        answered = self.assert_unreadable(self.stored, [saved_id])
        # the paths did answer (not only errors): what they said
        for user in ("admin", "alice", "portal_pat"):
            self.assertNotIn("error", answered[user, "jsonrpc", "default_get"])
            self.assertFalse(answered[user, "jsonrpc", "default_get"]["result"].get("mcs_client_secret"))
        new_form = answered["admin", "call_kw", "onchange"]["result"]["value"]
        self.assertIs(new_form["mcs_client_secret_set"], True)
        self.assertFalse(new_form["mcs_client_secret"])
        self.assertFalse(answered["admin", "jsonrpc", "read"]["result"][0]["mcs_client_secret"])
        self.assertIs(answered["admin", "call_kw", "web_read"]["result"][0]["mcs_client_secret_set"], True)
        self.assertIn("error", answered["alice", "call_kw", "read"])  # settings records are for administrators
        # nobody else reads the administrator's unsaved input either
        for user in (self.portal, self.alice):
            for via, call in (("call_kw", self.call_kw), ("jsonrpc", self.execute_kw)):
                raw, _answer = call(user, "read", [[pending_id], ["mcs_client_secret"]])
                self.assertNotIn(typed, raw)
        self.assertEqual(self.param(), self.stored, "an unsaved input changes nothing")

    def test_administrator_sets_replaces_and_keeps_the_secret(self):
        first, second = "first-secret~" + "a" * 20, "second-secret~" + "b" * 20
        self.admin_saves({"mcs_client_secret": first})
        self.assertEqual(self.param(), first)
        self.admin_saves({"mcs_client_secret": f"  {second}  "})  # spaces around a pasted value
        self.assertEqual(self.param(), second)
        # saving other settings (the secret's input empty) keeps it
        saved_id = self.admin_saves({"mcs_polling_minutes": 9, "mcs_allow_remote_images": True})
        self.assertEqual(self.param(), second)
        self.assertEqual(self.env["ir.config_parameter"].sudo().get_param(
            "microsoft_calendar_sync.polling_minutes"), "9")
        # the saved settings row does not keep the typed secret
        self.assertFalse(self.env["res.config.settings"].browse(saved_id).sudo().mcs_client_secret)
        self.assert_unreadable(second, [saved_id])
        self.assertEqual(self.env["microsoft.calendar.config"]._mcs_settings().client_secret, second)
        self.assertNotIn(second, repr(self.env["microsoft.calendar.config"]._mcs_settings()))

    def test_others_cannot_set_it(self):
        for user in (self.portal, self.alice):
            for via, call in (("call_kw", self.call_kw), ("jsonrpc", self.execute_kw)):
                with self.subTest(user=user.login, via=via):
                    _raw, answer = call(user, "create", [{"mcs_client_secret": "attacker-secret"}])
                    self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        # below the ACL too: set_values stores a secret for system administrators only
        settings = self.env["res.config.settings"].create({"mcs_client_secret": "attacker-secret"})
        erp_manager = new_test_user(self.env, "erp_manager", groups="base.group_user,base.group_erp_manager")
        settings.with_user(erp_manager)._mcs_store_client_secret()
        self.assertEqual(self.param(), self.stored)

    def test_the_sign_in_uses_the_secret_the_administrator_saved(self):
        self.set_params(client_secret="not-the-app-secret")
        failed = self.connect(self.alice)
        self.assertFalse(self.Account.sudo().search([("user_id", "=", self.alice.id), ("state", "=", "connected")]))
        self.assertNotEqual(failed.status_code, 303)
        self.admin_saves({"mcs_client_secret": CLIENT_SECRET})
        self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
