# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Graph change notifications (webhooks) for one connected account.

A subscription on ``/me/events`` makes Graph POST to
``/microsoft_calendar_sync/notifications`` when an event changes; the
controller checks the secret ``client_state`` and only marks the
subscription dirty and triggers the pull cron (never syncs in the request).
Polling stays the safety net.
"""

import logging
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from outlook_sync.errors import OutlookSyncError

from odoo import fields, models

_logger = logging.getLogger(__name__)

NOTIFY_PATH = "/microsoft_calendar_sync/notifications"
PARAM_ENABLED = "microsoft_calendar_sync.change_notifications"
# Graph's maximum lifetime for Outlook event subscriptions is 4230 minutes
# (reference §5.1; the sandbox refuses more); a margin for clock skew.
LIFETIME = timedelta(minutes=4230 - 30)
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class MicrosoftCalendarSubscription(models.Model):
    _name = "microsoft.calendar.subscription"
    _description = "Outlook change-notification subscription"

    account_id = fields.Many2one("microsoft.calendar.account", required=True, ondelete="cascade", index=True)
    graph_id = fields.Char("Subscription ID", required=True, index=True, copy=False)
    # Nobody reads it over RPC, administrators included (NO_ACCESS); code uses sudo.
    client_state = fields.Char(groups=".", copy=False)
    expiration = fields.Datetime(copy=False)
    dirty_since = fields.Datetime(copy=False, help="Graph said something changed since the last pull.")
    full_round = fields.Boolean(copy=False, help="Graph missed notifications: the next pull is a full round.")

    _graph_id_uniq = models.Constraint("UNIQUE (graph_id)", "A Graph subscription is recorded once.")

    # ------------------------------------------------------------------------

    def _mcs_notification_url(self):
        """The public notification URL, or False when Graph could not reach it (not https nor loopback)."""
        base_url = (self.env["ir.config_parameter"].sudo().get_param("web.base.url") or "").rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
            return base_url + NOTIFY_PATH
        return False

    def _mcs_enabled(self):
        return self.env["ir.config_parameter"].sudo().get_param(PARAM_ENABLED, "True") == "True"

    def _mcs_subscribe(self, account):
        """Create the account's Graph subscription (a new clientState); the record, or False."""
        account = account.sudo()
        url = self._mcs_notification_url()
        if not url or not self._mcs_enabled() or account.state not in ("connected", "syncing", "error"):
            return self.browse()
        client_state = secrets.token_urlsafe(32)
        expiration = datetime.now(timezone.utc) + LIFETIME
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        signin = account._mcs_sign_in()
        try:
            with settings.graph_client(signin, mailbox=account.mailbox) as client:
                answer = client.post("/subscriptions", {
                    "changeType": "created,updated,deleted",
                    "notificationUrl": url,
                    "lifecycleNotificationUrl": url,
                    "resource": "/me/events",
                    "expirationDateTime": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "clientState": client_state,
                })
        except OutlookSyncError as error:
            _logger.info("Outlook account %s: no change notifications (%s)", account.id, type(error).__name__)
            return self.browse()
        finally:
            account._mcs_save_cache(signin)
        return self.sudo().create({
            "account_id": account.id, "graph_id": answer["id"], "client_state": client_state,
            "expiration": expiration.replace(tzinfo=None)})

    def _mcs_cron_subscriptions(self, renew_all=False):
        """Create missing subscriptions, renew those that expire within a day (all with ``renew_all``)."""
        Account = self.env["microsoft.calendar.account"].sudo()
        if not self._mcs_enabled():
            return
        accounts = Account.search([("state", "in", ("connected", "syncing", "error"))])
        soon = fields.Datetime.now() + timedelta(days=1)
        for subscription in self.sudo().search([("account_id", "in", accounts.ids)]):
            if renew_all or not subscription.expiration or subscription.expiration <= soon:
                subscription._mcs_renew()
        for account in accounts.filtered(lambda a: not self.sudo().search_count([("account_id", "=", a.id)])):
            self._mcs_subscribe(account)

    def _mcs_renew(self):
        """PATCH the expiry (renewing also reauthorizes); re-create when Graph no longer knows it."""
        self.ensure_one()
        subscription = self.sudo()
        account = subscription.account_id
        expiration = datetime.now(timezone.utc) + LIFETIME
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        signin = account._mcs_sign_in()
        try:
            with settings.graph_client(signin, mailbox=account.mailbox) as client:
                client.patch(f"/subscriptions/{subscription.graph_id}",
                             {"expirationDateTime": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")})
        except OutlookSyncError as error:
            if getattr(error, "status", None) == 404:
                subscription.unlink()
                self._mcs_subscribe(account)
            else:
                _logger.info("Outlook account %s: subscription not renewed (%s)", account.id, type(error).__name__)
            return
        finally:
            account._mcs_save_cache(signin)
        subscription.expiration = expiration.replace(tzinfo=None)

    def _mcs_unsubscribe(self):
        """Delete these subscriptions on Graph (best effort) and here."""
        for subscription in self.sudo():
            account = subscription.account_id
            settings = self.env["microsoft.calendar.config"]._mcs_settings()
            try:
                signin = account._mcs_sign_in()
                with settings.graph_client(signin, mailbox=account.mailbox) as client:
                    client.delete(f"/subscriptions/{subscription.graph_id}")
                account._mcs_save_cache(signin)
            except OutlookSyncError as error:
                _logger.info("Outlook account %s: subscription not deleted on Graph (%s)",
                             account.id, type(error).__name__)
            subscription.unlink()

    def _mcs_notified(self):
        """Graph said these accounts changed: mark them dirty (the pull cron coalesces)."""
        self.sudo().write({"dirty_since": fields.Datetime.now()})

    def _mcs_missed(self):
        """Graph dropped notifications: the next pull of these accounts is a full delta round."""
        subscriptions = self.sudo()
        subscriptions.write({"full_round": True, "dirty_since": fields.Datetime.now()})
        # a fresh round is what an empty delta link means (models/sync_pull.py)
        subscriptions.account_id.write({"delta_link": False})


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    subscription_ids = fields.One2many("microsoft.calendar.subscription", "account_id", groups="base.group_system")

    def _mcs_drop_subscriptions(self):
        """Called on pause and disconnect, before the tokens are forgotten."""
        self.env["microsoft.calendar.subscription"].sudo().search(
            [("account_id", "in", self.ids)])._mcs_unsubscribe()
