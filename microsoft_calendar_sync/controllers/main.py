# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Connecting a user's Outlook calendar, and the Outlook button's actions.

``/microsoft_calendar_sync/connect`` starts MSAL's auth-code flow (PKCE) and
sends the browser to Microsoft; Microsoft sends it back to
``/microsoft_account/authentication`` (the path Entra ID app registrations
use). Every outcome is a page that says what happened and what to do next,
or, on success, the Calendar with a notification.

No line logged here holds a token, a code, a state or the client secret.
"""

import logging

from outlook_sync.errors import OutlookSyncError, SignInError, TransientError

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..models.microsoft_calendar_config import CALLBACK_PATH
from ..models.microsoft_calendar_sign_in import SignInRefused, digest
from ..utils.explain import explain_sign_in_error
from ..utils.log_redaction import untrusted

_logger = logging.getLogger(__name__)

CALENDAR_URL = "/odoo/calendar"
FLASH_KEY = "microsoft_calendar_sync.flash"


class OutlookCalendarController(http.Controller):

    # ------------------------------------------------------------------------
    # pages
    # ------------------------------------------------------------------------

    def _page(self, title, explanation, next_step="", *, status=400, retry=True, kind="danger"):
        values = {
            "title": title, "explanation": explanation, "next_step": next_step,
            "retry": retry, "kind": kind, "calendar_url": CALENDAR_URL,
        }
        return request.render("microsoft_calendar_sync.sign_in_result", values, status=status)

    def _refusal_page(self, reason):
        _ = request.env._
        next_step = _("Go back to Calendar and click the Outlook button to start again.")
        explanations = {
            "missing": _("Microsoft's answer did not say which sign-in it belongs to."),
            "unknown": _("This sign-in is unknown or was already used. Each sign-in link works once."),
            "foreign_user": _("This sign-in was started by another Odoo user. Sign in to Odoo as yourself and "
                              "connect from your own Calendar."),
            "foreign_session": _("This sign-in was started in another browser session. Finish it in the "
                                 "browser where you clicked the Outlook button."),
            "expired": _("This sign-in took too long and has expired."),
        }
        _logger.info("Outlook sign-in callback refused for user %s: %s", request.env.uid, reason)
        return self._page(_("This sign-in cannot be accepted"), explanations[reason], next_step)

    def _not_available_page(self, settings):
        _ = request.env._
        is_admin = request.env.user.has_group("base.group_system")
        if not settings.enabled:
            explanation = _("Outlook Calendar synchronization is not enabled in this database.")
        else:
            explanation = _("Outlook Calendar synchronization is enabled but its Client ID or Client Secret "
                            "is missing.")
        next_step = (_("Open Settings > General Settings > Integrations > Outlook Calendar and complete it.")
                     if is_admin else _("Ask your administrator to set it up in Settings > General Settings > "
                                        "Integrations > Outlook Calendar."))
        return self._page(_("Outlook Calendar is not available"), explanation, next_step, retry=False)

    # ------------------------------------------------------------------------
    # sign-in
    # ------------------------------------------------------------------------

    @http.route("/microsoft_calendar_sync/connect", type="http", auth="user", methods=["GET"])
    def connect(self, **kwargs):
        """Start Microsoft's sign-in for the current user."""
        env = request.env
        _ = env._
        settings = env["microsoft.calendar.config"]._mcs_settings()
        if not (settings.enabled and settings.configured):
            return self._not_available_page(settings)
        user = env.user
        if not user._is_internal():
            return self._page(_("Outlook Calendar is for internal users"),
                              _("Only internal users can connect an Outlook calendar."), status=403, retry=False)
        try:
            auth_uri = env["microsoft.calendar.sign.in"]._mcs_start(
                user, request.session, settings.sign_in(), settings.redirect_uri,
                login_hint=user._mcs_expected_mailbox() or user.email or None)
        except (OutlookSyncError, ValueError) as error:
            _logger.info("Outlook sign-in could not start for user %s (%s)", user.id, type(error).__name__)
            if isinstance(error, ValueError):
                error = SignInError("invalid_authority")
            title, explanation, next_step = explain_sign_in_error(
                env, error, is_admin=user.has_group("base.group_system"))
            return self._page(title, explanation, next_step)
        return request.redirect(auth_uri, local=False)

    # GET only: we ask for response_mode=query, so Microsoft answers with a top-level
    # navigation. Odoo 19 sets its session cookie without a SameSite attribute, so
    # whether a cross-site POST carries it depends on the browser (Chrome treats a
    # missing attribute as Lax, Firefox and Safari do not); a form POST is refused
    # rather than relied on. The state check (same user, same session) holds either way.
    @http.route(CALLBACK_PATH, type="http", auth="public", methods=["GET"], csrf=False, save_session=True)
    def authentication(self, **kwargs):
        """Where Microsoft sends the browser back (code or error, and state)."""
        env = request.env
        _ = env._
        if env.user._is_public():
            return self._page(
                _("Sign in to Odoo first"),
                _("Microsoft sent you back, but you are not signed in to Odoo (your session may have expired)."),
                _("Sign in to Odoo, open Calendar and click the Outlook button again."), status=401)
        settings = env["microsoft.calendar.config"]._mcs_settings()
        if not (settings.enabled and settings.configured):
            return self._not_available_page(settings)
        user = env.user
        try:
            flow = env["microsoft.calendar.sign.in"]._mcs_take(kwargs.get("state"), user, request.session)
        except SignInRefused as refused:
            return self._refusal_page(refused.reason)
        is_admin = user.has_group("base.group_system")
        if kwargs.get("error"):
            _logger.info("Outlook sign-in of user %s answered with error %s", user.id, untrusted(kwargs["error"]))
            title, explanation, next_step = explain_sign_in_error(
                env, (kwargs["error"], kwargs.get("error_description") or ""), is_admin=is_admin)
            return self._page(title, explanation, next_step)
        try:
            signin, signed_in = self._redeem_once(settings, flow, kwargs)
            env["microsoft.calendar.account"]._mcs_connect(user, signin, signed_in)
        except (SignInError, TransientError) as error:
            _logger.info("Outlook sign-in of user %s failed: %s %s", user.id, type(error).__name__,
                         untrusted(getattr(error, "error", "")))
            title, explanation, next_step = explain_sign_in_error(env, error, is_admin=is_admin)
            return self._page(title, explanation, next_step)
        except OutlookSyncError as error:
            _logger.info("Outlook mailbox lookup for user %s failed (%s)", user.id, type(error).__name__)
            return self._page(_("Microsoft did not show your mailbox"),
                              _("Signing in worked, but reading your mailbox failed: %s", str(error)),
                              _("Try again in a few minutes."))
        except UserError as error:
            return self._page(_("This mailbox cannot be connected"), str(error.args[0]), retry=True)
        account = env["microsoft.calendar.account"]._mcs_for_user(user)
        if account.first_sync_wait_until:
            # existing meetings: the calendar opens the review of the first synchronization at once
            request.session[FLASH_KEY] = {
                "type": "info", "review_first_sync": True,
                "message": _("Your Outlook calendar (%s) is connected. Review what the first synchronization will "
                             "do with your existing meetings.", account.mailbox),
            }
        else:
            request.session[FLASH_KEY] = {
                "type": "success", "message": _("Your Outlook calendar (%s) is connected.", account.mailbox),
            }
        return request.redirect(CALENDAR_URL)

    def _redeem_once(self, settings, flow, answer):
        """Redeem the authorization code once, even when Odoo runs this request again.

        Odoo re-runs a request from the start after a serialization failure
        (``retrying`` in odoo/service/model.py): the sign-in record this attempt
        deleted is back, but Microsoft accepts a code once, so a second
        redemption would fail with "already redeemed". The first attempt's
        result stays on the request object, which every attempt shares.
        """
        redeemed = request.__dict__.setdefault("_mcs_redeemed", {})
        key = digest(answer.get("state") or "")
        if key not in redeemed:
            signin = settings.sign_in()
            redeemed[key] = signin, signin.finish_sign_in(flow, {
                k: v for k, v in answer.items() if k in ("code", "state", "client_info", "session_state")})
        return redeemed[key]

    # ------------------------------------------------------------------------
    # the Outlook button
    # ------------------------------------------------------------------------

    def _my_account(self):
        """The current user's account (as that user), or an empty recordset."""
        account = request.env["microsoft.calendar.account"]._mcs_for_user(request.env.user)
        return account.with_user(request.env.user)

    @http.route("/microsoft_calendar_sync/status", type="jsonrpc", auth="user")
    def status(self):
        status = request.env["microsoft.calendar.account"]._mcs_status()
        status["flash"] = request.session.pop(FLASH_KEY, None)
        return status

    @http.route("/microsoft_calendar_sync/sync_now", type="jsonrpc", auth="user")
    def sync_now(self):
        try:
            account = self._my_account()
            if not account:
                raise UserError(request.env._("Connect your Outlook calendar first."))
            result = account.action_sync_now()
        except (UserError, AccessError) as error:
            result = {"type": "warning", "message": str(error.args[0])}
        return {**result, "status": request.env["microsoft.calendar.account"]._mcs_status()}

    @http.route("/microsoft_calendar_sync/review_first_sync", type="jsonrpc", auth="user")
    def review_first_sync(self):
        """The review of what the first synchronization will do (an action the button opens)."""
        account = self._my_account()
        if not account:
            raise UserError(request.env._("Connect your Outlook calendar first."))
        return account.action_mcs_review_first_sync()

    @http.route("/microsoft_calendar_sync/pause", type="jsonrpc", auth="user")
    def pause(self):
        self._my_account().action_pause()
        return request.env["microsoft.calendar.account"]._mcs_status()

    @http.route("/microsoft_calendar_sync/resume", type="jsonrpc", auth="user")
    def resume(self):
        self._my_account().action_resume()
        return request.env["microsoft.calendar.account"]._mcs_status()

    @http.route("/microsoft_calendar_sync/start_afresh", type="jsonrpc", auth="user")
    def start_afresh(self):
        self._my_account().action_mcs_start_afresh()
        return request.env["microsoft.calendar.account"]._mcs_status()

    @http.route("/microsoft_calendar_sync/disconnect", type="jsonrpc", auth="user")
    def disconnect(self):
        self._my_account().action_disconnect()
        return request.env["microsoft.calendar.account"]._mcs_status()
