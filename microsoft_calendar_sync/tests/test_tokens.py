# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tokens after the connection: refreshed through MSAL's cache; an expired or
revoked refresh token turns the account to "needs re-authentication" and the
user is told inside Odoo (a notification and an activity)."""

import json

import requests

from odoo.tests import tagged

from .common import OutlookCase


@tagged("post_install", "-at_install")
class TestTokens(OutlookCase):

    def setUp(self):
        super().setUp()
        self.account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")

    def control(self, path, payload):
        response = requests.post(self.sandbox.base_url + "/_sandbox" + path, json=payload,
                                 verify=self.sandbox.ca_path, timeout=10)
        response.raise_for_status()
        return response.json()

    def refresh_tokens(self):
        return {rt["secret"] for rt in json.loads(self.account.token_cache)["RefreshToken"].values()}

    def test_sync_now_refreshes_through_the_cache(self):
        before = self.refresh_tokens()
        self.control("/tokens/expire", {"mailbox": "alice@contoso.com", "kind": "access"})
        result = self.make_jsonrpc_request("/microsoft_calendar_sync/sync_now")
        self.assertEqual(result["type"], "success", result)
        self.assertIn("alice@contoso.com", result["message"])
        self.assertEqual(self.account.state, "connected")
        self.assertTrue(self.account.last_check)
        # Microsoft rotated the refresh token: the new one is kept
        self.assertTrue(self.refresh_tokens())
        self.assertNotEqual(self.refresh_tokens(), before)

    def test_revoked_refresh_token_needs_reauthentication(self):
        self.control("/tokens/expire", {"mailbox": "alice@contoso.com", "kind": "all", "revoke": True})
        result = self.make_jsonrpc_request("/microsoft_calendar_sync/sync_now")
        self.assertEqual(result["type"], "warning")
        self.assertEqual(result["status"]["state"], "needs_reauth")
        self.assertEqual(self.account.state, "needs_reauth")
        self.assertFalse(self.account.token_cache, "a revoked refresh token is forgotten")
        self.assertIn("Reconnect", self.account.last_error)
        # told inside Odoo: a notification on the user's bus channel ...
        notifications = self.env["bus.bus"].sudo().search([("message", "ilike", "simple_notification")])
        messages = [json.loads(n.message) for n in notifications]
        self.assertTrue(any(m["type"] == "simple_notification" and "sign in again" in m["payload"]["title"]
                            for m in messages), messages)
        channels = [json.loads(n.channel)[1:] for n in notifications]
        self.assertIn(["res.partner", self.alice.partner_id.id], channels)
        # ... and an activity for the user, which the next connection closes
        activity = self.account.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.alice)
        self.assertEqual(activity.summary, "Reconnect your Outlook calendar")
        self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        self.assertFalse(self.account.activity_ids)

    def test_expired_refresh_token_needs_reauthentication(self):
        self.control("/tokens/expire", {"mailbox": "alice@contoso.com", "kind": "all"})
        result = self.account.with_user(self.alice).action_sync_now()
        self.assertEqual(result["type"], "warning")
        self.assertEqual(self.account.state, "needs_reauth")

    def test_pause_resume_disconnect_keep_odoo_events(self):
        event = self.env["calendar.event"].with_user(self.alice).create({
            "name": "Stays in Odoo", "start": "2026-12-01 10:00:00", "stop": "2026-12-01 11:00:00"})
        self.assertEqual(self.make_jsonrpc_request("/microsoft_calendar_sync/pause")["state"], "paused")
        self.assertEqual(self.make_jsonrpc_request("/microsoft_calendar_sync/resume")["state"], "connected")
        status = self.make_jsonrpc_request("/microsoft_calendar_sync/disconnect")
        self.assertEqual(status["state"], "not_connected")
        self.assertFalse(self.account.token_cache)
        self.assertFalse(self.account.mailbox)
        self.assertTrue(event.exists())
