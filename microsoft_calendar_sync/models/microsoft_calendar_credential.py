# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The tokens of an Outlook connection, in a table of their own.

Why not a column of the account: a sync run holds its account's row
(``SELECT ... FOR UPDATE``) for as long as it runs, and a statement that writes
that row meanwhile waits, then fails with a serialization failure; Odoo's SQL
layer logs a failed statement at ERROR *with its parameters*, which would put
the refresh token in the log. So tokens are only ever INSERTed here, one row
per save (an INSERT waits for no row lock: the only foreign key is to the
user, whose row no run holds), and read back as the newest row of the
account's current ``connection_key``. Rows are deleted by disconnect and by
the autovacuum, in statements that hold no token.

The ``connection_key`` ties tokens to one sign-in: a run that started before
a reconnect saves its refreshed tokens under the old key, where nobody reads
them, instead of overwriting the new sign-in's.
"""

from odoo import api, fields, models


class MicrosoftCalendarCredential(models.Model):
    _name = "microsoft.calendar.credential"
    _description = "Outlook connection tokens"
    _order = "id desc"

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True, readonly=True)
    connection_key = fields.Char(required=True, index=True, readonly=True)
    token_cache = fields.Text(
        readonly=True, help="MSAL's serialized token cache (access, refresh and ID tokens). Secret.")
    home_account_id = fields.Char(readonly=True)

    @api.model
    def _mcs_current(self, user, connection_key):
        """The newest tokens saved for ``user`` under ``connection_key`` (sudo), or an empty recordset."""
        if not connection_key:
            return self.sudo().browse()
        # one query: the row and its tokens (a sync run reads them at each start)
        return self.sudo().search_fetch(
            [("user_id", "=", user.id), ("connection_key", "=", connection_key)],
            ["token_cache", "home_account_id"], limit=1)

    @api.model
    def _mcs_save(self, user, connection_key, token_cache, home_account_id):
        """Insert a new row: never an UPDATE, see the module docstring."""
        return self.sudo().create({
            "user_id": user.id, "connection_key": connection_key,
            "token_cache": token_cache, "home_account_id": home_account_id,
        })

    @api.model
    def _mcs_forget(self, user):
        """Every token of ``user``, gone (disconnect, revoked grant)."""
        self.sudo().search([("user_id", "=", user.id)]).unlink()

    @api.autovacuum
    def _gc_superseded_credentials(self):
        """Rows no account reads any more: older saves of a key, and keys of past sign-ins."""
        self.env.cr.execute("""
            DELETE FROM microsoft_calendar_credential credential
             WHERE NOT EXISTS (
                   SELECT 1 FROM microsoft_calendar_account account
                    WHERE account.user_id = credential.user_id
                      AND account.connection_key = credential.connection_key)
                OR credential.id < (
                   SELECT max(newer.id) FROM microsoft_calendar_credential newer
                    WHERE newer.user_id = credential.user_id
                      AND newer.connection_key = credential.connection_key)
        """)
