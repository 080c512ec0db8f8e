# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared test fixtures: an in-process Outlook sandbox (HTTPS, real MSAL
against it), settings pointing at it, test users, and a helper that clicks
through the whole connect flow like a browser would."""

import copy
import json
import logging
import os
from urllib.parse import parse_qs, urlsplit

import requests
from outlook_sandbox import SandboxServer
from outlook_sandbox.handlers.identity import identity_state
from outlook_sandbox.seed import load_seed_data
from outlook_sandbox.signin_form import parse_sign_in_form

from odoo.tests import HttpCase, new_test_user

from ..models.microsoft_calendar_config import CALLBACK_PATH

CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "odoo-test-secret~value-42"
CONTOSO_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
#: tools/run_odoo_tests.py names a file here; every test appends the secrets it saw issued,
#: and the runner fails if any of them appears anywhere in Odoo's log of the run.
ISSUED_SECRETS_ENV = "MCS_ISSUED_SECRETS_FILE"


class CapturingHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken record must not break the test
            self.lines.append(str(record.msg))


class OutlookCase(HttpCase):
    """HttpCase with the sandbox running and the settings pointing at it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer().start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.redirect_uri = cls.base_url() + CALLBACK_PATH
        cls.set_params(
            enabled="True", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant="common",
            use_sandbox="True", login_url=cls.sandbox.login_url, graph_url=cls.sandbox.graph_url,
            ca_file=cls.sandbox.ca_path,
        )
        cls.alice = new_test_user(cls.env, "alice", email="alice@contoso.com", name="Alice Martin",
                                  groups="base.group_user")
        cls.bob = new_test_user(cls.env, "bob", email="bob@contoso.com", name="Bob Stone",
                                groups="base.group_user")
        cls.manager = new_test_user(
            cls.env, "outlook_manager", email="manager@example.com", name="Outlook Manager",
            groups="base.group_user,microsoft_calendar_sync.group_microsoft_calendar_sync_manager")
        # what an administrator vouches for (logins here are not addresses)
        cls.alice.sudo().mcs_expected_mailbox = "alice@contoso.com"
        cls.bob.sudo().mcs_expected_mailbox = "bob@contoso.com"
        cls.admin = cls.env.ref("base.user_admin")
        cls.Account = cls.env["microsoft.calendar.account"]

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's test guard compares ``timeout < 10`` and breaks on the
        # (connect, read) tuples that outlook_sync passes (as requests allows).
        timeout = kw.get("timeout")
        if isinstance(timeout, tuple):
            kw["timeout"] = max(10, *(t for t in timeout if t))
        return super()._request_handler(s, r, **kw)

    @classmethod
    def set_params(cls, **values):
        icp = cls.env["ir.config_parameter"].sudo()
        for key, value in values.items():
            icp.set_param(f"microsoft_calendar_sync.{key}", value)

    def setUp(self):
        super().setUp()
        self.seed()

    def tearDown(self):
        self.record_issued_secrets()
        super().tearDown()

    def record_issued_secrets(self):
        """What the sandbox issued in this test, and every token that reached Odoo's caches."""
        path = os.environ.get(ISSUED_SECRETS_ENV)
        if not path:
            return
        world = self.sandbox.world
        issued = {CLIENT_SECRET, *world.access_tokens, *world.refresh_tokens, *identity_state(world).codes}
        for credential in self.env["microsoft.calendar.credential"].sudo().search([]):
            cache = json.loads(credential.token_cache or "{}")
            for section in ("AccessToken", "RefreshToken", "IdToken"):
                issued.update(entry.get("secret", "") for entry in cache.get(section, {}).values())
        with open(path, "a", encoding="utf-8") as secrets_file:
            secrets_file.writelines(f"{secret}\n" for secret in issued if len(secret) >= 16)

    def seed(self, **app):
        world = self.sandbox.world
        world.reset()
        seed = {
            "tenants": [{"domain": "contoso.com", "id": CONTOSO_ID, "display_name": "Contoso"}],
            "apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "redirect_uris": [self.redirect_uri], "display_name": "Odoo Calendar Sync", **app}],
            "mailboxes": [
                {"address": "alice@contoso.com", "display_name": "Alice Martin"},
                {"address": "bob@contoso.com", "display_name": "Bob Stone"},
                {"address": "carol@outlook.com", "display_name": "Carol Personal", "personal": True},
            ],
        }
        load_seed_data(world, copy.deepcopy(seed))

    # -- driving the browser part ---------------------------------------------

    def sandbox_get(self, url, **kwargs):
        return requests.get(url, verify=self.sandbox.ca_path, allow_redirects=False, timeout=10, **kwargs)

    def start_connect(self, user):
        """Log ``user`` in and click Connect: the sandbox's authorize URL."""
        self.authenticate(user.login, user.login)
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 303, response.text[:2000])
        location = response.headers["Location"]
        self.assertTrue(location.startswith(self.sandbox.login_url + "/"), location)
        self.assertIn("/oauth2/v2.0/authorize?", location)
        return location

    def consent(self, authorize_url, address, action="accept"):
        """Show the sandbox's sign-in page, pick ``address``, press Accept or
        Cancel; return the redirect back to Odoo (an absolute URL)."""
        page = self.sandbox_get(authorize_url)
        if page.status_code == 302 and action == "accept":
            # consent given before: Microsoft answers at once
            self.assertTrue(page.headers["Location"].startswith(self.redirect_uri + "?"))
            return page.headers["Location"]
        self.assertEqual(page.status_code, 200, page.text[:2000])
        form = parse_sign_in_form(page.text)
        mailbox = self.sandbox.world.mailbox_by_address(address)
        self.assertIn(mailbox.id, form.account_ids, "the consent page does not offer this account")
        answer = requests.post(self.sandbox.login_url + form.action,
                               data={**form.hidden, "action": action, "account": mailbox.id},
                               verify=self.sandbox.ca_path, allow_redirects=False, timeout=10)
        self.assertEqual(answer.status_code, 302, answer.text[:2000])
        location = answer.headers["Location"]
        self.assertTrue(location.startswith(self.redirect_uri + "?"), location)
        return location

    def come_back(self, callback_url):
        """The browser follows Microsoft's redirect to Odoo (same Odoo session)."""
        return self.url_open(callback_url, allow_redirects=False)

    def connect(self, user, address=None, action="accept"):
        callback = self.consent(self.start_connect(user), address or user.email, action)
        return self.come_back(callback)

    def assert_connected(self, response, user, address):
        self.assertEqual(response.status_code, 303, response.text[:3000])
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/odoo/calendar")
        account = self.Account.sudo().search([("user_id", "=", user.id)])
        self.assertEqual(account.state, "connected")
        self.assertEqual(account.mailbox, address)
        return account

    def assert_page(self, response, status, *fragments):
        self.assertEqual(response.status_code, status, response.text[:3000])
        for fragment in fragments:
            self.assertIn(fragment, response.text)

    @staticmethod
    def query_of(url):
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
