# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""An attendee's answer given in Odoo goes out through that attendee's own Outlook account.

Accepting, declining or answering "maybe" in Odoo (the event's buttons, the
invitation link, any write of ``state``) queues the answer on the row of the
attendee's account for that meeting, in the same transaction; the next run of
that account sends it (sync_meetings.py). Answers read from Outlook carry the
inbound flag and queue nothing.
"""

from odoo import models

from .calendar_event import FROM_OUTLOOK
from .sync_meetings import ANSWER_ACTIONS


class CalendarAttendee(models.Model):
    _inherit = "calendar.attendee"

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals and vals["state"] in ANSWER_ACTIONS and not self.env.context.get(FROM_OUTLOOK):
            self._mcs_queue_answers()
        return result

    def _mcs_queue_answers(self):
        """Queue the answers of attendees answering for themselves (their own user, or Odoo's invitation
        link, which runs as superuser on the link's token): a colleague who changes someone's answer in
        Odoo never makes that person's Outlook answer."""
        attendees = self.filtered(lambda attendee: self.env.su or attendee.partner_id == self.env.user.partner_id)
        if not attendees:
            return
        # Outlook answers a series as a whole: an answer on one of its events is the series' answer
        recurrences = attendees.event_id.recurrence_id
        rows = self.env["microsoft.calendar.binding"].sudo().search([
            ("attendee_copy", "=", True), ("graph_id", "!=", False),
            ("user_id.partner_id", "in", attendees.partner_id.ids),
            "|", ("event_id", "in", attendees.event_id.ids), "&", ("kind", "=", "series"),
            ("recurrence_id", "in", recurrences.ids)])
        queued = False
        for row in rows:
            answered = attendees.filtered(lambda a: a.partner_id == row.user_id.partner_id and (
                a.event_id == row.event_id or row.kind == "series" and a.event_id.recurrence_id == row.recurrence_id))
            if answered:
                row._mcs_queue_answer(answered[0].state)
                queued = True
        if queued:
            self.env["calendar.event"]._mcs_trigger_push()
