# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Graph change notifications: the subscription, the public endpoint and its refusals."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import release_test_lock

from ..models.microsoft_calendar_subscription import NOTIFY_PATH
from .sync_common import SyncCase


@tagged("post_install", "-at_install")
class TestNotifications(SyncCase):

    def setUp(self):
        super().setUp()
        # Graph (the sandbox) calls Odoo without the test cursor cookie of url_open
        self.http_request_allow_all = True
        self.addCleanup(setattr, self, "http_request_allow_all", False)
        self.Subscription = self.env["microsoft.calendar.subscription"].sudo()
        self.pull_cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull")
        # the subscription cron after connect; Graph's handshake reaches this server over HTTP
        self.cron_subscriptions()
        self.subscription = self.Subscription.search([("account_id", "=", self.account.id)])

    def cron_subscriptions(self):
        with release_test_lock():  # Graph's handshake calls this server while we wait
            self.Subscription._mcs_cron_subscriptions()
        self.env.invalidate_all()

    def lifecycle(self, event, graph_id=None):
        with release_test_lock():
            self.control("POST", f"/subscriptions/{graph_id or self.subscription.graph_id}/lifecycle",
                         {"event": event})
            self.control("POST", "/notifications/wait", {"timeout": 10})
        self.env.invalidate_all()

    def pull_triggers(self):
        return self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", self.pull_cron.id)])

    def graph_subscriptions(self):
        return self.control("GET", "/subscriptions")["value"]

    def post(self, payload, raw=None):
        data = raw if raw is not None else json.dumps(payload)
        return self.url_open(NOTIFY_PATH, data=data, headers={"Content-Type": "application/json"})

    def note(self, **extra):
        return {"subscriptionId": self.subscription.graph_id, "clientState": self.subscription.client_state,
                "changeType": "updated", "resource": "Users/x/Events/y", **extra}

    def test_subscription_created_with_handshake(self):
        self.assertEqual(len(self.subscription), 1)
        [graph] = self.graph_subscriptions()
        self.assertEqual(graph["id"], self.subscription.graph_id)
        self.assertEqual(graph["resource"], "/me/events")
        self.assertEqual(graph["changeType"], "created,updated,deleted")
        self.assertTrue(graph["notificationUrl"].endswith(NOTIFY_PATH))
        self.assertGreaterEqual(len(self.subscription.client_state), 40)
        # the handshake itself, as Graph sends it
        answer = self.url_open(NOTIFY_PATH + "?validationToken=a%20b%2Bc", data="ignored")
        self.assertEqual(answer.status_code, 200)
        self.assertEqual(answer.text, "a b+c")
        self.assertTrue(answer.headers["Content-Type"].startswith("text/plain"))

    def test_client_state_not_readable_over_rpc(self):
        for user in (self.alice, self.bob, self.admin):
            self.authenticate(user.login, user.login if user != self.admin else "admin")
            answer = self.url_open("/web/dataset/call_kw", data=json.dumps({
                "jsonrpc": "2.0", "method": "call", "params": {
                    "model": "microsoft.calendar.subscription", "method": "read",
                    "args": [[self.subscription.id], ["client_state"]], "kwargs": {}}}),
                headers={"Content-Type": "application/json"})
            self.assertIn("error", answer.json(), user.login)
            self.assertNotIn(self.subscription.client_state, answer.text)

    def test_real_change_marks_dirty_and_triggers_once(self):
        before = self.pull_triggers()
        self.outlook_create("Changed in Outlook")
        with release_test_lock():
            self.control("POST", "/notifications/wait", {"timeout": 10})
        self.env.invalidate_all()
        log = self.control("GET", "/notifications")["value"]
        self.assertTrue(log, "the sandbox delivered nothing")
        self.subscription.invalidate_recordset()
        self.assertTrue(self.subscription.dirty_since)
        self.assertGreaterEqual(self.pull_triggers(), before + 1)

    def test_hundred_notifications_one_trigger(self):
        before = self.pull_triggers()
        answer = self.post({"value": [self.note() for _ in range(100)]})
        self.assertEqual(answer.status_code, 202)
        self.assertEqual(self.pull_triggers(), before + 1)
        self.assertTrue(self.subscription.dirty_since)

    def test_refusals(self):
        before = self.pull_triggers()
        self.assertEqual(self.post({"value": [self.note(clientState="forged")]}).status_code, 403)
        self.assertEqual(self.post({"value": [self.note(subscriptionId="unknown")]}).status_code, 403)
        # a non-string id is refused like any unknown one (it was a 500: unhashable in the log-once set)
        self.assertEqual(self.post({"value": [self.note(subscriptionId={"a": 1})]}).status_code, 403)
        self.assertEqual(self.post(None, raw="{not json").status_code, 400)
        self.assertEqual(self.post(None, raw='{"value": 3}').status_code, 400)
        self.assertEqual(self.post(None, raw=" " * (1024 * 1024 + 10)).status_code, 413)
        self.assertEqual(self.pull_triggers(), before)
        self.assertFalse(self.subscription.dirty_since)

    def test_missed_forces_full_round(self):
        self.assertTrue(self.account.delta_link)
        self.lifecycle("missed")
        self.account.invalidate_recordset()
        self.subscription.invalidate_recordset()
        self.assertFalse(self.account.delta_link)
        self.assertTrue(self.subscription.full_round)

    def test_removed_is_recreated(self):
        old = self.subscription.graph_id
        self.lifecycle("subscriptionRemoved")
        self.assertFalse(self.Subscription.search([("graph_id", "=", old)]))
        self.cron_subscriptions()
        new = self.Subscription.search([("account_id", "=", self.account.id)])
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new.graph_id, old)
        self.assertEqual([s["id"] for s in self.graph_subscriptions()], [new.graph_id])

    def test_renewal_and_recreate_on_404(self):
        # as if the subscription were about to expire: the cron renews it on Graph
        soon = fields.Datetime.now() + timedelta(hours=1)
        self.subscription.expiration = soon
        self.cron_subscriptions()
        self.assertGreater(self.subscription.expiration, soon + timedelta(days=2))
        graph_expiry = self.graph_subscriptions()[0]["expirationDateTime"]
        self.assertEqual(graph_expiry[:16], self.subscription.expiration.strftime("%Y-%m-%dT%H:%M"))
        # Graph forgot it: the renewal creates a new one
        with self.outlook() as client:
            client.delete(f"/subscriptions/{self.subscription.graph_id}")
        with release_test_lock():
            self.subscription._mcs_renew()
        self.env.invalidate_all()
        new = self.Subscription.search([("account_id", "=", self.account.id)])
        self.assertEqual(len(new), 1)
        self.assertEqual([s["id"] for s in self.graph_subscriptions()], [new.graph_id])

    def test_disconnect_and_pause_delete_subscription(self):
        self.account.with_user(self.alice).action_pause()
        self.assertFalse(self.graph_subscriptions())
        self.assertFalse(self.Subscription.search([]))
        # a paused account gets none from the cron
        self.cron_subscriptions()
        self.assertFalse(self.Subscription.search([]))
        self.account.with_user(self.alice).action_resume()
        self.cron_subscriptions()
        self.assertEqual(len(self.graph_subscriptions()), 1)
        self.account.with_user(self.alice).action_disconnect()
        self.assertFalse(self.graph_subscriptions())
        self.assertFalse(self.Subscription.search([]))
