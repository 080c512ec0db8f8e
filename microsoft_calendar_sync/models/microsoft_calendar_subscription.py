# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Graph change notifications (webhooks) for one connected account.

A subscription on ``/me/events`` makes Graph POST to
``/microsoft_calendar_sync/notifications`` when an event changes; the
controller checks the secret ``client_state`` and only triggers the pull cron
(never syncs in the request). Lifecycle notifications mark what the
subscription cron must do (reauthorize, re-create). Polling stays the safety
net; the account's ``push_mode`` says which of the two an account is on, and why.
"""

import logging
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from outlook_sync.errors import OutlookSyncError, ReauthenticationRequired

from odoo import api, fields, models
from odoo.tools.misc import format_datetime

from .microsoft_calendar_config import is_loopback
from .microsoft_calendar_sync import RUN_BUDGET, RUNNABLE_STATES

_logger = logging.getLogger(__name__)

NOTIFY_PATH = "/microsoft_calendar_sync/notifications"
PARAM_ENABLED = "microsoft_calendar_sync.change_notifications"
# Graph's maximum lifetime for Outlook event subscriptions is 4230 minutes
# (reference §5.1; the sandbox refuses more); a margin for clock skew.
LIFETIME = timedelta(minutes=4230 - 30)
# The cron renews what expires sooner than this (it runs every 6 hours).
RENEW_AHEAD = timedelta(days=1)
# The last notification time is for people ("is it working?"): a minute's
# precision spares the row a write per notification under a burst.
NOTIFIED_PRECISION = timedelta(minutes=1)
_MINUTES_PER_INTERVAL = {"minutes": 1, "hours": 60, "days": 24 * 60, "weeks": 7 * 24 * 60, "months": 30 * 24 * 60}


def _graph_time(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class MicrosoftCalendarSubscription(models.Model):
    _name = "microsoft.calendar.subscription"
    _description = "Outlook change-notification subscription"

    account_id = fields.Many2one("microsoft.calendar.account", required=True, ondelete="cascade", index=True)
    graph_id = fields.Char("Subscription ID", required=True, index=True, copy=False)
    # Nobody reads it over RPC, administrators included (NO_ACCESS); code uses sudo.
    client_state = fields.Char(groups=".", copy=False)
    expiration = fields.Datetime(copy=False)
    pull_requested = fields.Boolean(
        readonly=True, copy=False, help="Graph notified a change that the account's pull has not read yet.")
    last_notification = fields.Datetime(
        copy=False, help="When Graph last said an event of this account changed (to the minute).")
    needs_reauthorize = fields.Boolean(
        copy=False, help="Graph asked for reauthorization (lifecycle notification); the subscription cron does it.")

    _graph_id_uniq = models.Constraint("UNIQUE (graph_id)", "A Graph subscription is recorded once.")

    # ------------------------------------------------------------------------

    def _mcs_base_url(self):
        return (self.env["ir.config_parameter"].sudo().get_param("web.base.url") or "").rstrip("/")

    def _mcs_notification_url(self):
        """The public notification URL, or False when Graph could not reach it (not https nor loopback)."""
        base_url = self._mcs_base_url()
        parts = urlsplit(base_url)
        if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
            return base_url + NOTIFY_PATH
        return False

    def _mcs_enabled(self):
        return self.env["ir.config_parameter"].sudo().get_param(PARAM_ENABLED, "True") == "True"

    def _mcs_failed(self, account, error, doing):
        """Say on the account why Microsoft has no subscription for it (the push mode shows it)."""
        if isinstance(error, ReauthenticationRequired):
            account._mcs_mark_needs_reauth(error)
            return
        _logger.info("Outlook account %s: %s failed (%s)", account.id, doing, type(error).__name__)
        account.write({"subscription_error": str(error)[:500], "subscription_error_date": fields.Datetime.now()})

    @staticmethod
    def _mcs_succeeded(account):
        if account.subscription_error or account.subscription_error_date:
            account.write({"subscription_error": False, "subscription_error_date": False})

    def _mcs_subscribe(self, account, settings=None):
        """Create the account's Graph subscription (a new clientState); the record, or an empty one."""
        account = account.sudo()
        url = self._mcs_notification_url()
        if not url or not self._mcs_enabled() or account.state not in RUNNABLE_STATES:
            return self.browse()
        settings = settings or self.env["microsoft.calendar.config"]._mcs_settings()
        client_state = secrets.token_urlsafe(32)
        expiration = datetime.now(timezone.utc) + LIFETIME
        try:
            with account._mcs_graph(settings) as (_signin, client):
                answer = client.post("/subscriptions", {
                    "changeType": "created,updated,deleted",
                    "notificationUrl": url,
                    "lifecycleNotificationUrl": url,
                    "resource": "/me/events",
                    "expirationDateTime": _graph_time(expiration),
                    "clientState": client_state,
                })
        except OutlookSyncError as error:
            self._mcs_failed(account, error, "subscription")
            return self.browse()
        self._mcs_succeeded(account)
        return self.sudo().create({
            "account_id": account.id, "graph_id": answer["id"], "client_state": client_state,
            "expiration": expiration.replace(tzinfo=None)})

    @api.model
    def _mcs_cron_subscriptions(self, renew_all=False):
        """Keep one subscription per running account: create the missing ones, renew those that
        expire within a day (all with ``renew_all``), reauthorize those Graph asked to. With
        change notifications switched off in Settings, delete them all instead."""
        Subscription = self.sudo()
        if not self._mcs_enabled():
            Subscription.search([])._mcs_unsubscribe()
            return
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        accounts = self.env["microsoft.calendar.account"].sudo().search([("state", "in", RUNNABLE_STATES)])
        subscriptions = Subscription.search([("account_id", "in", accounts.ids)])
        covered = subscriptions.account_id
        soon = fields.Datetime.now() + RENEW_AHEAD
        for subscription in subscriptions:
            if renew_all or not subscription.expiration or subscription.expiration <= soon:
                subscription._mcs_renew(settings)  # renewing also reauthorizes
            elif subscription.needs_reauthorize:
                subscription._mcs_reauthorize(settings)
        for account in accounts - covered:
            self._mcs_subscribe(account, settings)

    def _mcs_gone_on_graph(self, settings):
        """Graph no longer knows this subscription (expired, removed): a new one."""
        account = self.account_id
        self.unlink()
        self._mcs_subscribe(account, settings)

    def _mcs_on_graph(self, settings, doing, call):
        """``call(signin, client)`` for this subscription; True when Graph took it. A 404: Graph no
        longer knows it (expired, removed), so a new one; another error is shown on the account."""
        self.ensure_one()
        subscription = self.sudo()
        account = subscription.account_id
        try:
            with account._mcs_graph(settings) as (signin, client):
                call(signin, client)
        except OutlookSyncError as error:
            if getattr(error, "status", None) == 404:
                subscription._mcs_gone_on_graph(settings)
            else:
                self._mcs_failed(account, error, doing)
            return False
        self._mcs_succeeded(account)
        return True

    def _mcs_renew(self, settings=None):
        """PATCH the expiry (renewing also reauthorizes); re-create when Graph no longer knows it."""
        self.ensure_one()
        expiration = datetime.now(timezone.utc) + LIFETIME
        if self._mcs_on_graph(settings, "subscription renewal", lambda _signin, client: client.patch(
                f"/subscriptions/{self.graph_id}", {"expirationDateTime": _graph_time(expiration)})):
            self.sudo().write({"expiration": expiration.replace(tzinfo=None), "needs_reauthorize": False})

    def _mcs_reauthorize(self, settings=None):
        """Answer Graph's ``reauthorizationRequired``: ``POST /subscriptions/{id}/reauthorize`` (204)
        with a freshly redeemed access token, so the subscription's new authorization outlasts the
        one that was running out (a cached token would be challenged again at once)."""
        def reauthorize(signin, client):
            signin.get_token(force_refresh=True)
            client.post(f"/subscriptions/{self.graph_id}/reauthorize", idempotent=True)

        if self._mcs_on_graph(settings, "subscription reauthorization", reauthorize):
            self.sudo().needs_reauthorize = False

    def _mcs_unsubscribe(self):
        """Delete these subscriptions on Graph (best effort) and here."""
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        for subscription in self.sudo():
            account = subscription.account_id
            try:
                with account._mcs_graph(settings) as (_signin, client):
                    client.delete(f"/subscriptions/{subscription.graph_id}")
            except OutlookSyncError as error:
                _logger.info("Outlook account %s: subscription not deleted on Graph (%s)",
                             account.id, type(error).__name__)
            subscription.unlink()

    def _mcs_notified(self):
        """Graph said these accounts changed: their pull is asked for (once until it runs); remember
        when (shown in the push mode)."""
        self._mcs_request_pull()
        now = fields.Datetime.now()
        stale = self.sudo().filtered(
            lambda s: not s.last_notification or s.last_notification <= now - NOTIFIED_PRECISION)
        if stale:
            stale.write({"last_notification": now})

    def _mcs_missed(self):
        """Graph dropped notifications: the next pull of these accounts is a fresh delta round
        (what an empty delta link means, models/sync_pull.py)."""
        self.sudo().account_id.write({"delta_link": False})
        self._mcs_request_pull()

    def _mcs_request_pull(self):
        """Mark these subscriptions' accounts for the notified-accounts cron (a burst writes once)."""
        waiting = self.sudo().filtered(lambda subscription: not subscription.pull_requested)
        if waiting:
            waiting.write({"pull_requested": True})

    def _mcs_reauthorization_required(self):
        self.sudo().needs_reauthorize = True


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    subscription_ids = fields.One2many("microsoft.calendar.subscription", "account_id", groups="base.group_system")
    subscription_error = fields.Char(
        "Instant updates error", readonly=True, copy=False,
        help="Why Microsoft did not create, renew or reauthorize this account's change-notification "
        "subscription, the last time it was tried.")
    subscription_error_date = fields.Datetime("Instant updates error on", readonly=True, copy=False)
    push_mode = fields.Char(
        "Instant updates", compute="_compute_push_mode",
        help="Whether Outlook tells Odoo about changes as they happen, or why not (then Odoo polls).")

    # the settings and the crons it reads too are not fields: a new request reads them afresh
    @api.depends("state", "subscription_error", "subscription_error_date", "subscription_ids.last_notification")
    def _compute_push_mode(self):
        for account in self:
            account.push_mode = account._mcs_push_mode()[1]

    def _mcs_polling_text(self):
        _ = self.env._
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull", raise_if_not_found=False)
        cron = cron.sudo() if cron else cron
        if not cron or not cron.active:
            return _("no polling either (the synchronization cron is inactive)")
        minutes = cron.interval_number * _MINUTES_PER_INTERVAL.get(cron.interval_type, 1)
        return _("polling every %(minutes)s min", minutes=minutes)

    def _mcs_push_mode(self):
        """``(on, text)`` for this account (or for a user without one: an empty recordset)."""
        _ = self.env._
        account = self.sudo()
        Subscription = self.env["microsoft.calendar.subscription"].sudo()
        if account and account.state in RUNNABLE_STATES:
            if account.subscription_ids:
                notified = [moment for moment in account.subscription_ids.mapped("last_notification") if moment]
                if notified:
                    return True, _("On (Outlook notifies Odoo of changes; last notification %(when)s)",
                                   when=format_datetime(self.env, max(notified)))
                return True, _("On (Outlook notifies Odoo of changes)")
            if not Subscription._mcs_enabled():
                reason = _("change notifications are disabled in Settings")
            elif not Subscription._mcs_notification_url():
                reason = _("Odoo's address (web.base.url) %(url)s is not https, so Microsoft cannot reach it",
                           url=Subscription._mcs_base_url() or _("(not set)"))
            elif account.subscription_error:
                reason = _("Microsoft refused the subscription (%(error)s, %(when)s)",
                           error=account.subscription_error,
                           when=format_datetime(self.env, account.subscription_error_date))
            else:
                reason = _("not subscribed yet (the next subscription run asks Microsoft)")
            return False, _("Off: %(reason)s; %(polling)s", reason=reason, polling=self._mcs_polling_text())
        # no polling either: the crons skip accounts that are not running
        if account.state == "paused":
            return False, _("Off: the account is paused; nothing is synchronized until it is resumed")
        if account.state == "needs_reauth":
            return False, _("Off: the account must be reconnected; nothing is synchronized until then")
        return False, _("Off: the account is not connected")

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        on, text = self._mcs_for_user(user or self.env.user)._mcs_push_mode()
        status["push"] = {"on": on, "text": text}
        return status

    @api.model
    def _mcs_cron_pull_notified(self):
        """Pull the accounts Graph notified (the notification endpoint triggers this cron): only
        them, not every account as the polling cron does. An account another worker holds keeps
        its mark for the next call; polling stays the safety net."""
        subscriptions = self.env["microsoft.calendar.subscription"].sudo().search([("pull_requested", "=", True)])
        accounts = subscriptions.account_id.filtered(lambda account: account.state in RUNNABLE_STATES)
        for index, account in enumerate(accounts.sorted("id")):
            account._mcs_sync(pull=True, trigger="webhook")
            if self._mcs_commit_allowed():
                self.env["ir.cron"]._commit_progress(1, remaining=len(accounts) - index - 1)
            if self._mcs_cron_time_left() < RUN_BUDGET:
                return len(accounts) - index - 1
        return 0

    def _mcs_pull(self, client, counts):
        # what Graph notified is read by this pull (a notification during it asks for another)
        self.sudo().subscription_ids.filtered("pull_requested").write({"pull_requested": False})
        return super()._mcs_pull(client, counts)

    def action_resume(self):
        result = super().action_resume()
        # a paused account had its subscription deleted: the cron makes a new one
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions").sudo()._trigger()
        return result

    def _mcs_drop_subscriptions(self):
        """Called on pause and disconnect, before the tokens are forgotten."""
        self.env["microsoft.calendar.subscription"].sudo().search(
            [("account_id", "in", self.ids)])._mcs_unsubscribe()
