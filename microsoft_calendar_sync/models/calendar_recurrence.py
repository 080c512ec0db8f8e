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

    def unlink(self):
        rows = self.env["microsoft.calendar.binding"].sudo().search(
            [("kind", "=", "series"), ("recurrence_id", "in", self.ids)])
        for row in rows:
            row.base_event_id = row.recurrence_id.base_event_id
        result = super().unlink()
        if rows and not self.env.context.get("mcs_from_outlook"):
            rows.filtered(lambda row: row.state not in ("skipped", "held")).write(
                {"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0})
            self.env["calendar.event"]._mcs_trigger_push()
        return result
