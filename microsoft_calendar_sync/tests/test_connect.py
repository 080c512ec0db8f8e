# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The whole connect flow through the real controller and the sandbox's
sign-in and consent page, and every way it can fail."""

import json
import logging
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import CLIENT_SECRET, CONTOSO_ID, CapturingHandler, OutlookCase


@tagged("post_install", "-at_install")
class TestConnect(OutlookCase):

    def test_connect_through_the_consent_page(self):
        authorize_url = self.start_connect(self.alice)
        query = self.query_of(authorize_url)
        # PKCE, a random state, and the Redirect URI shown in Settings
        self.assertEqual(query["code_challenge_method"], "S256")
        self.assertTrue(query["code_challenge"])
        self.assertGreaterEqual(len(query["state"]), 32)
        self.assertEqual(query["redirect_uri"], self.redirect_uri)
        self.assertEqual(query["login_hint"], "alice@contoso.com")
        # the flow (with its PKCE verifier) stays on the server; only the state's hash is stored
        pending = self.env["microsoft.calendar.sign.in"].sudo().search([("user_id", "=", self.alice.id)])
        self.assertEqual(len(pending), 1)
        self.assertNotIn(query["state"], pending.state_digest)
        self.assertIn("code_verifier", json.loads(pending.flow))

        callback = self.consent(authorize_url, "alice@contoso.com")
        response = self.come_back(callback)

        account = self.assert_connected(response, self.alice, "alice@contoso.com")
        self.assertEqual(account.tenant_id, CONTOSO_ID)
        self.assertEqual(account.mailbox_display_name, "Alice Martin")
        self.assertTrue(account.connected_on)
        cache = json.loads(account.token_cache)
        self.assertTrue(cache["RefreshToken"], "the refresh token must be kept")
        self.assertFalse(self.env["microsoft.calendar.sign.in"].sudo().search([]), "the sign-in is used up")
        # back in Calendar, the button's first status call shows the result once
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/status")
        self.assertEqual(status["state"], "connected")
        self.assertEqual(status["flash"]["type"], "success")
        self.assertIn("alice@contoso.com", status["flash"]["message"])
        self.assertIsNone(self.make_jsonrpc_request("/microsoft_calendar_sync/status")["flash"])

    def test_no_secret_in_any_log_line(self):
        handler = CapturingHandler()
        root = logging.getLogger()
        ours = [logging.getLogger(name) for name in ("odoo.addons.microsoft_calendar_sync", "outlook_sync")]
        levels = [logger.level for logger in ours]
        root.addHandler(handler)
        for logger in ours:
            logger.setLevel(logging.DEBUG)
        try:
            callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
            response = self.come_back(callback)
            account = self.assert_connected(response, self.alice, "alice@contoso.com")
            self.come_back(callback)  # a replay is logged as refused
            self.sandbox.world.clock.advance(4000)  # the access token expires: a refresh
            self.assertEqual(account.with_user(self.alice).action_sync_now()["type"], "success")
        finally:
            root.removeHandler(handler)
            for logger, level in zip(ours, levels):
                logger.setLevel(level)
        world = self.sandbox.world
        secrets_ = [CLIENT_SECRET, *world.access_tokens, *world.refresh_tokens]
        secrets_ += [value for key, value in self.query_of(callback).items() if key in ("code", "state")]
        self.assertGreater(len(secrets_), 4)
        self.assertTrue(handler.lines)
        for line in handler.lines:
            for secret in secrets_:
                self.assertNotIn(secret, line)

    # -- the state -------------------------------------------------------------

    def test_replayed_state_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.assert_connected(self.come_back(callback), self.alice, "alice@contoso.com")
        self.assert_page(self.come_back(callback), 400, "This sign-in cannot be accepted", "already used")

    def test_forged_state_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        query = self.query_of(callback)
        forged = self.redirect_uri + "?" + urlencode({**query, "state": query["state"][:-4] + "AAAA"})
        self.assert_page(self.come_back(forged), 400, "This sign-in cannot be accepted", "unknown")
        self.assertFalse(self.Account.sudo().search([("user_id", "=", self.alice.id)]).token_cache)

    def test_missing_state_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        query = self.query_of(callback)
        query.pop("state")
        response = self.come_back(self.redirect_uri + "?" + urlencode(query))
        self.assert_page(response, 400, "did not say which sign-in it belongs to")

    def test_state_of_another_user_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.authenticate("bob", "bob")
        self.assert_page(self.come_back(callback), 400, "started by another Odoo user")
        self.assertFalse(self.Account.sudo().search([]))

    def test_state_of_another_session_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.authenticate("alice", "alice")  # the same user, another browser session
        self.assert_page(self.come_back(callback), 400, "another browser session")
        self.assertFalse(self.Account.sudo().search([]))

    def test_expired_state_is_refused(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.env["microsoft.calendar.sign.in"].sudo().search([]).expires_at = \
            fields.Datetime.now() - timedelta(seconds=1)
        self.assert_page(self.come_back(callback), 400, "has expired")
        self.assertFalse(self.env["microsoft.calendar.sign.in"].sudo().search([]))

    def test_callback_without_odoo_session(self):
        callback = self.consent(self.start_connect(self.alice), "alice@contoso.com")
        self.logout()
        self.assert_page(self.come_back(callback), 401, "Sign in to Odoo first")

    # -- Microsoft's answers -----------------------------------------------------

    def test_declined_consent(self):
        response = self.connect(self.alice, action="cancel")
        self.assert_page(response, 400, "You declined the permissions", "choose Accept")
        self.assertFalse(self.Account.sudo().search([]))

    def test_wrong_client_secret(self):
        self.set_params(client_secret="not-the-secret")
        response = self.connect(self.alice)
        self.assert_page(response, 400, "The Client Secret is wrong", "not its Secret ID")
        self.assertNotIn("not-the-secret", response.text)

    def test_expired_client_secret(self):
        self.seed(secret_expires="2026-01-01T00:00:00Z")
        response = self.connect(self.alice)
        self.assert_page(response, 400, "The Client Secret has expired", "create a new client secret")

    def test_redirect_uri_not_registered(self):
        # Microsoft shows its own page for an unregistered Redirect URI ...
        self.seed(redirect_uris=["https://odoo.example.com/microsoft_account/authentication"])
        page = self.sandbox_get(self.start_connect(self.alice))
        self.assertEqual(page.status_code, 400)
        self.assertIn("AADSTS50011", page.text)
        # ... and when an AADSTS50011 comes back to Odoo, it is explained
        authorize = self.query_of(self.start_connect(self.alice))
        answer = self.redirect_uri + "?" + urlencode({
            "error": "invalid_request", "state": authorize["state"],
            "error_description": "AADSTS50011: The redirect URI specified in the request does not match."})
        self.assert_page(self.come_back(answer), 400, "The Redirect URI is not registered", "Authentication")

    def test_tenant_not_found(self):
        self.set_params(tenant="no-such-tenant.example.org")
        self.authenticate("alice", "alice")
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assert_page(response, 400, "This account or tenant is not allowed", "Tenant setting")

    def test_personal_account_on_a_work_only_tenant(self):
        new_test_user(self.env, "carol", email="carol@outlook.com", groups="base.group_user")
        carol = self.env["res.users"].search([("login", "=", "carol")])
        self.set_params(tenant="organizations")
        authorize_url = self.start_connect(carol)
        # the sandbox refuses the personal account for an organizations-only authority
        page = self.sandbox_get(authorize_url)
        self.assertEqual(page.status_code, 400)
        self.assertIn("AADSTS50020", page.text)
        # an AADSTS50020 at the token endpoint is explained too
        state = self.query_of(self.start_connect(carol))["state"]
        answer = self.redirect_uri + "?" + urlencode({
            "error": "invalid_grant", "state": state, "error_description": "AADSTS50020: User account ..."})
        self.assert_page(self.come_back(answer), 400, "This account or tenant is not allowed")

    def test_microsoft_unreachable(self):
        self.set_params(login_url="https://127.0.0.1:9")
        self.authenticate("alice", "alice")
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assert_page(response, 400, "Microsoft could not be reached")

    # -- the rules -----------------------------------------------------------------

    def test_setting_must_be_on(self):
        self.set_params(enabled="False")
        self.authenticate("alice", "alice")
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assert_page(response, 400, "Outlook Calendar is not available", "not enabled", "Ask your administrator")
        response = self.url_open(self.redirect_uri + "?code=x&state=y", allow_redirects=False)
        self.assert_page(response, 400, "not enabled")

    def test_missing_credentials(self):
        self.set_params(client_secret="")
        self.authenticate("admin", "admin")
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assert_page(response, 400, "Client ID or Client Secret", "Open Settings")

    def test_mailbox_must_be_the_one_an_administrator_vouches_for(self):
        carl = new_test_user(self.env, "carl", email="carl@example.com", groups="base.group_user")
        response = self.connect(carl, address="bob@contoso.com")
        self.assert_page(response, 400, "This mailbox cannot be connected", "bob@contoso.com",
                         "your login is not an e-mail address", "Outlook Calendar tab")
        # editing one's own e-mail address (allowed in Preferences) proves nothing
        self.authenticate("carl", "carl")
        self.make_jsonrpc_request("/web/dataset/call_kw/res.users/write", {
            "model": "res.users", "method": "write", "args": [[carl.id], {"email": "bob@contoso.com"}],
            "kwargs": {}})
        self.assertEqual(carl.email, "bob@contoso.com")
        self.assert_page(self.connect(carl, address="bob@contoso.com"), 400, "This mailbox cannot be connected")
        # nor can the user set the mailbox an administrator vouches for
        with self.assertRaises(AccessError):
            carl.with_user(carl).write({"mcs_expected_mailbox": "bob@contoso.com"})
        self.assertFalse(self.Account.sudo().search([("mailbox", "!=", False)]))

        # an Outlook Calendar manager is no user administrator either
        with self.assertRaises(AccessError):
            carl.with_user(self.manager).write({"mcs_expected_mailbox": "bob@contoso.com"})
        # an administrator vouches for another address: that one, and only that one
        carl.with_user(self.admin).mcs_expected_mailbox = "bob@contoso.com"
        account = self.assert_connected(self.connect(carl, address="bob@contoso.com"), carl, "bob@contoso.com")
        self.assertEqual(account.user_id, carl)

    def test_a_login_that_is_an_address_is_vouched_for(self):
        carol = new_test_user(self.env, "carol@outlook.com", email="someone.else@example.com",
                              groups="base.group_user")
        self.assert_connected(self.connect(carol, address="carol@outlook.com"), carol, "carol@outlook.com")

    def test_any_mailbox_when_the_settings_allow_it(self):
        carl = new_test_user(self.env, "carl", email="carl@example.com", groups="base.group_user")
        self.set_params(allow_other_mailbox="True")
        self.assert_connected(self.connect(carl, address="bob@contoso.com"), carl, "bob@contoso.com")

    def test_portal_users_cannot_connect(self):
        portal = new_test_user(self.env, "portal.user@contoso.com", groups="base.group_portal")
        self.authenticate(portal.login, portal.login)
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assert_page(response, 403, "Only internal users")
        self.assertFalse(self.env["microsoft.calendar.sign.in"].sudo().search([("user_id", "=", portal.id)]))

    def test_one_mailbox_one_user(self):
        self.set_params(allow_other_mailbox="True")
        self.assert_connected(self.connect(self.bob), self.bob, "bob@contoso.com")
        carl = new_test_user(self.env, "carl", email="carl@example.com", groups="base.group_user")
        response = self.connect(carl, address="bob@contoso.com")
        self.assert_page(response, 400, "already connected to another Odoo user", "one Odoo user only")
        self.assertNotIn("Bob Stone", response.text)
        self.assertFalse(self.Account.sudo().search([("user_id", "=", carl.id)]).mailbox)

    def test_reconnecting_replaces_the_tokens(self):
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        first_cache = account.token_cache
        account.with_user(self.alice).action_disconnect()
        self.assertEqual(account.state, "not_connected")
        self.assertFalse(account.token_cache)
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        self.assertNotEqual(account.token_cache, first_cache)
        self.assertEqual(self.Account.sudo().search_count([("user_id", "=", self.alice.id)]), 1)

    def test_connect_redirects_to_login_when_signed_out(self):
        self.authenticate(None, None)
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertEqual(urlsplit(response.headers["Location"]).path, "/web/login")
