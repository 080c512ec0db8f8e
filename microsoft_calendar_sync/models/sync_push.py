# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo -> Outlook: the outbox of one account, planned and sent in chunks.

The first sync enqueues the user's own events of the window; every run then
takes the due outbox rows, :data:`PUSH_CHUNK` at a time, reads their Odoo side,
lets the core decide and applies the decisions (sync_apply.py), with a commit
point after each chunk.
"""

import uuid
from dataclasses import dataclass

from outlook_sync.reconcile import OdooItem, Reconciler

from odoo import fields, models

from ..utils import event_mapping
from ..utils.attendee_block import withhold_attendees
from .calendar_event import SKIP_EXISTING_MEETING
from .microsoft_calendar_binding import OUTBOX_MARK, BindingStoreAdapter
from .microsoft_calendar_sync import _utc

#: Outbox rows planned, sent and committed together.
PUSH_CHUNK = 200

#: What the first sync does with an existing meeting (the account's choices, models/first_sync.py).
SKIP, WITHOUT_ATTENDEES, WITH_ATTENDEES = "skip", "no_attendees", "with_attendees"
#: The row of an existing meeting, by choice.
FIRST_SYNC_ROW_VALUES = {
    # not sent: listed, with why; later edits do not send it either (calendar_event.py)
    SKIP: {"state": "skipped", "skip_reason": SKIP_EXISTING_MEETING, "pending": False, "attendees_withheld": False},
    # sent as an event without attendees (their list in its body): Outlook e-mails nobody, now or later
    WITHOUT_ATTENDEES: {"state": "pending", "pending": OUTBOX_MARK, "skip_reason": False, "next_retry": False,
                        "attempts": 0, "attendees_withheld": True},
    # sent as the meeting it is: Outlook e-mails each attendee an invitation
    WITH_ATTENDEES: {"state": "pending", "pending": OUTBOX_MARK, "skip_reason": False, "next_retry": False,
                     "attempts": 0, "attendees_withheld": False},
}


@dataclass
class FirstSyncPlan:
    """What a first sync sends (:meth:`MicrosoftCalendarAccount._mcs_first_sync_plan`)."""

    own: object  #: calendar.event: the user's events that are not meetings
    own_count: int  #: the Outlook events they make (a series counts once)
    past: list  #: meetings that started (calendar.event, or calendar.recurrence for a series)
    future: list  #: meetings to come
    waiting: object  #: microsoft.calendar.binding: rows of meetings decided again


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    def _mcs_first_sync_plan(self):
        """What a first sync (or a reset's "all existing events") would send: a :class:`FirstSyncPlan`.

        The user's own events of the window that Outlook does not know yet are sent; existing
        meetings (attendees besides the user) follow the account's choices (models/first_sync.py),
        split into past meetings (already started; a series whose every occurrence started) and
        future ones. Meetings left out before and never sent are decided again by a full first
        sync (no delta link: a first connection, a reset, a fresh start), as are the rows the
        outbox made for meetings that existed before the review was asked for and were edited
        while it waited."""
        self.ensure_one()
        account = self.sudo()
        settings = self._mcs_settings_values()
        window = self._mcs_window(settings)
        Binding = self.env["microsoft.calendar.binding"].sudo()
        rows = Binding.search([("account_id", "=", self.id), "|", ("event_id", "!=", False),
                               ("kind", "=", "series")])
        full = not account.delta_link
        since = account.first_sync_asked_on

        def undecided(row):
            if row.graph_id or row.transaction_id or row.kind == "occurrence":
                return False
            if row.state == "skipped":
                return full and row.skip_reason == SKIP_EXISTING_MEETING
            # the outbox row of a meeting that existed before the first sync asked for its review,
            # made by an edit while it waited (never sent)
            target = row.event_id if row.kind == "event" else row.recurrence_id
            return row.state in ("pending", "held") and bool(since and target and target.create_date
                                                             and target.create_date < since)

        waiting = rows.filtered(undecided)
        decided = rows - waiting
        start = window.start.replace(tzinfo=None)
        now = fields.Datetime.now()
        if self.first_sync_policy == "future":
            start = now
        events = self.env["calendar.event"].sudo().search([
            ("user_id", "=", self.user_id.id), ("stop", ">=", start),
            ("start", "<=", window.end.replace(tzinfo=None)), ("id", "not in", decided.event_id.ids)])
        partner = self.user_id.partner_id
        meetings = events.filtered(lambda event: event.partner_ids - partner)
        known_series = decided.filtered(lambda row: row.kind == "series").recurrence_id
        own = events - meetings
        own_singles = own.filtered(lambda event: not event._mcs_is_recurring())
        own_series = own.recurrence_id - known_series - meetings.recurrence_id
        past, future = [], []
        for event in meetings.filtered(lambda event: not event._mcs_is_recurring()):
            (future if event.start >= now else past).append(event)
        for recurrence in meetings.recurrence_id - known_series:
            starts = recurrence.calendar_event_ids.filtered("active").mapped("start")
            (future if starts and max(starts) >= now else past).append(recurrence)
        return FirstSyncPlan(own=own, own_count=len(own_singles) + len(own_series), past=past, future=future,
                             waiting=waiting)

    def _mcs_enqueue_first_sync(self):
        """First sync: the user's own events of the window that Outlook does not know yet join the
        outbox; existing meetings are sent without attendees, with attendees, or not at all, as the
        account's first-sync choices say (a series is one row, on its recurrence)."""
        plan = self._mcs_first_sync_plan()
        Binding = self.env["microsoft.calendar.binding"].sudo()
        by_target = {}
        for row in plan.waiting:
            by_target[("series", row.recurrence_id.id) if row.kind == "series" else ("event", row.event_id.id)] = row
        creates = []
        for choice, meetings in ((self._mcs_first_sync_choice("past"), plan.past),
                                 (self._mcs_first_sync_choice("future"), plan.future)):
            values = FIRST_SYNC_ROW_VALUES[choice]
            for meeting in meetings:
                series = meeting._name == "calendar.recurrence"
                row = by_target.pop(("series" if series else "event", meeting.id), None)
                if row is not None:
                    row.write(values)
                elif series:
                    creates.append({
                        "key": uuid.uuid4().hex, "account_id": self.id, "kind": "series", "recurrence_id": meeting.id,
                        "base_event_id": meeting.base_event_id.id, "odoo_ref": event_mapping.series_ref(meeting),
                        **values})
                else:
                    creates.append({"key": uuid.uuid4().hex, "account_id": self.id, "event_id": meeting.id,
                                    "odoo_ref": event_mapping.odoo_ref(meeting), **values})
        Binding.create(creates)
        # the user's own events, enqueued as the user's (whoever started the run)
        plan.own.with_user(self.user_id).sudo()._mcs_mark_pending()
        self._mcs_first_sync_started(plan)

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
        withheld_series = self._mcs_withheld_series(records)
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
                if record.attendees_withheld:
                    core = self._mcs_withhold_attendees(core, binding.base if binding else None)
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
                if record.attendees_withheld or record.kind == "occurrence" and \
                        record.recurrence_id.id in withheld_series:
                    core = self._mcs_withhold_attendees(core, base)
                items.append(OdooItem(record.odoo_ref, self._mcs_outlook_made(core, binding), _utc(event.write_date)))
            else:
                deleted.append(record.odoo_ref)
        return items, deleted

    def _mcs_withheld_series(self, records):
        """Ids of the recurrences of ``records``' changed occurrences whose series went to Outlook without
        attendees (an occurrence of such a series invites nobody either)."""
        recurrences = {record.recurrence_id.id for record in records if record.kind == "occurrence"}
        if not recurrences:
            return set()
        return set(self.env["microsoft.calendar.binding"].sudo().search([
            ("account_id", "=", self.id), ("kind", "=", "series"), ("attendees_withheld", "=", True),
            ("recurrence_id", "in", list(recurrences))]).recurrence_id.ids)

    def _mcs_withhold_attendees(self, core, base):
        """The Odoo side of a meeting sent without attendees: no attendee (but those Outlook has), their
        list in the body (see utils/attendee_block.py). Both directions build the Odoo side here, so
        Outlook's attendee-less copy never removes the Odoo attendees, and no run invites anyone."""
        # the organizer's language, always: the block must not change from one run to the next
        header = self.with_context(lang=self.user_id.lang or "en_US").env._(
            "Attendees (in Odoo, not invited from Outlook):")
        return withhold_attendees(core, base, header)

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
