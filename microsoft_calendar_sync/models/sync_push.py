# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo -> Outlook: the outbox of one account, planned and sent in chunks.

The first sync enqueues the user's own events of the window; every run then
takes the due outbox rows, :data:`PUSH_CHUNK` at a time, reads their Odoo side,
lets the core decide and applies the decisions (sync_apply.py), with a commit
point after each chunk.
"""

import uuid

from outlook_sync.reconcile import OdooItem, Reconciler

from odoo import fields, models

from ..utils import event_mapping
from .calendar_event import SKIP_EXISTING_MEETING
from .microsoft_calendar_binding import BindingStoreAdapter
from .microsoft_calendar_sync import _utc

#: Outbox rows planned, sent and committed together.
PUSH_CHUNK = 200


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    def _mcs_enqueue_first_sync(self):
        """First sync: the user's own events of the window that Outlook does not know yet join the outbox."""
        settings = self._mcs_settings_values()
        window = self._mcs_window(settings)
        bound = self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", self.id), ("event_id", "!=", False)]).event_id
        start = window.start.replace(tzinfo=None)
        if self.first_sync_policy == "future":
            start = fields.Datetime.now()
        events = self.env["calendar.event"].sudo().search([
            ("user_id", "=", self.user_id.id), ("stop", ">=", start),
            ("start", "<=", window.end.replace(tzinfo=None)), ("id", "not in", bound.ids)])
        # Existing meetings are not sent: Outlook would e-mail each attendee an invitation (a
        # second one: Odoo invited them already). They are listed, with why.
        meetings = events.filtered(lambda event: event.partner_ids - self.user_id.partner_id)
        series = meetings.recurrence_id
        known_series = self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", self.id), ("kind", "=", "series"), ("recurrence_id", "in", series.ids)]).recurrence_id
        self.env["microsoft.calendar.binding"].sudo().create([{
            "key": uuid.uuid4().hex, "account_id": self.id, "event_id": event.id,
            "odoo_ref": event_mapping.odoo_ref(event), "state": "skipped", "skip_reason": SKIP_EXISTING_MEETING,
        } for event in meetings if not event._mcs_is_recurring()] + [{
            # a series is one row, on its recurrence
            "key": uuid.uuid4().hex, "account_id": self.id, "kind": "series", "recurrence_id": recurrence.id,
            "base_event_id": recurrence.base_event_id.id, "odoo_ref": event_mapping.series_ref(recurrence),
            "state": "skipped", "skip_reason": SKIP_EXISTING_MEETING,
        } for recurrence in series - known_series])
        # the user's own events, enqueued as the user's (whoever started the run)
        (events - meetings).with_user(self.user_id).sudo()._mcs_mark_pending()

    def _mcs_odoo_items(self, store, records, organizer_only=False):
        """The current Odoo side of ``records``: (items, deleted refs).

        An event that is deleted, archived or recurring now counts as gone
        from Odoo (recurring ones are also marked skipped)."""
        items, deleted = [], []
        for record in records:
            if record.kind == "series" and self._mcs_series_became_single(record):
                store._index(record)  # its row is its first event's now, under that event's reference
        events = self.env["calendar.event"].sudo().with_context(active_test=False).browse(
            [record.event_id.id for record in records if record.event_id])
        existing = set(events.exists().ids)  # one query for the chunk, not one per event
        events.fetch(["active", "recurrency", "recurrence_id", "write_date", "user_id"])
        for record in records:
            if not record.odoo_ref:
                continue
            if record.kind == "series":
                recurrence = self._mcs_series_recurrence(record)
                if organizer_only and recurrence and recurrence.base_event_id.user_id != self.user_id:
                    continue  # a series the user is invited to: only its organizer's mailbox changes it
                binding = store.get(record.key)
                core = self._mcs_series_odoo_item_event(record, binding.base if binding else None)
                if core is None:
                    deleted.append(record.odoo_ref)
                    continue
                store.recurrence_ids[record.odoo_ref] = recurrence.id
                items.append(OdooItem(record.odoo_ref, self._mcs_outlook_made(core, binding),
                                      _utc(max(recurrence.calendar_event_ids.mapped("write_date")))))
                continue
            event = record.event_id.with_context(active_test=False)
            if event.id in existing and event.active and (
                    not event._mcs_is_recurring() or record.kind == "occurrence") and (
                    not organizer_only or event.user_id == self.user_id):
                store.event_ids[record.odoo_ref] = event.id
                binding = store.get(record.key)
                base = binding.base if binding else None
                core = event_mapping.odoo_event_to_core(event, base=base)
                if base is not None and not event.event_tz:
                    # Odoo keeps no zone on a single event (it shows the organizer's): the zone
                    # Outlook planned it in stays as agreed, times are absolute anyway.
                    core = core.replace(time_zone=base.time_zone)
                items.append(OdooItem(record.odoo_ref, self._mcs_outlook_made(core, binding), _utc(event.write_date)))
            else:
                deleted.append(record.odoo_ref)
        return items, deleted

    @staticmethod
    def _mcs_outlook_made(core, binding):
        """``core`` without what we never write on an event Outlook made (or an occurrence of a series)."""
        base = binding.base if binding else None
        if base is not None and not base.odoo_ref:
            # An event Outlook created: it is known by its binding (Graph id, iCalUId), so it
            # never gets our reference nor the back-link written on it. Writing them cost a
            # PATCH per imported event, came back in the next delta round, and a back-link
            # in a meeting's body makes Outlook e-mail every attendee an update.
            return core.without_odoo_links()
        if base is not None and base.attendees and not base.odoo_url:
            # A meeting imported before that rule carries our reference only (an extended
            # property: no e-mail); its body stays without the back-link.
            return core.replace(odoo_url="", odoo_record_url="", odoo_record_name="")
        return core

    def _mcs_push(self, client, counts):
        settings = self._mcs_settings_values()
        store = BindingStoreAdapter(self, include_pending=False)
        reconciler = Reconciler(store, settings["policy"])
        # A second pass sends the occurrences the first found different from their series.
        for _pass in range(2):
            due = store.due()
            if store.invitations_due:  # answers and declines of meetings the user is only invited to
                self._mcs_send_answers(client, store.invitations_due, counts)
            if not due:
                return
            self._mcs_push_chunks(client, reconciler, store, due, counts, settings)

    def _mcs_push_chunks(self, client, reconciler, store, due, counts, settings):
        for first in range(0, len(due), PUSH_CHUNK):
            chunk = due[first:first + PUSH_CHUNK]
            found = self._mcs_find_occurrences(client, store, chunk)  # Outlook occurrences of Odoo's changed ones
            odoo_items, odoo_deleted = self._mcs_odoo_items(store, chunk, organizer_only=True)
            store.include_pending = True
            store.offer = {record.key for record in chunk}
            decisions = reconciler.plan(odoo_items, found, odoo_deleted=odoo_deleted)
            store.include_pending = False
            self._mcs_apply(client, reconciler, store, decisions, counts, settings)
            live = store.Binding.browse([record.id for record in chunk]).exists()  # forgotten rows are gone
            self._mcs_push_series_occurrences(client, store, live.filtered(lambda row: row.kind == "series"), counts,
                                              self._mcs_window(settings))
            self._mcs_commit()
