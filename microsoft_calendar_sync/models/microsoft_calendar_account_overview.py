# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What people see of the accounts: the last run in plain words, the calendar
told when a run changed it, and the managers' overview of every internal user.

* :meth:`_mcs_after_run` records a run's figures and, when Outlook brought
  changes, sends the user's browser tabs one bus notification
  (``microsoft_calendar_sync/changed``) so an open calendar reloads.
* :meth:`_mcs_action_overview` gives every active internal user an account
  row (``not_connected`` until they connect), so the managers' list shows who
  has not connected; :meth:`action_mcs_invite` asks them to, with an activity.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_datetime

#: The bus notification an open calendar reloads on.
CHANGED_NOTIFICATION = "microsoft_calendar_sync/changed"
#: Run figures that mean Odoo's events changed (see sync_pull.py and sync_apply.py).
ODOO_CHANGES = ("received", "odoo_created", "odoo_deleted", "conflicts")


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    last_run_counts = fields.Json(readonly=True, copy=False)
    last_run_end = fields.Datetime("Last run ended", readonly=True, copy=False)
    invited_on = fields.Datetime(
        "Invited on", readonly=True, copy=False,
        help="When a manager last asked this user to connect their Outlook calendar.")
    user_active = fields.Boolean(related="user_id.active", string="Active user")

    # ------------------------------------------------------------------ the last run

    def _mcs_after_run(self, counts):
        """Record what the run did; tell the user's open calendars when Odoo's events changed."""
        self.ensure_one()
        account = self.sudo()
        figures = {key: counts.get(key, 0) for key in ("sent", "received", "conflicts", "errors", "skipped",
                                                        "odoo_created", "odoo_deleted")}
        # (the figures of an idle run are those of the one before: only the end time is written then)
        account._mcs_set_values({"last_run_counts": figures, "last_run_end": fields.Datetime.now()})
        if any(figures[key] for key in ODOO_CHANGES):
            account.user_id._bus_send(CHANGED_NOTIFICATION, {"account_id": account.id, **figures})

    def _mcs_last_run_changed(self):
        self.ensure_one()
        figures = self.sudo().last_run_counts or {}
        return any(figures.get(key) for key in ODOO_CHANGES)

    def _mcs_skipped_items(self, limit=5):
        """The skipped rows by name and reason, an event's occurrences together: (items, how many more)."""
        self.ensure_one()
        bindings = self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", self.id), ("state", "=", "skipped")], order="id")
        groups = {}
        for binding in bindings.with_user(self.user_id):
            subject, _start = binding._mcs_subject_and_start()
            reason = binding._mcs_skip_reason_text()
            key = (subject or binding.name, reason)
            groups.setdefault(key, []).append(binding)
        items = []
        for (subject, reason), rows in groups.items():
            items.append({"name": subject if len(rows) > 1 else rows[0].name, "reason": reason,
                          "count": len(rows)})
        return items[:limit], max(len(items) - limit, 0)

    # ------------------------------------------------------------------ managers' overview

    def _mcs_check_manager(self):
        if not self.env.user.has_group("microsoft_calendar_sync.group_microsoft_calendar_sync_manager"):
            raise AccessError(self.env._("Only Outlook Calendar managers can do this."))

    @api.model
    def _mcs_ensure_user_accounts(self):
        """An account row (not connected) for each active internal user who has none."""
        known = self.sudo().with_context(active_test=False).search([]).user_id
        users = self.env["res.users"].sudo().search([("share", "=", False)]) - known
        if users:
            self.sudo().with_context(mail_create_nolog=True, tracking_disable=True).create(
                [{"user_id": user.id} for user in users])

    @api.model
    def _mcs_action_overview(self):
        """The accounts list with every internal user in it (managers)."""
        self._mcs_check_manager()
        self._mcs_ensure_user_accounts()
        return self.env["ir.actions.act_window"]._for_xml_id("microsoft_calendar_sync.microsoft_calendar_account_action")

    def _mcs_invitation_summary(self):
        return self.env._("Connect your Outlook calendar")

    def action_mcs_invite(self):
        """Ask the users of these accounts (not connected, or signed out) to connect, with a To-Do activity."""
        self._mcs_check_manager()
        _ = self.env._
        todo = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        invited = self.browse()
        for account in self.sudo().filtered(lambda a: a.state in ("not_connected", "needs_reauth")):
            summary = account._mcs_invitation_summary()
            if account.activity_ids.filtered(lambda a: a.user_id == account.user_id and a.summary == summary):
                invited |= account
                continue
            account.activity_schedule(
                activity_type_id=todo.id if todo else False, summary=summary, user_id=account.user_id.id,
                note=_("%(manager)s asks you to connect your Outlook calendar: open Calendar and click the "
                       "Outlook button at the top, then sign in to Microsoft.", manager=self.env.user.name))
            invited |= account
        invited.sudo().invited_on = fields.Datetime.now()
        skipped = len(self) - len(invited)
        message = _("%(count)s users asked to connect their Outlook calendar.", count=len(invited))
        if skipped:
            message += " " + _("%(count)s already connected were left alone.", count=skipped)
        return {
            "type": "ir.actions.client", "tag": "display_notification",
            "params": {"type": "success" if invited else "warning", "message": message,
                       "next": {"type": "ir.actions.act_window_close"}},
        }

    def _mcs_close_reauth_activities(self):
        # connecting (or disconnecting) also answers a manager's invitation
        super()._mcs_close_reauth_activities()
        summary = self._mcs_invitation_summary()
        self.sudo().activity_ids.filtered(lambda a: a.summary == summary).unlink()

    def _mcs_last_run_when(self):
        self.ensure_one()
        end = self.sudo().last_run_end
        return format_datetime(self.env, end, dt_format="short") if end else ""
