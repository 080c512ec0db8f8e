# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sign-ins in progress: the server-side half of the OAuth ``state``.

When a user clicks Connect, MSAL builds an auth-code flow (PKCE verifier,
nonce, state). The whole flow stays here, in the database, never in the
browser. Its ``state`` is random; only its SHA-256 is stored, next to the user
who started the sign-in and the SHA-256 of a random key kept in that user's
Odoo session. The callback accepts a state only if it is known, not expired,
started by the same user in the same browser session, and it deletes the
record before redeeming the code, so a state works once.
"""

import hashlib
import json
import secrets
from datetime import timedelta

from odoo import api, fields, models

SESSION_KEY = "microsoft_calendar_sync.sign_in_key"
LIFETIME = timedelta(minutes=15)


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


class SignInRefused(Exception):
    """The callback's state is not acceptable; ``reason`` says why (a code)."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class MicrosoftCalendarSignIn(models.Model):
    _name = "microsoft.calendar.sign.in"
    _description = "Outlook sign-in in progress"
    _log_access = True

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    state_digest = fields.Char(required=True, index=True)
    session_digest = fields.Char(required=True)
    flow = fields.Text(required=True, groups="base.group_system")
    expires_at = fields.Datetime(required=True)

    _state_digest_uniq = models.Constraint("UNIQUE (state_digest)", "Sign-in states are unique.")

    @api.model
    def _mcs_start(self, user, session, signin, redirect_uri, login_hint=None):
        """Begin a sign-in for ``user`` in ``session``; return Microsoft's URL."""
        key = session.get(SESSION_KEY)
        if not key:
            key = session[SESSION_KEY] = secrets.token_urlsafe(32)
        state = secrets.token_urlsafe(32)
        flow = signin.start_sign_in(redirect_uri, login_hint=login_hint, state=state)
        records = self.sudo()
        records.search([("expires_at", "<", fields.Datetime.now())]).unlink()
        records.create({
            "user_id": user.id,
            "state_digest": digest(state),
            "session_digest": digest(key),
            "flow": json.dumps(flow),
            "expires_at": fields.Datetime.now() + LIFETIME,
        })
        return flow["auth_uri"]

    @api.model
    def _mcs_take(self, state, user, session):
        """The MSAL flow of ``state`` if ``user`` in ``session`` started it.

        The record is deleted when it is returned (single use). Raises
        :class:`SignInRefused` with ``missing``, ``unknown`` (forged or already
        used), ``foreign_user``, ``foreign_session`` or ``expired``.
        """
        if not state:
            raise SignInRefused("missing")
        record = self.sudo().search([("state_digest", "=", digest(state))], limit=1)
        if not record:
            raise SignInRefused("unknown")
        if record.user_id != user:
            raise SignInRefused("foreign_user")
        key = session.get(SESSION_KEY)
        if not key or not secrets.compare_digest(digest(key), record.session_digest):
            raise SignInRefused("foreign_session")
        flow = json.loads(record.flow)
        expired = record.expires_at < fields.Datetime.now()
        record.unlink()
        if expired:
            raise SignInRefused("expired")
        return flow

    @api.autovacuum
    def _gc_expired_sign_ins(self):
        self.sudo().search([("expires_at", "<", fields.Datetime.now())]).unlink()
