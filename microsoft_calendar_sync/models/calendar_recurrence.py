# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A series row follows its recurrence when Odoo rebuilds it.

Odoo's "all events" edit of a series' times or pattern deletes the
``calendar.recurrence`` and creates a new one on the same first event
(``calendar.event._rewrite_recurrence``): the row finds the new recurrence by
that event. Deleting a recurrence marks its rows pending, so the push tells
Outlook (or sees the rebuilt series).
"""

from odoo import api, models

from .microsoft_calendar_binding import OUTBOX_MARK

#: What a series is made of, besides its events.
RULE_FIELDS = frozenset({"rrule_type", "interval", "end_type", "count", "until", "mon", "tue", "wed", "thu", "fri",
                         "sat", "sun", "month_by", "day", "byday", "weekday", "event_tz"})


class CalendarRecurrence(models.Model):
    _inherit = "calendar.recurrence"

    @api.model_create_multi
    def create(self, vals_list):
        recurrences = super().create(vals_list)
        rows = self.env["microsoft.calendar.binding"].sudo().search([
            ("kind", "=", "series"), ("recurrence_id", "=", False),
            ("base_event_id", "in", recurrences.base_event_id.ids)])
        for row in rows:
            row.recurrence_id = recurrences.filtered(lambda r: r.base_event_id == row.base_event_id)[:1]
        return recurrences

    def write(self, vals):
        result = super().write(vals)
        if set(vals) & RULE_FIELDS and not self.env.context.get("mcs_from_outlook"):
            # e.g. "this and following" ends the old series the day before (calendar.recurrence._stop_at)
            self._mcs_mark_series_pending()
        return result

    def _mcs_mark_series_pending(self):
        # only the organizer's mailbox changes a series in Outlook (an invitee's copy is not written)
        rows = self.env["microsoft.calendar.binding"].sudo().search(
            [("kind", "=", "series"), ("recurrence_id", "in", self.ids), ("state", "not in", ("skipped", "held"))]
        ).filtered(lambda row: row.user_id == row.recurrence_id.base_event_id.user_id)
        if rows:
            rows.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0})
            self.env["calendar.event"]._mcs_trigger_push()

    def unlink(self):
        rows = self.env["microsoft.calendar.binding"].sudo().search(
            [("kind", "=", "series"), ("recurrence_id", "in", self.ids)])
        for row in rows:
            row.base_event_id = row.recurrence_id.base_event_id
        if not self.env.context.get("mcs_from_outlook"):
            self._mcs_mark_series_pending()
        return super().unlink()
