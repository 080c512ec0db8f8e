# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Meetings: one Odoo event per meeting across connected mailboxes, and the attendees' answers.

A meeting held in several connected mailboxes (its organizer's and its
attendees') is ONE Odoo event with one row per account. An Outlook item no row
of the account knows is matched by its binding, then by our reference (the
reconciler), then here by iCalUId against the rows of the other accounts, when
both name the same organizer: it *joins* that Odoo event (the core's
``joins``), in any connection order. A connected mailbox's aliases (Graph's
``proxyAddresses``) are its user's addresses (utils/event_mapping.py).

Who creates the Odoo event: the row that first brings the meeting to Odoo, its
``meeting_origin`` (a unique index on the iCalUId of origin rows makes a second
import of the same meeting by another worker at the same time fail and retry,
then join, instead of duplicating). An invitation whose organizer's Outlook is
connected here waits for the organizer's account (``organizer_first``): the
organizer's row creates the event and releases the waiting rows, so a meeting
sent from Odoo, whose invitations may reach an attendee's mailbox before the
organizer's answer is saved, is never imported twice.

An attendee's copy (``attendee_copy``) is never pushed: Graph takes only its
owner's answer. Answers changed in Odoo are sent through the attendee's own
account (accept / tentativelyAccept / decline, with ``sendResponse``); answers in
Outlook reach the Odoo attendee. Removing the meeting from one's Odoo calendar
declines it (unless its organizer's connected mailbox cancels it anyway).
"""

import logging

import psycopg2.errors

from outlook_sync.client import BatchRequest, event_path
from outlook_sync.errors import OutlookSyncError
from outlook_sync.reconcile import OdooItem

from odoo import fields, models
from odoo.tools import SQL, email_normalize

from ..utils import event_mapping
from .calendar_event import FROM_OUTLOOK
from .microsoft_calendar_binding import MAX_ATTEMPTS, OUTBOX_MARK, backoff
from .microsoft_calendar_sync import RUNNABLE_STATES, RunInterrupted, _error_text, _utc

_logger = logging.getLogger(__name__)

#: An invitation waiting for its organizer's connected account to bring the meeting to Odoo.
WAIT_FOR_ORGANIZER = "organizer_first"
#: Odoo attendee state -> Graph action that sends it.
ANSWER_ACTIONS = {"accepted": "accept", "tentative": "tentativelyAccept", "declined": "decline"}
#: Graph ``responseStatus.response`` -> Odoo attendee state.
ODOO_STATE_BY_ANSWER = {"accepted": "accepted", "tentativelyAccepted": "tentative", "declined": "declined",
                        "notResponded": "needsAction", "none": "needsAction", "organizer": "accepted"}


class MeetingBroughtMeanwhile(RunInterrupted):
    """Another account brought the same meeting to Odoo at the same moment (a worker running in
    parallel, whose row this run cannot see yet): this run's copy of the event is undone and the
    page is read again by the next run, which joins that event."""


class MicrosoftCalendarBinding(models.Model):
    _inherit = "microsoft.calendar.binding"

    attendee_copy = fields.Boolean(
        "Invited only", readonly=True, copy=False,
        help="The user is only invited to this meeting: its organizer's mailbox changes it; this row sends the "
             "user's answers only.")
    meeting_origin = fields.Boolean(
        readonly=True, copy=False,
        help="This row brought the meeting to Odoo (or to Outlook): the other mailboxes' copies of the meeting "
             "join its Odoo event.")
    not_sent_note = fields.Char(
        "Not sent", readonly=True, copy=False,
        help="An Odoo change of a meeting the user is only invited to, which its organizer's mailbox did not get.")
    answer_pending = fields.Selection(
        [("accepted", "Accept"), ("tentative", "Tentative"), ("declined", "Decline")], "Answer to send",
        readonly=True, copy=False, help="The user's answer given in Odoo, sent through their Outlook at the next run.")
    answer_tried = fields.Boolean(
        readonly=True, copy=False,
        help="The answer was on its way when a run stopped: the next run checks Outlook before sending it again.")

    _meeting_origin_uniq = models.UniqueIndex(
        "(ical_uid) WHERE meeting_origin",
        "This meeting is already in Odoo (brought by another Outlook account); it joins that event at the next run.")

    def _mcs_claim_meetings(self):
        """These rows brought their meetings to Odoo: claim them (the unique index on origin rows),
        then release the invitations waiting for them. A meeting another account's row claimed first
        (a worker running in parallel) is undone here, this row and its new Odoo event, and
        :class:`MeetingBroughtMeanwhile` stops the run (the next run joins that event)."""
        if not self:
            return
        try:
            self._mcs_set_origin()
        except psycopg2.errors.UniqueViolation:
            for row in self:  # which one: claimed one by one
                try:
                    row._mcs_set_origin()
                except psycopg2.errors.UniqueViolation:
                    events = row._mcs_row_events().with_context(**{FROM_OUTLOOK: True})
                    recurrence = row.recurrence_id.sudo()
                    row.unlink()
                    events.unlink()
                    recurrence.exists().unlink()
                    raise MeetingBroughtMeanwhile(self.env._(
                        "Another Outlook account brought the same meeting to Odoo at the same moment; the "
                        "next synchronization joins that event.")) from None
        self._mcs_release_waiting()

    def _mcs_set_origin(self):
        """Set ``meeting_origin`` in one statement, in a savepoint; a conflict on the unique index is
        expected and raised, not logged as a bad query (Odoo's SQL layer logs a failing query with
        its parameters)."""
        self.flush_recordset()
        with self.env.cr.savepoint(flush=False):
            self.env.cr.execute(SQL("UPDATE microsoft_calendar_binding SET meeting_origin = TRUE WHERE id IN %s",
                                    tuple(self.ids)), log_exceptions=False)
        self.invalidate_recordset(["meeting_origin"])

    def _mcs_mark_origin(self):
        """These rows sent their meetings from Odoo (Outlook gave them their iCalUId just now, so no
        other row can hold it; should one, these rows are left unclaimed rather than fail the run)."""
        if not self:
            return
        try:
            self._mcs_set_origin()
        except psycopg2.errors.UniqueViolation:
            _logger.warning("Outlook meetings %s are claimed by another account's rows already", self.mapped("key"))
            return
        self._mcs_release_waiting()

    def _mcs_release_waiting(self):
        """These origin rows now hold their meeting's Odoo event (or recurrence): the invitations
        waiting for them join it."""
        origins = {row.ical_uid: row for row in self if row.ical_uid and (row.event_id or row.recurrence_id)}
        if not origins:
            return
        waiting = self.sudo().search([("skip_reason", "=", WAIT_FOR_ORGANIZER), ("ical_uid", "in", list(origins))])
        if not waiting:
            return
        # (account, odoo ref) of the events the waiting rows' accounts hold already: one query for all
        held = {(row.account_id.id, row.odoo_ref) for row in self.sudo().search([
            ("account_id", "in", waiting.account_id.ids),
            ("odoo_ref", "in", [origin.odoo_ref for origin in origins.values()])])}
        for row in waiting:
            origin = origins[row.ical_uid]
            if (row.account_id.id, origin.odoo_ref) in held:
                row.unlink()  # the account holds the event already
                continue
            row.write({"odoo_ref": origin.odoo_ref, "event_id": origin.event_id.id, "kind": origin.kind,
                       "recurrence_id": origin.recurrence_id.id, "base_event_id": origin.base_event_id.id,
                       "base": origin.base, "state": "synced", "skip_reason": False, "attendee_copy": True,
                       "change_key": False, "last_sync": fields.Datetime.now(), "pending": False})

    def _mcs_row_events(self):
        """The Odoo events of a row: its event, or its series' events."""
        self.ensure_one()
        if self.kind == "series":
            return self.recurrence_id.sudo().calendar_event_ids
        return self.event_id.sudo()

    def _mcs_answer_failed(self, message):
        attempts = self.attempts + 1
        self.write({"attempts": attempts, "last_error": message,
                    "state": "error" if attempts >= MAX_ATTEMPTS else "pending",
                    "next_retry": fields.Datetime.now() + backoff(attempts)})

    def _mcs_queue_answer(self, state):
        """The user answered in Odoo: their Outlook sends it at the next run."""
        self.write({"answer_pending": state, "answer_tried": False, "state": "pending", "pending": OUTBOX_MARK,
                    "next_retry": False, "attempts": 0})


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    mailbox_aliases = fields.Char(
        "Mailbox aliases", readonly=True, copy=False,
        help="The mailbox's other addresses, as Microsoft lists them (proxy addresses), read at each sign-in and "
             "connection check: an attendee at one of them is this user, never a contact of its own.")

    def write(self, vals):
        if {"mailbox", "mailbox_aliases", "user_id"} & set(vals):
            self.env.cr.cache.pop("mcs_connected_addresses", None)  # event_mapping.connected_user
        return super().write(vals)

    # ------------------------------------------------------------------ pull: one event per meeting

    def _mcs_meeting_joins(self, store, outlook_items):
        """(joins, Odoo items of the joined events, items to hold for their organizer) for the Outlook
        items of a page no row of this account knows, by iCalUId against the other accounts' rows."""
        unknown = [item for item in outlook_items if item.ical_uid and store.record_by_graph_id(item.graph_id) is None
                   and not (item.event.odoo_ref and store.record_by_odoo_ref(item.event.odoo_ref))]
        if not unknown:
            return {}, [], []
        Binding = self.env["microsoft.calendar.binding"].sudo()
        rows = Binding.search([("ical_uid", "in", [item.ical_uid for item in unknown]), ("account_id", "!=", self.id),
                               ("kind", "in", ("event", "series")), ("odoo_ref", "!=", False),
                               ("state", "!=", "skipped")])
        holders = {}
        for row in rows.sorted(lambda row: (not row.meeting_origin, row.id)):
            holders.setdefault(row.ical_uid, row)
        joins, odoo_items, held = {}, [], []
        for item in unknown:
            row = holders.get(item.ical_uid)
            joined = self._mcs_join_item(store, row, item) if row else None
            if joined is not None:
                joins[item.graph_id] = joined[0]
                odoo_items.append(joined[1])
            elif item.attendee_copy and not row and self._mcs_organizer_connected(item.event.organizer):
                held.append(item)
        return joins, odoo_items, held

    def _mcs_join_item(self, store, row, item):
        """((odoo ref, base), Odoo item) of the event (or series) another account's ``row`` holds, or
        ``None`` when it is gone from Odoo, this account holds it under another Outlook item, or the
        two name different organizers (an iCalUId comes from the invitation's sender, who may be
        outside: one who knows a meeting's iCalUId must not join another user's copy to it)."""
        mine = store.record_by_odoo_ref(row.odoo_ref)
        if mine is not None and mine.graph_id and mine.state != "skipped":
            return None
        base = row._mcs_to_core().base
        if base is not None and base.organizer and item.event.organizer \
                and base.organizer.email != item.event.organizer.email:
            _logger.warning("Outlook event %s of account %s has the iCalUId of another organizer's meeting; "
                            "not joined to it", item.graph_id, self.id)
            return None
        if row.kind == "series":
            recurrence = self._mcs_series_recurrence(row)
            core = self._mcs_series_odoo_item_event(row, base) if recurrence else None
            if core is None:
                return None
            store.recurrence_ids[row.odoo_ref] = recurrence.id
            modified = max(recurrence.calendar_event_ids.mapped("write_date"))
        else:
            event = row.event_id.with_context(active_test=False)
            if not event or not event.active:
                return None
            core = event_mapping.odoo_event_to_core(event, base=base)
            store.event_ids[row.odoo_ref] = event.id
            modified = event.write_date
        if base is None or not base.odoo_ref:
            core = core.without_odoo_links()  # an event Outlook made: never stamped
        return (row.odoo_ref, base or core), OdooItem(row.odoo_ref, core, _utc(modified))

    def _mcs_organizer_connected(self, organizer):
        """Whether ``organizer``'s mailbox is another account of this database that runs."""
        address = email_normalize(organizer.email) if organizer else False
        return bool(address) and bool(self.sudo().search_count(
            [("mailbox", "=ilike", address), ("id", "!=", self.id), ("state", "in", RUNNABLE_STATES)], limit=1))

    def _mcs_hold_for_organizer(self, store, items, raws):
        """Invitations whose organizer's account brings the meeting: a visible row each, until it does."""
        for item in items:
            record = store.skip(reason=WAIT_FOR_ORGANIZER, graph_id=item.graph_id, payload=raws.get(item.graph_id))
            record.write({"ical_uid": item.ical_uid, "attendee_copy": True})
            store._index(record)

    def _mcs_learn_ical_uids(self, client, limit=200):
        """Rows saved before rows kept the iCalUId of what they created learn it (a $batch of GETs,
        ``limit`` rows a day): without it the other mailboxes' copies of a meeting could not find it."""
        rows = self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", self.id), ("graph_id", "!=", False), ("ical_uid", "=", False),
             ("kind", "=", "event"), ("state", "!=", "skipped")], limit=limit)
        if not rows:
            return
        replies = client.batch([BatchRequest("GET", event_path(row.graph_id) + "?$select=iCalUId") for row in rows])
        for row, reply in zip(rows, replies):
            if reply is not None and reply.ok and isinstance(reply.body, dict) and reply.body.get("iCalUId"):
                row.ical_uid = reply.body["iCalUId"]

    # ------------------------------------------------------------------ answers, Outlook -> Odoo

    def _mcs_apply_answers(self, store, answers):
        """The user's own answers read from their copies (``{graph id: responseStatus.response}``):
        one write per answer, whatever the number of meetings."""
        events_by_state = {}
        for graph_id, answer in answers.items():
            record = store.record_by_graph_id(graph_id)
            state = ODOO_STATE_BY_ANSWER.get(answer)
            if record is None or not record.odoo_ref or record.answer_pending or state is None:
                continue  # an answer given in Odoo and not sent yet is the newer one
            events_by_state[state] = events_by_state.get(state, self.env["calendar.event"]) | record._mcs_row_events()
        for state, events in events_by_state.items():
            self._mcs_set_own_answer(events, state)

    def _mcs_leave_in_odoo(self, events):
        """The user declined or removed their copy in Outlook: their Odoo answer says so."""
        self._mcs_set_own_answer(events, "declined")

    def _mcs_set_own_answer(self, events, state):
        """The user's attendee answer on ``events`` is ``state``, as Outlook says (never sent back)."""
        attendees = events.attendee_ids.filtered(lambda a: a.partner_id == self.user_id.partner_id
                                                 and a.state != state)
        attendees.sudo().with_context(**{FROM_OUTLOOK: True}).write({"state": state})

    def _mcs_organizer_cancels(self, event, ical_uid):
        """Whether a connected organizer's row holds this meeting: its cancellation reaches the copies."""
        domain = [("attendee_copy", "=", False), ("account_id", "!=", self.id), ("state", "!=", "skipped")]
        domain += ["|", ("event_id", "=", event.id), ("ical_uid", "=", ical_uid)] if event and ical_uid else \
            [("event_id", "=", event.id)] if event else [("ical_uid", "=", ical_uid or "-")]
        return bool(self.env["microsoft.calendar.binding"].sudo().search_count(domain, limit=1))

    # ------------------------------------------------------------------ answers and declines, Odoo -> Outlook

    def _mcs_send_answers(self, client, rows, counts):
        """The pending rows of meetings the user is invited to: answers, and leaving the meeting.

        A row whose event is gone, archived or no longer lists the user declines
        (unless the connected organizer's mailbox cancels the meeting anyway); a
        row with an answer sends it. An answer interrupted by a crash is checked
        in Outlook first, so the organizer never gets it twice."""
        Binding = self.env["microsoft.calendar.binding"].sudo()
        partner = self.user_id.partner_id
        requests, planned = [], []
        tried = rows.filtered(lambda row: row.answer_tried and row.answer_pending and row.graph_id)
        current = self._mcs_current_answers(client, tried)
        for row in rows:
            event = row.event_id.with_context(active_test=False)
            if row.kind == "series":
                event = row.recurrence_id.sudo().base_event_id.with_context(active_test=False)
            leaving = not event or not event.active or partner not in event.partner_ids
            # a changed occurrence's row answers nothing: Outlook takes answers for a whole series
            if not row.graph_id or row.kind == "occurrence" or (
                    leaving and self._mcs_organizer_cancels(event, row.ical_uid)):
                row.unlink() if leaving else row.write({"state": "synced", "pending": False})
                continue
            action = "declined" if leaving else row.answer_pending
            if not action or current.get(row.id) == action:
                row.write({"state": "synced", "pending": False, "answer_pending": False, "answer_tried": False})
                continue
            planned.append((row, leaving))
            requests.append(BatchRequest("POST", f"{event_path(row.graph_id)}/{ANSWER_ACTIONS[action]}",
                                         {"sendResponse": True, "comment": ""}))
        if not requests:
            return
        # durable before the answers leave: a run that dies now checks Outlook before sending again
        Binding.browse([row.id for row, _leaving in planned]).write({"answer_tried": True})
        self._mcs_commit()
        try:
            answers = client.batch(requests)
        except OutlookSyncError as failure:
            answers = getattr(failure, "partial_results", None) or []
            self._mcs_settle_answers(planned, answers, counts)
            raise
        self._mcs_settle_answers(planned, answers, counts)

    def _mcs_current_answers(self, client, rows):
        """``{row id: Odoo state}`` of the answers Outlook holds for rows whose answer may have left already."""
        if not rows:
            return {}
        replies = client.batch([BatchRequest("GET", event_path(row.graph_id) + "?$select=responseStatus")
                                for row in rows])
        current = {}
        for row, reply in zip(rows, replies):
            if reply is not None and reply.status == 404 and row.answer_pending == "declined":
                current[row.id] = "declined"  # a declined copy leaves the mailbox
            elif reply is not None and reply.ok and isinstance(reply.body, dict):
                answer = (reply.body.get("responseStatus") or {}).get("response")
                current[row.id] = ODOO_STATE_BY_ANSWER.get(answer)
        return current

    def _mcs_settle_answers(self, planned, answers, counts):
        for index, (row, leaving) in enumerate(planned):
            reply = answers[index] if index < len(answers) else None
            if reply is None:
                continue  # not answered: stays pending, checked first next time
            # 404: the copy is gone; 400: the meeting was cancelled (nothing to answer any more)
            if reply.ok or reply.status in (400, 404):
                counts["answers sent" if reply.ok else "answers moot"] += 1
                if leaving:
                    row.unlink()
                else:
                    row.write({"state": "synced", "pending": False, "answer_pending": False, "answer_tried": False,
                               "last_error": False, "attempts": 0})
                continue
            message = _error_text(reply.error) if reply.error else f"HTTP {reply.status}"
            _logger.info("Answer of binding %s not sent: %s", row.key, message)
            counts["errors"] += 1
            row._mcs_answer_failed(message)
