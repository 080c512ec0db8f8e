# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One Outlook connection per Odoo user.

The MSAL token cache is the account's secret: it lives in
``microsoft.calendar.credential`` (see there why not on this row), is readable
by administrators only (``groups``), never by its owner, never sent to the
browser, never logged. Users read their own account's health through
:meth:`_mcs_status` and change it through the ``action_*`` methods, which check
who is asking before they act with sudo.
"""

import logging
import secrets
import warnings
import weakref
from contextlib import contextmanager

from outlook_sync.auth import discover_mailbox
from outlook_sync.errors import OutlookSyncError, ReauthenticationRequired

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..utils.explain import explain_sign_in_error

_logger = logging.getLogger(__name__)

# MSAL recommends response_mode=form_post for every auth-code flow. Here the
# answer comes back as a top-level GET (response_mode=query): the state is bound
# to the user's Odoo session, and Odoo 19 sets its session cookie with no
# SameSite attribute, so whether a cross-site form POST carries it differs from
# browser to browser. The callback accepts GET only (controllers/main.py).
warnings.filterwarnings("ignore", message=r"response_mode='form_post' is recommended", category=UserWarning)

STATES = [
    ("not_connected", "Not connected"),
    ("connected", "Connected"),
    ("syncing", "Synchronizing"),
    ("paused", "Paused"),
    ("needs_reauth", "Needs re-authentication"),
    ("error", "Error"),
]
# Which connection (connection_key) the tokens of a MicrosoftSignIn were loaded from.
_CONNECTION_OF_SIGN_IN = weakref.WeakKeyDictionary()


class MicrosoftCalendarAccount(models.Model):
    _name = "microsoft.calendar.account"
    _description = "Outlook Calendar Account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "user_id"
    _rec_name = "user_id"

    user_id = fields.Many2one(
        "res.users", string="User", required=True, ondelete="cascade", index=True, readonly=True)
    mailbox = fields.Char(
        "Mailbox", readonly=True, copy=False,
        help="The address of the Outlook mailbox connected to this user.")
    mailbox_display_name = fields.Char("Mailbox name", readonly=True, copy=False)
    tenant_id = fields.Char("Tenant ID", readonly=True, copy=False)
    microsoft_user_id = fields.Char("Microsoft user ID", readonly=True, copy=False)
    connection_key = fields.Char(
        copy=False, readonly=True, groups="base.group_system",
        help="Names the sign-in whose tokens this account uses (a new one at each connect).")
    home_account_id = fields.Char(
        compute="_compute_credential", inverse="_inverse_credential", groups="base.group_system")
    token_cache = fields.Text(
        "Token cache", compute="_compute_credential", inverse="_inverse_credential", groups="base.group_system",
        help="MSAL's serialized token cache (access and refresh tokens). Secret.")
    # Not tracked: a sync run goes connected -> syncing -> connected, and a
    # tracked state logged two chatter messages per run (240 in 30 s under
    # the pull cron). The chatter tracks connection_state instead.
    state = fields.Selection(STATES, default="not_connected", required=True, readonly=True, index=True)
    connection_state = fields.Selection(
        [option for option in STATES if option[0] != "syncing"], "Connection", default="not_connected",
        required=True, readonly=True, tracking=True,
        help="The account's state without the transient \"Synchronizing\": what the chatter's history records "
        "(connected, needs re-authentication, paused, error...).")
    connected_on = fields.Datetime(readonly=True, copy=False)
    last_sync = fields.Datetime("Last synchronization", readonly=True, copy=False)
    last_check = fields.Datetime(
        "Last connection check", readonly=True, copy=False,
        help="When Odoo last refreshed the access token and read the mailbox from Microsoft.")
    last_error = fields.Text("Last error", readonly=True, copy=False)
    first_sync_policy = fields.Selection(
        [("window", "Every event of the sync window"), ("future", "Future events only")],
        default="window", required=True,
        help="What the first synchronization brings over in each direction.")

    _user_uniq = models.Constraint("UNIQUE (user_id)", "Each user has one Outlook account.")
    _mailbox_uniq = models.UniqueIndex(
        "(lower(mailbox)) WHERE mailbox IS NOT NULL",
        "This Outlook mailbox is already connected to another Odoo user. A mailbox can be connected "
        "to one Odoo user only.",
    )

    @api.depends("connection_key")
    def _compute_credential(self):
        Credential = self.env["microsoft.calendar.credential"]
        for account in self:
            credential = Credential._mcs_current(account.user_id, account.sudo().connection_key)
            account.token_cache = credential.token_cache
            account.home_account_id = credential.home_account_id

    def _inverse_credential(self):
        """Setting the tokens saves them as the current connection's (a new one if there is none)."""
        for account in self.sudo():
            if not account.connection_key:
                account.connection_key = secrets.token_urlsafe(16)
            self.env["microsoft.calendar.credential"]._mcs_save(
                account.user_id, account.connection_key, account.token_cache or False,
                account.home_account_id or False)

    @api.model_create_multi
    def create(self, vals_list):
        return super().create([self._mcs_with_connection_state(vals) for vals in vals_list])

    def write(self, vals):
        return super().write(self._mcs_with_connection_state(vals))

    @api.model
    def _mcs_with_connection_state(self, vals):
        """``vals`` with connection_state following state, except into the transient "syncing"."""
        if vals.get("state") and vals["state"] != "syncing" and "connection_state" not in vals:
            return {**vals, "connection_state": vals["state"]}
        return vals

    # ------------------------------------------------------------------------
    # ACCESS
    # ------------------------------------------------------------------------

    def _mcs_check_may_manage(self):
        """The owner or an Outlook Calendar Sync manager may act on the account."""
        is_manager = self.env.user.has_group("microsoft_calendar_sync.group_microsoft_calendar_sync_manager")
        for account in self:
            if account.user_id != self.env.user and not is_manager:
                raise AccessError(self.env._("You can only manage your own Outlook connection."))

    @api.model
    def _mcs_for_user(self, user, create=False):
        """The account of ``user`` (sudo), created when asked."""
        account = self.sudo().search([("user_id", "=", user.id)], limit=1)
        if not account and create:
            account = self.sudo().create({"user_id": user.id})
        return account

    # ------------------------------------------------------------------------
    # STATUS (what the Outlook button shows)
    # ------------------------------------------------------------------------

    @api.model
    def _mcs_status(self, user=None):
        user = user or self.env.user
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        account = self._mcs_for_user(user)
        state = account.state if account else "not_connected"
        return {
            "enabled": settings.enabled,
            "configured": settings.configured,
            "is_admin": user.has_group("base.group_system"),
            "state": state,
            "mailbox": account.mailbox or "",
            "last_sync": fields.Datetime.to_string(account.last_sync) if account.last_sync else False,
            "last_check": fields.Datetime.to_string(account.last_check) if account.last_check else False,
            "last_error": account.last_error or "",
        }

    # ------------------------------------------------------------------------
    # CONNECT (called by the controller after Microsoft's redirect)
    # ------------------------------------------------------------------------

    @api.model
    def _mcs_check_mailbox(self, user, address):
        """Raise UserError when ``user`` may not connect the mailbox ``address``.

        Unless the settings allow any mailbox, the address must be the one
        an administrator vouches for: the user's login, or the mailbox an
        administrator set on the user (:meth:`res.users._mcs_expected_mailbox`),
        never the e-mail address users edit themselves. Always: an internal
        user, and one mailbox per Odoo user.
        """
        _ = self.env._
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        normalized = (address or "").strip().lower()
        if not normalized:
            raise UserError(_("Microsoft did not say which mailbox you signed in with; try again."))
        if not user._is_internal():
            raise UserError(_("Only internal users can connect an Outlook calendar."))
        expected = user._mcs_expected_mailbox()
        if not settings.allow_other_mailbox and not expected:
            raise UserError(_(
                "You signed in to Microsoft as %(mailbox)s, but nothing an administrator set says which mailbox "
                "is yours: your login is not an e-mail address. Ask your administrator to enter your Outlook "
                "mailbox on your user (Outlook Calendar tab), or to allow any mailbox address in the Outlook "
                "Calendar settings.", mailbox=address))
        if not settings.allow_other_mailbox and normalized != expected:
            raise UserError(_(
                "You signed in to Microsoft as %(mailbox)s, but the mailbox your administrator set for you is "
                "%(expected)s. Sign in with the Microsoft account of %(expected)s, or ask your administrator to "
                "change it or to allow any mailbox address in the Outlook Calendar settings.",
                mailbox=address, expected=expected))
        other = self.sudo().search_count(
            [("user_id", "!=", user.id), ("mailbox", "=", normalized)], limit=1)
        if other:
            raise UserError(_(
                "The Outlook mailbox %(mailbox)s is already connected to another Odoo user. A mailbox can be "
                "connected to one Odoo user only: ask your administrator to disconnect it there first.",
                mailbox=address))

    @api.model
    def _mcs_connect(self, user, signin, signed_in):
        """Finish a sign-in: read ``/me``, check the rules, store the tokens.

        :param signin: the :class:`~outlook_sync.auth.MicrosoftSignIn` that
            redeemed the code (its cache holds the new tokens).
        :param signed_in: the :class:`~outlook_sync.auth.SignedInAccount`.
        """
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        with settings.graph_client(signin) as client:
            mailbox = discover_mailbox(client)
        self._mcs_check_mailbox(user, mailbox.address)
        account = self._mcs_for_user(user, create=True)
        connection_key = secrets.token_urlsafe(16)
        # the tokens first, in their own table (an INSERT no sync run can block)
        self.env["microsoft.calendar.credential"]._mcs_save(
            user, connection_key, signin.serialize_cache(), signed_in.home_account_id)
        account.write({
            "connection_key": connection_key,
            "mailbox": mailbox.address.strip().lower(),
            "mailbox_display_name": mailbox.display_name,
            "mailbox_aliases": ",".join(mailbox.aliases) or False,
            "microsoft_user_id": mailbox.id,
            "tenant_id": signed_in.tenant_id,
            "state": "connected",
            "connected_on": fields.Datetime.now(),
            "last_check": fields.Datetime.now(),
            "last_error": False,
        })
        account._mcs_close_reauth_activities()
        # change notifications: the cron subscribes (the handshake calls this server back)
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions").sudo()._trigger()
        # The first synchronization belongs to the sync engine (not part of this
        # version); the account is left "connected" for it to pick up.
        _logger.info("Outlook account of user %s connected", user.id)
        return account

    # ------------------------------------------------------------------------
    # TOKENS
    # ------------------------------------------------------------------------

    def _mcs_sign_in(self):
        """A :class:`~outlook_sync.auth.MicrosoftSignIn` over this account's cache.

        It remembers which connection its tokens belong to, so that
        :meth:`_mcs_save_cache` saves a refresh under that connection even if
        the user reconnected meanwhile.
        """
        self.ensure_one()
        account = self.sudo()
        credential = self.env["microsoft.calendar.credential"]._mcs_current(account.user_id, account.connection_key)
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        signin = settings.sign_in(token_cache=credential.token_cache or None,
                                  home_account_id=credential.home_account_id or None)
        _CONNECTION_OF_SIGN_IN[signin] = account.connection_key
        return signin

    @contextmanager
    def _mcs_graph(self, settings=None):
        """A Graph client signed in as this account: ``(signin, client)``; a token refresh is saved on
        the way out, whatever happened."""
        account = self.sudo()
        settings = settings or self.env["microsoft.calendar.config"]._mcs_settings()
        signin = account._mcs_sign_in()
        try:
            with settings.graph_client(signin, mailbox=account.mailbox) as client:
                yield signin, client
        finally:
            account._mcs_save_cache(signin)

    def _mcs_save_cache(self, signin):
        """Store MSAL's cache when a refresh rotated the tokens (a new row, never an UPDATE)."""
        connection_key = _CONNECTION_OF_SIGN_IN.get(signin)
        if connection_key and signin.cache_changed:
            account = self.sudo()
            self.env["microsoft.calendar.credential"]._mcs_save(
                account.user_id, connection_key, signin.serialize_cache(), signin.home_account_id)

    def _mcs_mark_needs_reauth(self, error):
        """The refresh token is gone: forget it, say so on the account and tell the user."""
        self.ensure_one()
        title, explanation, next_step = explain_sign_in_error(self.env, error)
        message = f"{explanation} {next_step}"
        # Dropping the key forgets the tokens (nobody reads them again; the
        # autovacuum deletes them): the run already holds this row, so this
        # UPDATE cannot wait, and it carries no token.
        self.sudo().write({"state": "needs_reauth", "connection_key": False, "last_error": message})
        _logger.info("Outlook account of user %s needs re-authentication (%s)", self.user_id.id,
                     getattr(error, "error", type(error).__name__))
        self._mcs_notify_user(title, message, "warning")
        self._mcs_schedule_reauth_activity(message)

    def _mcs_notify_user(self, title, message, kind):
        self.user_id._bus_send("simple_notification", {
            "type": kind, "title": title, "message": message, "sticky": kind != "success"})

    def _mcs_schedule_reauth_activity(self, note):
        account = self.sudo()
        todo = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        if account.activity_ids.filtered(lambda a: a.user_id == account.user_id and a.summary == self._mcs_reauth_summary()):
            return
        account.activity_schedule(
            activity_type_id=todo.id if todo else False,
            summary=self._mcs_reauth_summary(), note=note, user_id=account.user_id.id)

    def _mcs_reauth_summary(self):
        return self.env._("Reconnect your Outlook calendar")

    def _mcs_close_reauth_activities(self):
        activities = self.sudo().activity_ids.filtered(lambda a: a.summary == self._mcs_reauth_summary())
        activities.unlink()

    def _mcs_check_connection(self):
        """Refresh the access token through MSAL's cache and read ``/me``.

        Returns the mailbox address. Marks the account "needs re-authentication"
        when the refresh token is expired or revoked, "error" on other failures.
        """
        self.ensure_one()
        signin = self._mcs_sign_in()
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        try:
            with settings.graph_client(signin, mailbox=self.mailbox) as client:
                mailbox = discover_mailbox(client)
        except ReauthenticationRequired as error:
            self._mcs_mark_needs_reauth(error)
            return False
        except OutlookSyncError as error:
            self._mcs_save_cache(signin)
            title, explanation, _next = explain_sign_in_error(self.env, error)
            self.sudo().last_error = f"{title}: {explanation}"
            _logger.info("Outlook connection check of user %s failed (%s)", self.user_id.id, type(error).__name__)
            return False
        self._mcs_save_cache(signin)
        values = {"last_check": fields.Datetime.now(), "last_error": False,
                  "mailbox_aliases": ",".join(mailbox.aliases) or False}
        if self.state == "error":
            values["state"] = "connected"
        self.sudo().write(values)
        return mailbox.address

    # ------------------------------------------------------------------------
    # ACTIONS (the Outlook button's menu)
    # ------------------------------------------------------------------------

    def action_pause(self):
        self._mcs_check_may_manage()
        accounts = self.sudo().filtered(lambda a: a.state in ("connected", "syncing", "error"))
        accounts._mcs_drop_subscriptions()
        accounts.state = "paused"

    def action_resume(self):
        self._mcs_check_may_manage()
        self.sudo().filtered(lambda a: a.state == "paused").state = "connected"

    def action_disconnect(self):
        """Forget the tokens; the account stays, not connected (Odoo's events are untouched)."""
        self._mcs_check_may_manage()
        accounts = self.sudo()
        accounts._mcs_drop_subscriptions()  # while the tokens are still there
        for account in accounts:
            self.env["microsoft.calendar.credential"]._mcs_forget(account.user_id)
        accounts.write({
            "state": "not_connected", "connection_key": False, "mailbox": False,
            "mailbox_display_name": False, "microsoft_user_id": False, "tenant_id": False,
            "last_error": False, "connected_on": False,
        })
        accounts._mcs_close_reauth_activities()

    def _mcs_reset_lock(self):
        """Hold the account row for a reset; False while a sync run holds it."""
        self.ensure_one()
        self.env.cr.execute(
            "SELECT id FROM microsoft_calendar_account WHERE id = %s FOR UPDATE SKIP LOCKED", [self.id])
        return bool(self.env.cr.fetchone())
