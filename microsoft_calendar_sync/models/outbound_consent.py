# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Changes made by someone else than the organizer wait for the organizer.

A push acts as the organizer: Outlook e-mails the attendees of the organizer's
meetings from the organizer's mailbox. Colleagues may edit each other's events
in Odoo, so when the outbox marks a binding for a change whose author is not
the organizer, :func:`outlook_sync.consent.hold_reason` decides, under the
setting ``microsoft_calendar_sync.others_changes``, whether it is sent or
*held*: the binding's state becomes ``held`` (the push leaves it alone, the
pull leaves its Outlook side alone), the organizer gets an activity saying
who changed what and whom Outlook would e-mail, and only the organizer's
"Send to Outlook" lets it go. A held binding stays held through later changes,
the organizer's own included, until then.

The organization's addresses: those of this database's internal users and of
every connected mailbox.
"""

from outlook_sync.consent import OthersChanges, hold_reason, outside_addresses
from outlook_sync.model import EVENT_FIELDS, field_equal
from outlook_sync.reconcile import ODOO_OWNED_FIELDS, PERSONAL_FIELDS

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import email_normalize

from ..utils import event_mapping
from .microsoft_calendar_binding import OUTBOX_MARK

OTHERS_CHANGES_PARAM = "microsoft_calendar_sync.others_changes"
DEFAULT_OTHERS_CHANGES = OthersChanges.NO_OUTSIDE_MAIL


def others_changes_policy(env):
    value = env["ir.config_parameter"].sudo().get_param(OTHERS_CHANGES_PARAM) or DEFAULT_OTHERS_CHANGES.value
    return OthersChanges._value2member_map_.get(value, DEFAULT_OTHERS_CHANGES)


class MicrosoftCalendarBinding(models.Model):
    _inherit = "microsoft.calendar.binding"

    state = fields.Selection(selection_add=[("held", "Waiting for approval")], ondelete={"held": "set default"})
    changed_by_id = fields.Many2one(
        "res.users", "Changed by", readonly=True, copy=False, ondelete="set null",
        help="Who made the change that waits for the organizer's approval.")
    held_reason = fields.Text("Why it waits", readonly=True, copy=False)

    def _mcs_hold_changes_by_others(self, author, held_before=()):
        """Hold the just-marked bindings whose change ``author`` may not send as the organizer.

        ``held_before``: ids of bindings that were held before this change
        (they stay held, whoever changed them now).
        """
        policy = others_changes_policy(self.env)
        organization = None
        held = self.browse()
        for binding in self.sudo():
            organizer = binding.account_id.user_id
            by_organizer = author == organizer or author._is_superuser()
            if binding.id not in held_before and (by_organizer or policy is OthersChanges.EVERYONE):
                continue
            if organization is None:
                organization = self._mcs_organization_addresses()
            outside = outside_addresses(binding._mcs_addresses_outlook_would_mail(), organization)
            reason = hold_reason(policy, by_organizer=by_organizer, outside=outside)
            if reason is None and binding.id not in held_before:
                continue
            values = {"state": "held"}
            if reason:
                values.update(changed_by_id=author.id, held_reason=self._mcs_hold_text(reason, author, outside))
            binding.write(values)
            held |= binding
        held.account_id._mcs_ask_approval()
        return held

    def _mcs_addresses_outlook_would_mail(self):
        """Who Outlook e-mails for the change: every attendee before (as last synced) and after it,
        except for a change of the attendees only, which mails the added, removed and retyped ones,
        and a change of the organizer's own view (reminder, categories, show-as), which mails nobody."""
        self.ensure_one()
        base = self._mcs_to_core().base
        addresses = {attendee.email for attendee in base.attendees} if base else set()
        event = self.event_id.with_context(active_test=False)
        if event:
            addresses |= {email_normalize(partner.email) or partner.email
                          for partner in event.attendee_ids.partner_id if partner.email}
            addresses.discard(email_normalize(event.user_id.email or ""))
        if base is not None and event.active and not event.recurrence_id:
            now = event_mapping.odoo_event_to_core(event, base=base)
            changed = {name for name in EVENT_FIELDS if not field_equal(name, getattr(now, name), getattr(base, name))}
            # nothing changed: the event is being deleted (a cancellation to everyone)
            if changed and not changed - PERSONAL_FIELDS - ODOO_OWNED_FIELDS - {"attendees"}:
                before = {attendee.email: attendee.type for attendee in base.attendees}
                after = {attendee.email: attendee.type for attendee in now.attendees}
                return {email for email in before.keys() | after.keys() if before.get(email) != after.get(email)}
        return addresses

    @api.model
    def _mcs_organization_addresses(self):
        users = self.env["res.users"].sudo().with_context(active_test=False).search([("share", "=", False)])
        mailboxes = self.env["microsoft.calendar.account"].sudo().search([("mailbox", "!=", False)]).mapped("mailbox")
        return {email_normalize(email) or email for email in users.mapped("email") if email} | set(mailboxes)

    def _mcs_hold_text(self, reason, author, outside):
        _ = self.env._
        if reason == "mails_outside":
            return _("%(author)s changed this event. Sending it to Outlook would make your mailbox e-mail "
                     "%(addresses)s, outside the organization, so it waits for your approval.",
                     author=author.name, addresses=", ".join(outside))
        return _("%(author)s changed this event. Only your own changes go to your Outlook calendar at once "
                 "(setting of your administrator); this one waits for your approval.", author=author.name)

    def action_send_to_outlook(self):
        """The organizer approves: the held changes go out with the next push."""
        bindings = self.sudo().filtered(lambda b: b.state == "held")
        if any(binding.account_id.user_id != self.env.user for binding in bindings):
            raise AccessError(self.env._(
                "Only the organizer can send a change made by someone else to their Outlook calendar."))
        bindings.write({"state": "pending", "pending": OUTBOX_MARK, "next_retry": False, "attempts": 0,
                        "changed_by_id": False, "held_reason": False})
        bindings.account_id._mcs_close_approval_activities()
        if bindings:
            self.env["calendar.event"]._mcs_trigger_push()
        return True


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    sync_held_count = fields.Integer("Waiting for approval", compute="_compute_sync_held_count")

    @api.depends("binding_ids.state")
    def _compute_sync_held_count(self):
        groups = self.env["microsoft.calendar.binding"].sudo()._read_group(
            [("account_id", "in", self.ids), ("state", "=", "held")], ["account_id"], ["__count"])
        counts = {account.id: count for account, count in groups}
        for account in self:
            account.sync_held_count = counts.get(account.id, 0)

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        if status.get("counts"):
            status["counts"]["held"] = self._mcs_for_user(user or self.env.user).sync_held_count
        return status

    def _mcs_approval_summary(self):
        return self.env._("Changes made by others wait for your approval before going to Outlook")

    def _mcs_ask_approval(self):
        todo = self.env.ref("mail.mail_activity_data_todo", raise_if_not_found=False)
        for account in self.sudo():
            if account.activity_ids.filtered(lambda a, account=account: a.user_id == account.user_id
                                             and a.summary == self._mcs_approval_summary()):
                continue
            account.activity_schedule(
                activity_type_id=todo.id if todo else False, summary=self._mcs_approval_summary(),
                note=self.env._("Open Calendar, click the Outlook button, then \"changes by others wait for your "
                                "approval\": read why each change waits and press \"Send to Outlook\" for those "
                                "you accept."),
                user_id=account.user_id.id)

    def _mcs_close_approval_activities(self):
        self.invalidate_recordset(["sync_held_count"])
        for account in self.sudo():
            if not account.sync_held_count:
                account.activity_ids.filtered(lambda a: a.summary == self._mcs_approval_summary()).unlink()


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mcs_others_changes = fields.Selection(
        [(OthersChanges.NO_OUTSIDE_MAIL.value, "Sent, unless Outlook would e-mail someone outside"),
         (OthersChanges.ORGANIZER_ONLY.value, "Always wait for the organizer's approval"),
         (OthersChanges.EVERYONE.value, "Always sent (not recommended)")],
        string="Changes made by others", config_parameter=OTHERS_CHANGES_PARAM,
        default=DEFAULT_OTHERS_CHANGES.value,
        help="When someone changes or deletes an event organized by a user whose Outlook is connected, the change "
             "goes out from the organizer's mailbox: Outlook e-mails the attendees as that user. By default a change "
             "by someone else that would e-mail an address outside the organization (not an internal user's, not a "
             "connected mailbox) waits until the organizer approves it.")
