# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Clean up: remove from Outlook the events this module created there.

Which events are ours is asked of Outlook, not of the bindings (a reset or a
lost binding must not hide one): every event of the mailbox that carries our
reference extended property naming an event of *this* database, and a
``transactionId``. Both are needed: earlier versions also stamped our
reference on events imported from Outlook, but only our own creates carry a
``transactionId`` (Graph returns it only when the app that created the event
set one, and every create of ours does). Meetings with attendees are kept:
deleting them would e-mail a cancellation to every attendee.

Resumable: the deletes go out in ``$batch`` requests; the binding of an event
is removed only once Outlook answered the delete (204, or 404: already gone),
so a run that fails halfway leaves the rest listed for the next one and
deletes nothing twice. Optionally the Odoo copies of events imported from
Outlook are archived (only the user's own events that no other account
shares), with their bindings removed so that no sync deletes them in Outlook.
"""

from outlook_sync.client import BatchRequest, event_path
from outlook_sync.errors import OutlookSyncError
from outlook_sync.mapping import ODOO_REF_PROPERTY_ID

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.calendar_event import FROM_OUTLOOK

#: Events per page of the listing of our events.
LIST_PAGE = 100


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    def _mcs_cleanup_graph(self):
        account = self.sudo()
        if account.state in ("not_connected", "needs_reauth") or not account.connection_key:
            raise UserError(self.env._("Connect the Outlook calendar again first: cleaning up needs Outlook."))
        return account._mcs_graph()

    def _mcs_created_in_outlook(self, client):
        """(ids of the events this module created in the mailbox, ids of those that are meetings, kept)."""
        # events and series (calendar.event / calendar.recurrence references) of this database
        prefix = "%s:" % self.env["ir.config_parameter"].sudo().get_param("database.uuid")
        params = {
            "$filter": "singleValueExtendedProperties/Any(ep: ep/id eq '%s' and startswith(ep/value, '%s'))"
                       % (ODOO_REF_PROPERTY_ID, prefix),
            "$select": "id,transactionId,attendees",
            "$expand": "singleValueExtendedProperties($filter=id eq '%s')" % ODOO_REF_PROPERTY_ID,
            "$top": LIST_PAGE,
        }
        ours, meetings = [], []
        for raw in client.iter_items("/me/events", params):
            references = [p.get("value") or "" for p in raw.get("singleValueExtendedProperties") or ()
                          if (p.get("id") or "").lower() == ODOO_REF_PROPERTY_ID.lower()]
            if not raw.get("transactionId") or not any(ref.startswith(prefix) for ref in references):
                continue  # imported from Outlook (stamped by an earlier version) or not ours
            if raw.get("attendees"):
                meetings.append(raw["id"])
                continue
            ours.append(raw["id"])
        return ours, meetings

    def _mcs_imported_bindings(self, created):
        """Bindings of events imported from Outlook (not in ``created``, the ids of the events we created
        there) whose Odoo copy only this account holds."""
        Binding = self.env["microsoft.calendar.binding"].sudo()
        bindings = Binding.search([("account_id", "=", self.id), "|", ("event_id", "!=", False),
                                   ("kind", "=", "series"), ("graph_id", "!=", False),
                                   ("graph_id", "not in", list(created)), ("state", "!=", "skipped")])
        shared = Binding.search([("event_id", "in", bindings.event_id.ids), ("account_id", "!=", self.id)]).event_id
        return bindings.filtered(lambda b: (b.event_id or b.recurrence_id.base_event_id).user_id == self.user_id
                                 and (b.event_id or b.recurrence_id) and b.event_id not in shared)

    def _mcs_cleanup_preview(self):
        """What a clean-up would do now: {"outlook": count, "meetings": kept, "imported": count}."""
        self.ensure_one()
        self._mcs_check_may_manage()
        try:
            with self._mcs_cleanup_graph() as (_signin, client):
                ours, meetings = self._mcs_created_in_outlook(client)
        except OutlookSyncError as error:
            raise UserError(self.env._("Outlook could not be asked which events to remove (%(error)s).",
                                       error=str(error))) from error
        return {"outlook": len(ours), "meetings": len(meetings),
                "imported": len(self._mcs_imported_bindings(ours + meetings))}

    def action_mcs_cleanup(self, archive_imported=False, pause=True):
        """Remove the events this module created in Outlook (scripts, RPC); returns the result message."""
        self.ensure_one()
        self._mcs_check_may_manage()
        _ = self.env._
        account = self.sudo()
        if not account._mcs_reset_lock():
            raise UserError(_("A synchronization of this account is running; try again in a minute."))
        deleted, failed, error_text, ours, meetings = [], 0, "", [], []
        try:
            with self._mcs_cleanup_graph() as (_signin, client):
                ours, meetings = self._mcs_created_in_outlook(client)
                try:
                    answers = client.batch([BatchRequest("DELETE", event_path(graph_id)) for graph_id in ours])
                except OutlookSyncError as error:
                    answers, error_text = getattr(error, "partial_results", None) or [], str(error)
                for graph_id, answer in zip(ours, answers):
                    if answer is not None and (answer.ok or answer.status == 404):
                        deleted.append(graph_id)
                failed = len(ours) - len(deleted)
        except OutlookSyncError as error:
            raise UserError(_("Outlook could not be asked which events to remove (%(error)s).",
                              error=str(error))) from error
        # only what Outlook confirmed: the rest stays bound and listed for the next clean-up
        self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", account.id), "|", ("graph_id", "in", deleted),
             ("series_graph_id", "in", deleted)]).unlink()  # a series' changed occurrences go with it
        lines = [_("%(count)s events removed from Outlook.", count=len(deleted))]
        if failed:
            lines.append(_("%(count)s events could not be removed (%(error)s); run the clean-up again to "
                           "remove them.", count=failed, error=error_text or _("Outlook refused the delete")))
        if meetings:
            lines.append(_("%(count)s meetings with attendees were kept: removing them would cancel them "
                           "for every attendee. Cancel them in Outlook or in Odoo if you mean to.",
                           count=len(meetings)))
        if archive_imported:
            imported = account._mcs_imported_bindings(ours + meetings)
            events = imported.event_id | imported.filtered(lambda b: b.kind == "series").recurrence_id.calendar_event_ids
            imported.unlink()  # first: archiving a bound event would delete it in Outlook
            events.with_context(**{FROM_OUTLOOK: True}).write({"active": False})
            lines.append(_("%(count)s Odoo copies of Outlook events archived.", count=len(events)))
        if pause and account.state in ("connected", "error"):
            account.action_pause()
            lines.append(_("Synchronization is stopped, so nothing is sent to Outlook again; resume it "
                           "from the Outlook button when you want."))
        return "\n".join(lines)

    def action_open_cleanup(self):
        """The clean-up wizard, with the count of what it will remove."""
        self.ensure_one()
        wizard = self.env["microsoft.calendar.cleanup"].create({"account_id": self.id})
        return {"type": "ir.actions.act_window", "res_model": wizard._name, "res_id": wizard.id,
                "view_mode": "form", "target": "new", "name": self.env._("Clean up Outlook")}


class MicrosoftCalendarCleanup(models.TransientModel):
    _name = "microsoft.calendar.cleanup"
    _description = "Remove the events Odoo created in Outlook"

    account_id = fields.Many2one("microsoft.calendar.account", required=True, ondelete="cascade", readonly=True)
    archive_imported = fields.Boolean(
        "Also archive the Odoo copies of Outlook events",
        help="Events that came from Outlook are archived in Odoo (only your own, not shared with another "
        "account); they stay in Outlook.")
    pause = fields.Boolean("Stop synchronization afterwards", default=True,
                           help="Otherwise the next change of an Odoo event sends it to Outlook again.")
    preview_outlook = fields.Integer("Events to remove from Outlook", readonly=True)
    preview_meetings = fields.Integer("Meetings kept in Outlook", readonly=True)
    preview_imported = fields.Integer("Odoo copies of Outlook events", readonly=True)
    result = fields.Text(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            account = self.env["microsoft.calendar.account"].sudo().browse(vals.get("account_id"))
            account.with_env(self.env)._mcs_check_may_manage()
            preview = account.with_env(self.env)._mcs_cleanup_preview()
            vals.update(preview_outlook=preview["outlook"], preview_meetings=preview["meetings"],
                        preview_imported=preview["imported"])
        return super().create(vals_list)

    def action_confirm(self):
        self.ensure_one()
        self.result = self.account_id.action_mcs_cleanup(archive_imported=self.archive_imported, pause=self.pause)
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id,
                "view_mode": "form", "target": "new"}
