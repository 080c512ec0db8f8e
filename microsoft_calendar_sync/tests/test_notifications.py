# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Graph change notifications: the subscription, the public endpoint and its refusals."""

import json
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tests.common import release_test_lock

from ..hooks import uninstall_hook
from ..models.microsoft_calendar_subscription import NOTIFY_PATH, PARAM_ENABLED
from .sync_common import SyncCase


@tagged("post_install", "-at_install")
class TestNotifications(SyncCase):

    def setUp(self):
        super().setUp()
        # Graph (the sandbox) calls Odoo without the test cursor cookie of url_open
        self.http_request_allow_all = True
        self.addCleanup(setattr, self, "http_request_allow_all", False)
        self.Subscription = self.env["microsoft.calendar.subscription"].sudo()
        self.pull_cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull_notified")
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

    def subscription_triggers(self):
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions")
        return self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", cron.id)])

    def wait_deliveries(self):
        with release_test_lock():
            self.control("POST", "/notifications/wait", {"timeout": 10})
        self.env.invalidate_all()

    def settle_deliveries(self):
        """What the sandbox queued (the challenge a time jump causes) has been handled: before a cron
        that releases the test lock (Odoo would run both on the test cursor at once), and inside
        freeze_time, where it is queued on the frozen clock."""
        self.wait_deliveries()
        self.assertTrue(self.control("POST", "/notifications/wait", {"timeout": 0})["idle"])

    def advance_sandbox_clock(self, minutes):
        with release_test_lock():  # lifecycle notifications now due go out to this server
            self.control("POST", "/clock", {"advance_seconds": minutes * 60})
        self.wait_deliveries()

    def deliveries(self, kind):
        return [entry for entry in self.control("GET", "/notifications")["value"] if entry["kind"] == kind]

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

    def test_real_change_is_noted_and_triggers_the_pull(self):
        before = self.pull_triggers()
        self.outlook_create("Changed in Outlook")
        with release_test_lock():
            self.control("POST", "/notifications/wait", {"timeout": 10})
        self.env.invalidate_all()
        log = self.control("GET", "/notifications")["value"]
        self.assertTrue(log, "the sandbox delivered nothing")
        self.subscription.invalidate_recordset()
        self.assertTrue(self.subscription.last_notification)
        self.assertGreaterEqual(self.pull_triggers(), before + 1)
        self.assertIn("last notification", self.account.push_mode)

    def test_hundred_notifications_one_trigger(self):
        before = self.pull_triggers()
        answer = self.post({"value": [self.note() for _ in range(100)]})
        self.assertEqual(answer.status_code, 202)
        self.assertEqual(self.pull_triggers(), before + 1)
        self.assertTrue(self.subscription.last_notification)

    def test_only_the_notified_account_is_pulled(self):
        self.connect(self.bob)  # a second connected account, not notified
        self.outlook_create("Changed in Outlook")
        self.assertEqual(self.post({"value": [self.note(), self.note()]}).status_code, 202)
        self.assertTrue(self.subscription.pull_requested)
        self.control("DELETE", "/stats")
        self.env["microsoft.calendar.account"]._mcs_cron_pull_notified()
        by_mailbox = self.control("GET", "/stats")["by_mailbox"]
        self.assertEqual(list(by_mailbox), ["alice@contoso.com"], "the polling cron would run every account")
        self.assertTrue(self.env["calendar.event"].sudo().search_count([("name", "=", "Changed in Outlook")]))
        self.assertEqual(self.account.sync_run_ids.sorted("id")[-1:].trigger, "webhook")
        self.assertFalse(self.subscription.pull_requested, "read by that pull")
        self.control("DELETE", "/stats")
        self.env["microsoft.calendar.account"]._mcs_cron_pull_notified()
        self.assertEqual(self.control("GET", "/stats")["total"], 0, "nothing notified since: nothing to do")

    def test_a_notification_for_a_paused_account_does_nothing(self):
        note = self.note()
        with patch.object(type(self.account), "_mcs_drop_subscriptions", lambda accounts: None):
            self.account.with_user(self.alice).action_pause()  # as if Graph's delete had not happened yet
        self.outlook_create("Changed while paused")
        self.assertEqual(self.post({"value": [note]}).status_code, 202)
        self.control("DELETE", "/stats")
        self.env["microsoft.calendar.account"]._mcs_cron_pull_notified()
        self.assertEqual(self.control("GET", "/stats")["total"], 0, "a paused account is not synchronized")
        self.assertFalse(self.env["calendar.event"].sudo().search_count([("name", "=", "Changed while paused")]))
        # its subscription gone (the usual pause), the same notification is refused
        self.subscription.unlink()
        self.assertEqual(self.post({"value": [note]}).status_code, 403)

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
        self.assertFalse(self.subscription.last_notification)

    def test_missed_forces_full_round(self):
        self.assertTrue(self.account.delta_link)
        before = self.pull_triggers()
        self.lifecycle("missed")
        self.account.invalidate_recordset()
        self.assertFalse(self.account.delta_link)
        self.assertEqual(self.pull_triggers(), before + 1)

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
        before = self.subscription_triggers()
        self.account.with_user(self.alice).action_resume()
        self.assertEqual(self.subscription_triggers(), before + 1, "resuming asks the cron for a subscription")
        self.cron_subscriptions()
        [graph] = self.graph_subscriptions()
        self.assertEqual(self.Subscription.search([]).graph_id, graph["id"])
        self.account.with_user(self.alice).action_disconnect()
        self.assertFalse(self.graph_subscriptions())
        self.assertFalse(self.Subscription.search([]))

    # -- reauthorizationRequired -------------------------------------------------------

    def test_reauthorization_required_is_answered_by_the_cron(self):
        """Graph challenges 15 minutes before the token the subscription was made with expires; past
        that expiry, unless reauthorized, it stops notifying (changes would reach Odoo only by polling)."""
        pulls, crons = self.pull_triggers(), self.subscription_triggers()
        self.advance_sandbox_clock(46)
        [challenge] = self.deliveries("lifecycle")
        self.assertEqual((challenge["changeTypes"], challenge["status"]), (["reauthorizationRequired"], 202))
        self.subscription.invalidate_recordset()
        self.assertTrue(self.subscription.needs_reauthorize)
        self.assertEqual(self.subscription_triggers(), crons + 1)
        self.assertEqual(self.pull_triggers(), pulls, "nothing changed in Outlook")
        graph_expiry = self.graph_subscriptions()[0]["expirationDateTime"]
        self.cron_subscriptions()
        self.assertFalse(self.subscription.needs_reauthorize)
        # reauthorizing moves no expiry (that is renewing)
        self.assertEqual(self.graph_subscriptions()[0]["expirationDateTime"], graph_expiry)
        self.advance_sandbox_clock(20)  # the token the subscription was made with has expired
        self.assertEqual(len(self.deliveries("lifecycle")), 1, "no new challenge: the new token lasts")
        self.outlook_create("After the reauthorization")
        self.wait_deliveries()
        self.assertIn(["created"], [entry["changeTypes"] for entry in self.deliveries("notification")])

    def test_reauthorize_of_a_subscription_graph_forgot_recreates_it(self):
        old = self.subscription.graph_id
        self.post({"value": [self.note(lifecycleEvent="reauthorizationRequired")]})
        with self.outlook() as client:
            client.delete(f"/subscriptions/{old}")
        self.cron_subscriptions()
        new = self.Subscription.search([("account_id", "=", self.account.id)])
        self.assertNotEqual(new.graph_id, old)
        self.assertEqual([s["id"] for s in self.graph_subscriptions()], [new.graph_id])

    # -- the cron -----------------------------------------------------------------------

    def test_disabled_in_settings_deletes_every_subscription(self):
        self.env["ir.config_parameter"].sudo().set_param(PARAM_ENABLED, "False")
        self.cron_subscriptions()
        self.assertFalse(self.graph_subscriptions())
        self.assertFalse(self.Subscription.search([]))
        self.assertEqual(self.account.push_mode,
                         "Off: change notifications are disabled in Settings; polling every 15 min")
        self.env["ir.config_parameter"].sudo().set_param(PARAM_ENABLED, "True")
        self.cron_subscriptions()
        self.assertEqual(len(self.graph_subscriptions()), 1)
        self.assertEqual(self.account.push_mode, "On (Outlook notifies Odoo of changes)")

    def test_renewal_when_odoo_time_reaches_a_day_before_expiry(self):
        expiration = self.subscription.expiration
        [graph] = self.graph_subscriptions()
        # both clocks move (the sandbox runs in this process): the subscription now expires within a day
        with freeze_time(datetime.now() + timedelta(days=2, hours=1), tick=True):
            self.graph_subscriptions()  # Graph notices the jump: its challenge, handled before the cron runs
            self.settle_deliveries()
            self.cron_subscriptions()
            [renewed] = self.graph_subscriptions()
            self.settle_deliveries()
        self.assertEqual(renewed["id"], graph["id"])
        self.assertGreater(renewed["expirationDateTime"], graph["expirationDateTime"])
        self.assertGreater(self.subscription.expiration, expiration + timedelta(days=2))
        self.assertEqual(renewed["expirationDateTime"][:16], self.subscription.expiration.strftime("%Y-%m-%dT%H:%M"))

    def test_expired_on_graph_is_recreated_with_a_new_client_state(self):
        old_id, old_state = self.subscription.graph_id, self.subscription.client_state
        with freeze_time(datetime.now() + timedelta(days=3), tick=True):
            self.assertFalse(self.graph_subscriptions(), "Graph dropped the expired subscription")
            self.settle_deliveries()
            self.cron_subscriptions()
            graph = self.graph_subscriptions()
            self.settle_deliveries()
        new = self.Subscription.search([("account_id", "=", self.account.id)])
        self.assertEqual([s["id"] for s in graph], [new.graph_id])
        self.assertNotEqual(new.graph_id, old_id)
        self.assertNotEqual(new.client_state, old_state)
        self.assertFalse(self.Subscription.search([("graph_id", "=", old_id)]))

    # -- the push mode --------------------------------------------------------------------

    def test_push_mode_says_why_not(self):
        self.assertEqual(self.account.push_mode, "On (Outlook notifies Odoo of changes)")
        status = self.Account.with_user(self.alice)._mcs_status()
        self.assertEqual(status["push"], {"on": True, "text": "On (Outlook notifies Odoo of changes)"})
        pull_cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull").sudo()  # the polling
        pull_cron.write({"interval_number": 5, "interval_type": "minutes"})
        icp = self.env["ir.config_parameter"].sudo()
        self.subscription.unlink()
        base_url = icp.get_param("web.base.url")
        icp.set_param("web.base.url", "http://odoo.example.com")
        self.assertEqual(self.account.push_mode, "Off: Odoo's address (web.base.url) http://odoo.example.com "
                         "is not https, so Microsoft cannot reach it; polling every 5 min")
        self.assertFalse(self.Account.with_user(self.alice)._mcs_status()["push"]["on"])
        icp.set_param("web.base.url", base_url)
        pull_cron.write({"interval_number": 1, "interval_type": "hours"})
        self.account.invalidate_recordset(["push_mode"])
        self.assertEqual(self.account.push_mode,
                         "Off: not subscribed yet (the next subscription run asks Microsoft); polling every 60 min")
        self.account.with_user(self.alice).action_pause()
        self.assertEqual(self.account.push_mode,
                         "Off: the account is paused; nothing is synchronized until it is resumed")

    def test_refused_subscription_is_shown_then_cleared(self):
        self.subscription.unlink()
        # Graph wants https (this test server is http): it refuses, as it would an unreachable URL
        self.control("POST", "/notifications/settings", {"allow_http": False})
        self.cron_subscriptions()
        self.assertFalse(self.Subscription.search([]))
        self.assertIn("InvalidRequest", self.account.subscription_error)
        self.assertTrue(self.account.subscription_error_date)
        text = self.Account.with_user(self.alice)._mcs_status()["push"]["text"]
        self.assertTrue(text.startswith("Off: Microsoft refused the subscription (400 InvalidRequest: The "
                                        "notificationUrl must be an absolute URL that uses the HTTPS protocol."),
                        text)
        self.assertTrue(text.endswith("; polling every 15 min"), text)
        self.control("POST", "/notifications/settings", {"allow_http": True})
        self.cron_subscriptions()
        self.assertEqual(len(self.Subscription.search([])), 1)
        self.assertFalse(self.account.subscription_error)
        self.assertFalse(self.account.subscription_error_date)

    def test_subscription_error_not_readable_by_others(self):
        self.account.sudo().write({"subscription_error": "403 ExtensionError: secret detail",
                                   "subscription_error_date": fields.Datetime.now()})
        portal = new_test_user(self.env, "portal_pat", groups="base.group_portal")
        for user in (self.bob, portal):
            self.authenticate(user.login, user.login)
            for fields_ in (["subscription_error"], ["push_mode"], ["subscription_error_date"]):
                answer = self.url_open("/web/dataset/call_kw", data=json.dumps({
                    "jsonrpc": "2.0", "method": "call", "params": {
                        "model": "microsoft.calendar.account", "method": "read",
                        "args": [[self.account.id], fields_], "kwargs": {}}}),
                    headers={"Content-Type": "application/json"})
                self.assertIn("error", answer.json(), (user.login, fields_))
                self.assertNotIn("secret detail", answer.text)
            # nor through the status entry point, which answers for the caller's own account only
            answer = self.url_open("/web/dataset/call_kw", data=json.dumps({
                "jsonrpc": "2.0", "method": "call", "params": {
                    "model": "microsoft.calendar.account", "method": "search_read",
                    "args": [[], ["subscription_error", "push_mode"]], "kwargs": {}}}),
                headers={"Content-Type": "application/json"})
            self.assertNotIn("secret detail", answer.text)
        # the owner sees her own account's reason
        self.authenticate(self.alice.login, self.alice.login)
        answer = self.url_open("/web/dataset/call_kw", data=json.dumps({
            "jsonrpc": "2.0", "method": "call", "params": {
                "model": "microsoft.calendar.account", "method": "read",
                "args": [[self.account.id], ["subscription_error"]], "kwargs": {}}}),
            headers={"Content-Type": "application/json"})
        self.assertEqual(answer.json()["result"][0]["subscription_error"], "403 ExtensionError: secret detail")

    # -- uninstall ------------------------------------------------------------------------

    def test_uninstall_hook_deletes_subscriptions_on_graph_before_the_settings(self):
        self.assertEqual(len(self.graph_subscriptions()), 1)
        uninstall_hook(self.env)
        self.assertFalse(self.graph_subscriptions(), "signed in with the client secret before it was forgotten")
        self.assertFalse(self.Subscription.search([]))
        self.assertFalse(self.env["ir.config_parameter"].sudo().search_count(
            [("key", "=like", "microsoft_calendar_sync.%")]))
