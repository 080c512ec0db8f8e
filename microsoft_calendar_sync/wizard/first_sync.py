# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Review first synchronization: what it will import, create and e-mail, and the choices.

Opened for the account's owner right after connecting (the Outlook button opens
it when the callback says so), from the Outlook button's menu and the account's
form while the first sync waits, and by a manager after a reset to "all existing
events". Outlook's side is read once, when the review opens (one calendarView
request; a failure is said in the review, never raised); the Odoo side is
computed from the account's plan (sync_push.py), so it follows the choices as
they are changed. Confirming stores the choices on the account and lets the
crons run its first synchronization at once.

Only the account's owner and Outlook Calendar Sync managers open a review; a
review is readable by the user who opened it only (record rule).
"""

from odoo import api, fields, models
from odoo.tools import email_normalize

from ..models.first_sync import FUTURE_CHOICES, PAST_CHOICES
from ..models.sync_push import SKIP, WITH_ATTENDEES, WITHOUT_ATTENDEES

#: Addresses named one by one in the list of who would be e-mailed.
RECIPIENTS_SHOWN = 20


class MicrosoftCalendarFirstSync(models.TransientModel):
    _name = "microsoft.calendar.first.sync"
    _description = "Review the first Outlook synchronization"

    account_id = fields.Many2one("microsoft.calendar.account", "Outlook account", required=True, readonly=True,
                                 ondelete="cascade")
    user_id = fields.Many2one("res.users", "User", compute="_compute_account_info")
    mailbox = fields.Char("Mailbox", compute="_compute_account_info")
    wait_until = fields.Datetime("Starts without a choice at", compute="_compute_account_info")
    intro = fields.Text(readonly=True, help="What came before (a reset's result).")
    past_meetings = fields.Selection(PAST_CHOICES, "What to do with the meetings that already started",
                                     required=True, default=WITHOUT_ATTENDEES)
    future_meetings = fields.Selection(FUTURE_CHOICES, "What to do with the meetings to come", required=True,
                                       default=SKIP)
    outlook_count = fields.Integer("Outlook events to import", readonly=True,
                                   help="Events of the sync window Odoo does not have yet (a series counts once). "
                                        "Imports never e-mail anyone.")
    outlook_more = fields.Boolean(readonly=True, help="Outlook holds more events than one page shows.")
    outlook_error = fields.Char("Outlook could not be asked", readonly=True)
    own_count = fields.Integer("Your events (without attendees) created in Outlook", compute="_compute_preview")
    past_count = fields.Integer("Meetings that already started", compute="_compute_preview")
    future_count = fields.Integer("Meetings to come", compute="_compute_preview")
    created_count = fields.Integer("Odoo events created in Outlook", compute="_compute_preview")
    withheld_count = fields.Integer("Meetings sent without attendees", compute="_compute_preview")
    invitation_count = fields.Integer("Invitations Outlook would e-mail", compute="_compute_preview")
    invitation_internal = fields.Integer("to internal addresses", compute="_compute_preview")
    invitation_external = fields.Integer("to external addresses", compute="_compute_preview")
    recipients = fields.Text("Who would be e-mailed", compute="_compute_preview")

    @api.model_create_multi
    def create(self, vals_list):
        Account = self.env["microsoft.calendar.account"]
        for vals in vals_list:
            account = Account.browse(vals.get("account_id")).sudo().exists()
            account._mcs_check_may_manage()  # the owner or a manager (raises for anyone else)
            vals.setdefault("past_meetings", account._mcs_first_sync_choice("past"))
            vals.setdefault("future_meetings", account._mcs_first_sync_choice("future"))
            if account:
                vals["outlook_count"], vals["outlook_more"], vals["outlook_error"] = \
                    account._mcs_outlook_import_preview()
        return super().create(vals_list)

    @api.depends("account_id")
    def _compute_account_info(self):
        for review in self:
            account = review.account_id.sudo()
            review.user_id = account.user_id
            review.mailbox = account.mailbox
            review.wait_until = account.first_sync_wait_until

    @api.depends("account_id", "past_meetings", "future_meetings")
    def _compute_preview(self):
        organization = None
        for review in self:
            account = review.account_id.sudo()
            if not account:
                review.update({name: 0 for name in ("own_count", "past_count", "future_count", "created_count",
                                                    "withheld_count", "invitation_count", "invitation_internal",
                                                    "invitation_external")})
                review.recipients = False
                continue
            plan = account._mcs_first_sync_plan()
            past = WITHOUT_ATTENDEES if review.past_meetings == WITH_ATTENDEES else review.past_meetings
            future = review.future_meetings
            sent = (plan.past if past != SKIP else []) + (plan.future if future != SKIP else [])
            withheld = (plan.past if past == WITHOUT_ATTENDEES else []) + \
                (plan.future if future == WITHOUT_ATTENDEES else [])
            invited = plan.future if future == WITH_ATTENDEES else []
            if organization is None:
                organization = self.env["microsoft.calendar.binding"]._mcs_organization_addresses()
            per_address = {}
            for meeting in invited:
                for address in review._mcs_invitees(meeting):
                    per_address[address] = per_address.get(address, 0) + 1
            internal = sum(count for address, count in per_address.items() if address in organization)
            review.update({
                "own_count": plan.own_count, "past_count": len(plan.past), "future_count": len(plan.future),
                "created_count": plan.own_count + len(sent), "withheld_count": len(withheld),
                "invitation_count": sum(per_address.values()), "invitation_internal": internal,
                "invitation_external": sum(per_address.values()) - internal,
            })
            review.recipients = review._mcs_recipients_text(per_address, organization) or False

    @staticmethod
    def _mcs_invitees(meeting):
        """The addresses Outlook would send ``meeting``'s invitation to (a series: its first event's)."""
        event = meeting.base_event_id if meeting._name == "calendar.recurrence" else meeting
        organizer = event.user_id.partner_id
        addresses = {email_normalize(partner.email) or partner.email.strip().lower()
                     for partner in event.attendee_ids.partner_id if partner.email and partner != organizer}
        addresses.discard(email_normalize(organizer.email or "") or "")
        return sorted(addresses)

    def _mcs_recipients_text(self, per_address, organization):
        _ = self.env._
        ordered = sorted(per_address.items(), key=lambda item: (-item[1], item[0]))
        lines = [_("%(address)s (%(kind)s): %(count)s invitations", address=address, count=count,
                   kind=_("internal") if address in organization else _("external"))
                 for address, count in ordered[:RECIPIENTS_SHOWN]]
        if len(ordered) > RECIPIENTS_SHOWN:
            lines.append(_("and %(count)s other addresses", count=len(ordered) - RECIPIENTS_SHOWN))
        return "\n".join(lines)

    def action_confirm(self):
        """Store the choices and start the first synchronization (the next pull cron, triggered now)."""
        self.ensure_one()
        account = self.account_id.sudo()
        account._mcs_check_may_manage()
        account.write({"first_sync_past_meetings": self.past_meetings,
                       "first_sync_future_meetings": self.future_meetings, "first_sync_wait_until": False})
        account.message_post(body=self.env._(
            "%(user)s reviewed the first synchronization: %(choices)s.", user=self.env.user.name,
            choices=account._mcs_first_sync_choices_text()))
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull").sudo()._trigger()
        return {"type": "ir.actions.client", "tag": "display_notification", "params": {
            "type": "success", "message": self.env._("The first synchronization starts now."),
            "next": {"type": "ir.actions.act_window_close"}}}
