# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reset Account: what to do with the events of one Outlook account, and how the next sync starts.

Mechanism (the smallest that reuses the sync run): only events linked to the
account by a binding are ever deleted (never another user's event, never an
Outlook event that was never synced: skipped rows are left alone). Outlook
deletes go first (one ``$batch``); a 404 counts as done, so a re-run deletes
nothing twice; a failed delete keeps its binding (and, with "both", its Odoo
event) and is reported. Meetings with attendees are not deleted from Outlook
(it would e-mail cancellations). Odoo deletes run with the inbound flag, so
they push nothing. "All existing events" forgets the delta token: the next
pull is a full round, re-linked through the remaining bindings, our reference
and the iCalUId by the reconciler, and queues the user's Odoo events of the
window that no binding links (the first sync's enqueue); when the user has
existing meetings, that first sync waits for a review of what it does with
them (models/first_sync.py), which the wizard opens next. "Only new events"
keeps the delta token, marks no Odoo event pending, and has the pull leave
out the unlinked Outlook events created before the reset.
"""

from datetime import timedelta

from outlook_sync.client import BatchRequest, event_path
from outlook_sync.errors import OutlookSyncError

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.calendar_event import FROM_OUTLOOK

MANAGER = "microsoft_calendar_sync.group_microsoft_calendar_sync_manager"


class MicrosoftCalendarResetAccount(models.TransientModel):
    _name = "microsoft.calendar.reset.account"
    _description = "Reset an Outlook Calendar account"

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    delete_mode = fields.Selection(
        [("none", "Leave them untouched"), ("outlook", "Delete from the current Outlook calendar"),
         ("odoo", "Delete from Odoo"), ("both", "Delete from both")],
        "Existing events", default="none", required=True)
    sync_mode = fields.Selection(
        [("new", "Synchronize only new events"), ("all", "Synchronize all existing events")],
        "Next synchronization", default="new", required=True)
    preview_outlook = fields.Integer("Outlook events to delete", compute="_compute_preview")
    preview_odoo = fields.Integer("Odoo events to delete", compute="_compute_preview")
    preview_bindings = fields.Integer("Links to remove", compute="_compute_preview")
    result = fields.Text(readonly=True)

    @api.model
    def _mcs_check_access(self):
        if not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only Outlook Calendar Sync managers may reset an account."))

    @api.model_create_multi
    def create(self, vals_list):
        self._mcs_check_access()
        return super().create(vals_list)

    def _mcs_plan(self):
        """(Outlook bindings to delete, bindings whose Odoo event is deleted, bindings to unlink)."""
        self.ensure_one()
        account = self.env["microsoft.calendar.account"]._mcs_for_user(self.user_id)
        Binding = self.env["microsoft.calendar.binding"].sudo()
        if not account or self.delete_mode == "none":
            return Binding, Binding, Binding
        bindings = Binding.search([("account_id", "=", account.id), ("state", "!=", "skipped")])
        outlook = Binding
        if self.delete_mode in ("outlook", "both"):
            outlook = bindings.filtered(lambda b: b.graph_id and not b._mcs_has_attendees())
        odoo = Binding
        if self.delete_mode in ("odoo", "both"):
            odoo = bindings.filtered(lambda b: (b.event_id or b.recurrence_id.base_event_id).user_id == account.user_id
                                     and (b.event_id or b.kind == "series")
                                     and (self.delete_mode == "odoo" or not b.graph_id or b in outlook))
        return outlook, odoo, outlook | odoo

    @api.depends("delete_mode", "user_id")
    def _compute_preview(self):
        for wizard in self:
            outlook, odoo, unlink = wizard._mcs_plan()
            wizard.preview_outlook, wizard.preview_odoo, wizard.preview_bindings = len(outlook), len(odoo), len(unlink)

    def action_confirm(self):
        self._mcs_check_access()
        self.ensure_one()
        _ = self.env._
        account = self.env["microsoft.calendar.account"]._mcs_for_user(self.user_id)
        if not account:
            raise UserError(_("This user has no Outlook account."))
        if not account._mcs_reset_lock():
            raise UserError(_("A synchronization of this account is running; try again in a minute."))
        outlook, odoo, _unlink = self._mcs_plan()
        lines, failed = [], self.env["microsoft.calendar.binding"].sudo()
        deleted_outlook = failed
        connected = account.state not in ("not_connected", "needs_reauth") and account.sudo().connection_key
        if outlook and account.mailbox_change:
            # the tokens are another mailbox's: a delete there would answer 404 and count as done
            lines.append(_("%(count)s Outlook events not deleted: they are in %(old)s, and the account is now "
                           "connected to %(new)s.", count=len(outlook), old=account.linked_mailbox or "?",
                           new=account.mailbox))
            failed = outlook
        elif outlook and not connected:
            lines.append(_("%(count)s Outlook events not deleted: the account is not connected.",
                           count=len(outlook)))
            failed = outlook
        elif outlook:
            try:
                with account._mcs_graph() as (_signin, client):
                    answers = client.batch([BatchRequest("DELETE", event_path(b.graph_id)) for b in outlook])
                for binding, answer in zip(outlook, answers):
                    if answer.ok or answer.status == 404:
                        deleted_outlook |= binding
                    else:
                        failed |= binding
            except OutlookSyncError as error:
                failed = outlook
                lines.append(_("Outlook could not be reached (%(error)s).", error=str(error)))
            lines.append(_("%(count)s events deleted from Outlook.", count=len(deleted_outlook)))
            if failed:
                lines.append(_("%(count)s Outlook deletes failed; they stay linked (run the reset again).",
                               count=len(failed)))
        if self.delete_mode == "both" and (connected or account.mailbox_change):
            odoo -= failed.filtered("graph_id")  # their Outlook copies are still there
        # a series row deletes its whole recurrence
        events = odoo.event_id | odoo.filtered(lambda b: b.kind == "series").recurrence_id.with_context(
            active_test=False).calendar_event_ids
        unlink = (deleted_outlook | odoo).sudo()
        unlink.unlink()
        events.sudo().with_context(**{FROM_OUTLOOK: True}).unlink()
        lines.append(_("%(count)s events deleted from Odoo.", count=len(events)))
        lines.append(_("%(count)s links removed.", count=len(unlink)))
        if self.sync_mode == "all":
            # a full round (no delta link) and a first sync's enqueue of the user's Odoo events
            # that no binding links (no last_sync); nothing is excluded by its creation date
            account.sudo().write({"delta_link": False, "delta_window_start": False, "delta_window_end": False,
                                  "last_sync": False, "new_events_since": False})
            lines.append(_("The next synchronization reads all existing Outlook events again and sends the "
                           "Odoo events Outlook does not have."))
            if account._mcs_first_sync_ask():
                # existing meetings: what it does with them is reviewed first (models/first_sync.py)
                lines.append(_("It waits for a review of what it does with the existing meetings."))
                self.result = "\n".join(lines)
                return account.action_mcs_review_first_sync(intro=self.result)
        else:
            now = fields.Datetime.now()
            # Outlook events created before the reset and not linked are never imported (the pull
            # skips them by createdDateTime; the field keeps whole seconds, so the reset's own second
            # counts as before); no first-sync enqueue of old Odoo events either.
            account.sudo().write({"new_events_since": now.replace(microsecond=0) + timedelta(seconds=1),
                                  "last_sync": account.last_sync or now})
            lines.append(_("The next synchronization brings only new events."))
        self.result = "\n".join(lines)
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
                "view_mode": "form", "target": "new"}


class ResUsers(models.Model):
    _inherit = "res.users"

    def action_mcs_reset_account(self, delete_mode="none", sync_mode="new"):
        """Reset the Outlook account of these users (scripts, RPC); returns the result messages."""
        Wizard = self.env["microsoft.calendar.reset.account"]
        Wizard._mcs_check_access()
        results = []
        for user in self:
            wizard = Wizard.create({"user_id": user.id, "delete_mode": delete_mode, "sync_mode": sync_mode})
            wizard.action_confirm()
            results.append(wizard.result)
        return results

    def action_mcs_open_reset_account(self):
        self.ensure_one()
        self.env["microsoft.calendar.reset.account"]._mcs_check_access()
        return {"type": "ir.actions.act_window", "res_model": "microsoft.calendar.reset.account",
                "view_mode": "form", "target": "new", "context": {"default_user_id": self.id}}
