# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recurring series are synchronized now: the rows that skipped them go, and each account
with such rows starts a fresh delta round (an unchanged Outlook series is listed by no
incremental round), which matches what is bound and imports the series. Odoo's own series
join the outbox as the first sync would take them (existing meetings are not sent)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    rows = env["microsoft.calendar.binding"].search([("state", "=", "skipped"), ("skip_reason", "=", "recurring")])
    accounts = rows.account_id
    rows.unlink()
    accounts.write({"delta_link": False})
    for account in accounts.filtered(lambda account: account.state in ("connected", "error", "syncing")):
        window = account._mcs_window(account._mcs_settings_values())
        events = env["calendar.event"].search([("user_id", "=", account.user_id.id), ("recurrence_id", "!=", False),
                                               ("stop", ">=", window.start.replace(tzinfo=None))])
        own = events.filtered(lambda event: not (event.partner_ids - account.user_id.partner_id))
        own.with_user(account.user_id).sudo()._mcs_mark_pending()
