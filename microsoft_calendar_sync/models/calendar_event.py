# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The transactional outbox on ``calendar.event``.

Any create, write of a synced field, archive, unarchive or unlink of an event
whose organizer (``user_id``) has an Outlook account marks that account's
binding ``pending`` in the same transaction and triggers the push cron (which
runs after the commit, in a cron worker): the user's request never talks to
Microsoft, and a crash or an outage loses nothing.

Writes made by the inbound sync carry the context flag :data:`FROM_OUTLOOK`:
they never mark anything (no echo), and they send none of Odoo's invitation
or update e-mails (Outlook already sent its own).

Attendee-only events (the organizer is someone else) are not pushed from the
attendee's account; meetings between several connected users come later.
A recurring series has one row per account, on its ``calendar.recurrence``
(sync_series.py); an occurrence changed on its own has a row of its own.
"""

import logging
import uuid
from collections import defaultdict
from datetime import datetime, time, timezone

from outlook_sync.timezones import get_zone

from odoo import api, fields, models

from ..utils import event_mapping
from .microsoft_calendar_binding import OUTBOX_MARK

_logger = logging.getLogger(__name__)

#: The one context flag of writes that come from Outlook.
FROM_OUTLOOK = "mcs_from_outlook"
#: Account states whose events are synced (paused and needs_reauth keep their outbox).
SYNCING_STATES = ("connected", "syncing", "error", "paused", "needs_reauth")
#: Fields that decide *whether* an event is synced, besides the mapped ones.
_SCOPE_FIELDS = frozenset({"active", "user_id", "recurrency", "recurrence_id"})
#: A meeting that existed before the first sync (or a reset): never sent, so nobody is e-mailed.
SKIP_EXISTING_MEETING = "existing_meeting"


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    mcs_binding_ids = fields.One2many(
        "microsoft.calendar.binding", compute="_compute_mcs_sync_state", string="Outlook synchronization",
        help="This event's synchronization with each Outlook account you may see.")
    mcs_sync_summary = fields.Char("Outlook", compute="_compute_mcs_sync_state")

    # ------------------------------------------------------------------ sync state

    def _compute_mcs_sync_state(self):
        """The event's sync status rows, read with the reader's rights: the record
        rules show users their own rows and managers every row, nobody else anything."""
        Binding = self.env["microsoft.calendar.binding"]
        ids = [event_id for event_id in self._origin.ids if event_id]
        recurrences = self._origin.recurrence_id
        # an occurrence shows its series' row (a recurrence has one row per account)
        domain = ["|", ("event_id", "in", ids), "&", ("kind", "=", "series"),
                  ("recurrence_id", "in", recurrences.ids)] if recurrences else [("event_id", "in", ids)]
        bindings = Binding.search(domain) if ids and Binding.has_access("read") else Binding
        by_event, by_series = defaultdict(lambda: Binding), defaultdict(lambda: Binding)
        for binding in bindings:
            if binding.kind == "series":
                by_series[binding.recurrence_id.id] |= binding
            else:
                by_event[binding.event_id.id] |= binding
        for event in self:
            series = event._origin.recurrence_id
            rows = by_event[event._origin.id] | (by_series[series.id] if series else Binding)
            event.mcs_binding_ids = rows
            event.mcs_sync_summary = "; ".join(row._mcs_state_text() for row in rows) or False

    # ------------------------------------------------------------------ outbox

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        if not self.env.context.get(FROM_OUTLOOK):
            events._mcs_mark_pending()
        return events

    def write(self, vals):
        watched = (
            not self.env.context.get(FROM_OUTLOOK)
            and bool(set(vals) & (event_mapping.SYNCED_FIELDS | _SCOPE_FIELDS))
        )
        leaving = self.env["microsoft.calendar.binding"]
        if watched and "user_id" in vals:
            # the organizer changes: the old organizer's Outlook event goes away
            leaving = leaving.sudo().search([("event_id", "in", self.ids), ("state", "!=", "skipped"),
                                             ("user_id", "!=", vals["user_id"] or False)])
        update = vals.get("recurrence_update")
        if update in ("all_events", "future_events"):
            self = self.with_context(mcs_series_write=True)  # its inner per-event writes are not "this event"
        elif watched and set(vals) & event_mapping.SYNCED_FIELDS and not self.env.context.get("mcs_series_write"):
            # occurrences changed on their own ("this event", or a write on some occurrences)
            for occurrence in self.filtered(lambda event: event.recurrence_id and event.follow_recurrence):
                occurrence._mcs_note_changed_occurrence()
        result = super(CalendarEvent, self).write(vals)
        if watched:
            self._mcs_mark_pending(leaving)
        return result

    def _mcs_planned_start(self):
        """Where the series planned this occurrence, as Graph's ``originalStart`` says it (naive UTC):
        its start, or for an all-day occurrence the midnight its day begins in the series' zone."""
        if not self.allday:
            return self.start
        zone = get_zone(self.recurrence_id.event_tz or "UTC")
        return datetime.combine(self.start_date, time(), zone).astimezone(timezone.utc).replace(tzinfo=None)

    def _mcs_note_changed_occurrence(self):
        """An occurrence of a synced series edited on its own ("this event"): it gets a row that
        remembers where the series planned it (Odoo forgets), so its Outlook occurrence is found."""
        Binding = self.env["microsoft.calendar.binding"].sudo()
        series_rows = Binding.search([("kind", "=", "series"), ("recurrence_id", "=", self.recurrence_id.id),
                                      ("graph_id", "!=", False), ("user_id", "=", self.user_id.id)])
        for row in series_rows:
            if Binding.search_count([("account_id", "=", row.account_id.id), ("event_id", "=", self.id)]):
                continue
            Binding.create({"key": uuid.uuid4().hex, "account_id": row.account_id.id, "event_id": self.id,
                            "kind": "occurrence", "odoo_ref": event_mapping.odoo_ref(self),
                            "original_start": self._mcs_planned_start(), "series_graph_id": row.graph_id,
                            "recurrence_id": self.recurrence_id.id, "state": "pending", "pending": OUTBOX_MARK})

    def unlink(self):
        if not self.env.context.get(FROM_OUTLOOK):
            bindings = self.env["microsoft.calendar.binding"].sudo().search(
                ["|", ("event_id", "in", self.ids), "&", ("kind", "=", "series"),
                 ("recurrence_id", "in", self.recurrence_id.ids), ("state", "!=", "skipped")])
            # event_id becomes NULL with the event; odoo_ref stays and tells
            # the push cron which Outlook event to delete.
            # an invitation's row declines (sync_meetings.py), only on its own user's word
            bindings -= self._mcs_invitations_left_by_others(bindings.filtered("attendee_copy"))
            held_before = set(bindings.filtered(lambda b: b.state == "held").ids)
            bindings.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0})
            # nothing of an invitation's row waits for an organizer's approval
            bindings.filtered(lambda b: not b.attendee_copy)._mcs_hold_changes_by_others(self.env.user, held_before)
            if bindings:
                self._mcs_trigger_push()
        return super().unlink()

    def _mcs_is_recurring(self):
        """Part of a series (Odoo leaves ``recurrency`` set on an event whose series it broke)."""
        self.ensure_one()
        return bool(self.recurrence_id)

    def _mcs_mark_pending(self, leaving=None):
        """Create or mark the bindings of these events pending; trigger the push cron.

        Only the organizer's account pushes an event; ``leaving`` are bindings
        of an account whose user stopped being the organizer (pushed as a
        deletion). A change whose author (this environment's user) is not the
        organizer may be held for the organizer's approval (outbound_consent.py)."""
        if not self:
            return
        events = self.sudo().with_context(active_test=False)
        Binding = self.env["microsoft.calendar.binding"].sudo()
        organizers = events.user_id
        accounts = self.env["microsoft.calendar.account"].sudo().search(
            [("user_id", "in", organizers.ids), ("state", "in", SYNCING_STATES)]) if organizers else []
        account_by_user = {account.user_id.id: account for account in accounts}
        bindings = Binding.search([("event_id", "in", events.ids)])
        bound = {(binding.account_id.id, binding.event_id.id): binding for binding in bindings}
        # meetings Outlook holds already (invitations in other connected mailboxes): the organizer's
        # account joins its own copy when its pull lists it, it never creates a second meeting
        invited = set(bindings.filtered("attendee_copy").event_id.ids)
        # Copies of meetings the user is only invited to are never pushed (sync_meetings.py): a user who
        # leaves the meeting (archived, deleted, no longer an attendee) declines it; an edit stays in Odoo.
        series_copies = Binding.search([("kind", "=", "series"), ("attendee_copy", "=", True),
                                        ("recurrence_id", "in", events.recurrence_id.ids)]) \
            if events.recurrence_id else Binding
        marked = self._mcs_mark_invitations(bindings.filtered("attendee_copy"), series_copies)
        bindings = bindings.exists().filtered(lambda b: not b.attendee_copy and b.user_id == b.event_id.user_id) | (
            leaving or Binding)
        held_before = set(bindings.filtered(lambda b: b.state == "held").ids)
        changed = Binding
        for binding in bindings:
            if binding.skip_reason == SKIP_EXISTING_MEETING and not binding.graph_id:
                continue  # stays out of Outlook on later edits too: no invitation by surprise
            if binding.kind == "event" and binding.event_id._mcs_is_recurring() and not binding.graph_id:
                binding.unlink()  # never sent as a single event: its series row sends it now
                continue
            recurrence = binding.event_id.recurrence_id
            if binding.kind == "event" and recurrence and binding.event_id == recurrence.base_event_id:
                # a single event made recurring: its Outlook event becomes the series (a PATCH of its
                # recurrence), rather than a deletion and a new series (a meeting's attendees would
                # get a cancellation and a new invitation)
                binding.write({"kind": "series", "event_id": False, "recurrence_id": recurrence.id,
                               "base_event_id": recurrence.base_event_id.id,
                               "odoo_ref": event_mapping.series_ref(recurrence)})
            binding.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0,
                           "skip_reason": False})
            changed |= binding
            marked = True
        # A series is one row per account, on its recurrence, never one per occurrence.
        recurrences = events.recurrence_id
        series_rows = Binding.search([("kind", "=", "series"), ("recurrence_id", "in", recurrences.ids)]) \
            if recurrences else Binding
        series_bound = {(row.account_id.id, row.recurrence_id.id): row for row in series_rows}
        # rows of series whose first event this is, once the series is gone (one query for all events)
        singles = events.filtered(lambda event: not event.recurrence_id)
        former = {(row.account_id.id, row.base_event_id.id): row for row in Binding.search(
            [("kind", "=", "series"), ("base_event_id", "in", singles.ids)])} if singles else {}
        to_create = []
        for event in events:
            account = account_by_user.get(event.user_id.id)
            if account is None:
                continue
            if account.new_events_since and event.create_date and event.create_date < account.new_events_since:
                continue  # existed before a reset to "only new events", as in Outlook (sync_pull.py)
            if event.recurrence_id:
                row = series_bound.get((account.id, event.recurrence_id.id))
                if row is None:
                    series_bound[(account.id, event.recurrence_id.id)] = True
                    to_create.append({
                        "key": uuid.uuid4().hex, "account_id": account.id, "kind": "series",
                        "recurrence_id": event.recurrence_id.id, "base_event_id": event.recurrence_id.base_event_id.id,
                        "odoo_ref": event_mapping.series_ref(event.recurrence_id),
                        "state": "pending", "pending": OUTBOX_MARK})
                    marked = True
                elif row is not True and row not in changed and not (
                        row.skip_reason == SKIP_EXISTING_MEETING and not row.graph_id):
                    row.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0,
                               "skip_reason": False})
                    changed |= row
                    marked = True
                continue
            if (account.id, event.id) in bound or event._mcs_is_recurring() or event.id in invited:
                continue  # bound already, left over from a series Odoo rebuilt, or in Outlook already
            former_series = former.get((account.id, event.id))
            if former_series:
                # the first event of a series that stopped recurring (or that Odoo is rebuilding):
                # the push decides, once the transaction is over (sync_series.py)
                if former_series not in changed:
                    former_series.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False,
                                         "attempts": 0})
                    changed |= former_series
                marked = True
                continue
            if not event.active:
                continue  # an archived event that was never pushed: nothing to tell Outlook
            to_create.append({"key": uuid.uuid4().hex, "account_id": account.id, "event_id": event.id,
                              "odoo_ref": event_mapping.odoo_ref(event), "state": "pending",
                              "pending": OUTBOX_MARK})
            marked = True
        if to_create:
            changed |= Binding.create(to_create).filtered(lambda b: b.state == "pending")
        changed._mcs_hold_changes_by_others(self.env.user, held_before)
        if marked:
            self._mcs_trigger_push()

    def _mcs_invitations_left_by_others(self, rows):
        """Of the rows of invitations whose users leave the meeting in Odoo, those someone else removed
        them from (a colleague deleted, archived or edited the event): their Outlook never declines on
        another person's word. The row is forgotten instead (the user is still invited in Outlook: the
        organizer's next update brings the meeting back). Returns those rows (gone)."""
        others = rows.filtered(lambda row: row.user_id != self.env.user)
        others.unlink()
        return others

    def _mcs_mark_invitations(self, copies, series_copies):
        """The rows of meetings their users are only invited to, after an Odoo change of the events
        (``series_copies``: the rows of their series): leaving users decline (queued); an edit their
        organizer's mailbox will not get is said on the row (only the organizer's connected mailbox
        sends it). Returns whether something was queued."""
        leaving = copies.filtered(lambda row: not row.event_id.active
                                  or row.user_id.partner_id not in row.event_id.partner_ids)
        staying = (copies - leaving) | series_copies
        leaving -= self._mcs_invitations_left_by_others(leaving)
        leaving.write({"pending": OUTBOX_MARK, "state": "pending", "next_retry": False, "attempts": 0})
        if staying:
            organizers = {row: (row.event_id or row.recurrence_id.base_event_id).user_id for row in staying}
            Account = self.env["microsoft.calendar.account"].sudo()
            connected = set(Account.search([("user_id", "in", [user.id for user in organizers.values()]),
                                            ("state", "in", SYNCING_STATES)]).user_id.ids)
            for row in staying.filtered(lambda row: organizers[row].id not in connected):
                base = row._mcs_to_core().base
                organizer = base.organizer.email if base is not None and base.organizer else organizers[row].name
                row.not_sent_note = self.env._(
                    "changed in Odoo but not sent to Outlook: only the organizer's mailbox (%(organizer)s) can "
                    "change this meeting", organizer=organizer or "?")
        return bool(leaving)

    def _mcs_trigger_push(self):
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_push", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    # ------------------------------------------------------------------ e-mails

    def _skip_send_mail_status_update(self):
        """Outlook e-mails the invitations, updates and cancellations of the
        events it holds for their organizer; Odoo must not send its own too.
        Events written by the inbound sync never send Odoo e-mails either, nor
        does a meeting a connected user is invited to in Outlook (its organizer's
        Outlook mails its attendees; Odoo's copy is not the meeting)."""
        if self.env.context.get(FROM_OUTLOOK):
            return True
        if self.user_id and self.env["microsoft.calendar.account"].sudo().search_count(
                [("user_id", "=", self.user_id.id), ("state", "in", SYNCING_STATES)], limit=1):
            return True
        domain = [("attendee_copy", "=", True), "|", ("event_id", "=", self.id), "&", ("kind", "=", "series"),
                  ("recurrence_id", "=", self.recurrence_id.id or 0)]
        if self.id and self.env["microsoft.calendar.binding"].sudo().search_count(domain, limit=1):
            return True
        return super()._skip_send_mail_status_update()
