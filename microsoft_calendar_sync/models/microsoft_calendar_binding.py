# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync status table: one row per (Outlook account, Odoo event).

A binding outlives its event: ``event_id`` is set to NULL when the event is
deleted in Odoo, while ``odoo_ref`` (database uuid + event id) stays, so the
push cron still knows which Outlook event to delete. The outbox marks rows
``pending`` in the transaction of the user's change; the crons clear them.

States:

* ``pending``  -- something must be sent or looked at (outbox mark, or a retry
  waiting for ``next_retry``);
* ``synced``   -- both sides agree with ``base``;
* ``error``    -- gave up after :data:`MAX_ATTEMPTS` attempts; shown to the
  user, retried only when the event changes again or on "Sync now"; also a
  deletion Outlook reported that could not be checked (``deletion_check``),
  which every pull checks again until Outlook answers;
* ``skipped``  -- not synced on purpose (``skip_reason``: payloads Outlook
  sent that cannot be read, meetings that existed before the first sync).

:class:`BindingStoreAdapter` gives the core's :class:`~outlook_sync.reconcile.Reconciler`
its ``BindingStore`` over these rows.
"""

import json
import uuid
from datetime import date, datetime, timedelta, timezone

from outlook_sync.model import Event
from outlook_sync.reconcile import Binding

from odoo import api, fields, models
from odoo.tools import format_date, format_datetime

BINDING_STATES = [
    ("pending", "Pending"),
    ("synced", "Synchronized"),
    ("error", "Error"),
    ("skipped", "Skipped"),
]
#: After this many failed attempts a binding becomes a visible error.
MAX_ATTEMPTS = 5
#: Marker of an outbox change (the core only needs a non-empty ``pending``).
OUTBOX_MARK = "odoo changed"


def backoff(attempts):
    """Delay before retry number ``attempts`` (1, 2, ...): 1, 2, 4, 8... minutes, at most 2 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 120))


class MicrosoftCalendarBinding(models.Model):
    _name = "microsoft.calendar.binding"
    _description = "Outlook Calendar Sync Status"
    _order = "account_id, id desc"
    _rec_name = "name"

    key = fields.Char(required=True, readonly=True, index=True, copy=False,
                      help="The sync engine's own identifier of this pair.")
    account_id = fields.Many2one("microsoft.calendar.account", "Outlook account", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    user_id = fields.Many2one(related="account_id.user_id", store=True, index=True, string="User")
    event_id = fields.Many2one("calendar.event", "Odoo event", index="btree_not_null", ondelete="set null",
                               readonly=True)
    name = fields.Char(compute="_compute_name", search="_search_name")
    odoo_ref = fields.Char("Odoo reference", readonly=True, index="btree_not_null", copy=False,
                           help="Database uuid and event id; stays when the event is deleted.")
    graph_id = fields.Char("Outlook event id", readonly=True, copy=False)
    ical_uid = fields.Char("iCalUId", readonly=True, index="btree_not_null", copy=False)
    change_key = fields.Char("changeKey", readonly=True, copy=False)
    web_link = fields.Char("Open in Outlook", readonly=True, copy=False,
                           help="The event in Outlook on the web (Graph's webLink).")
    base = fields.Text("Base snapshot", readonly=True, copy=False,
                       help="The event as both sides last agreed on it (JSON).")
    pending = fields.Char("Pending operation", readonly=True, copy=False)
    transaction_id = fields.Char(readonly=True, copy=False,
                                 help="Idempotency key of an Outlook create that may or may not have happened.")
    attempts = fields.Integer(readonly=True, copy=False)
    next_retry = fields.Datetime("Next retry", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    state = fields.Selection(BINDING_STATES, required=True, default="pending", readonly=True, index=True)
    skip_reason = fields.Char(readonly=True, copy=False)
    last_sync = fields.Datetime("Last synchronized", readonly=True, copy=False)
    outlook_subject = fields.Char("Outlook subject", readonly=True, copy=False,
                                  help="Subject of a skipped Outlook event, as Outlook sent it (names the row).")
    outlook_start = fields.Datetime("Outlook start", readonly=True, copy=False,
                                    help="Start of a skipped Outlook event, as Outlook sent it (names the row).")
    deletion_check = fields.Boolean(
        "Deletion to check", readonly=True, copy=False,
        help="Outlook reported the event removed and asking whether it was deleted got no clear answer: "
             "each run asks again until it does.")
    kind = fields.Selection(
        [("event", "Event"), ("series", "Recurring series"), ("occurrence", "Changed occurrence")],
        required=True, default="event", readonly=True,
        help="A single event, a whole recurring series (one row per series, never one per occurrence), or an "
             "occurrence of a series changed on its own (an exception).")
    recurrence_id = fields.Many2one("calendar.recurrence", "Odoo recurrence", index="btree_not_null",
                                    ondelete="set null", readonly=True)
    base_event_id = fields.Many2one(
        "calendar.event", "First event of the series", ondelete="set null", readonly=True,
        help="Keeps a series row with its recurrence when Odoo rebuilds the recurrence (an edit of all events).")
    original_start = fields.Datetime(readonly=True, copy=False,
                                     help="Where a changed occurrence was planned by its series (UTC).")
    series_graph_id = fields.Char("Outlook series id", readonly=True, copy=False, index="btree_not_null")
    cancelled_dates = fields.Text(readonly=True, copy=False,
                                  help="Local dates of the series' cancelled occurrences both sides agree on (JSON).")
    sync_note = fields.Char("Note", readonly=True, copy=False,
                            help="What could not be synchronized exactly (a pattern the other side cannot hold).")
    delta_unseen = fields.Boolean(
        readonly=True, copy=False,
        help="Not listed yet by the full delta round in progress (after a lost delta token); still set "
             "when the round ends means missing from Outlook's listing.")

    _key_uniq = models.Constraint("UNIQUE (key)", "A sync key is unique.")
    _account_event_uniq = models.Constraint(
        "UNIQUE (account_id, event_id)", "An event has one sync status per Outlook account.")
    _account_graph_uniq = models.Constraint(
        "UNIQUE (account_id, graph_id)", "An Outlook event is bound to one Odoo event per account.")
    _account_ref_uniq = models.Constraint(
        "UNIQUE (account_id, odoo_ref)", "An Odoo reference is bound once per account.")

    @api.depends("event_id.name", "event_id.start", "recurrence_id.base_event_id", "event_id.start_date", "event_id.allday", "base",
                 "outlook_subject", "outlook_start", "odoo_ref", "graph_id")
    @api.depends_context("uid", "tz", "lang")
    def _compute_name(self):
        """The event's subject and start: from the Odoo event, else the last agreed
        snapshot, else what Outlook sent when the row was skipped; an id only as a last resort."""
        for binding in self:
            subject, start = binding._mcs_subject_and_start()
            if not subject:
                if binding.graph_id:
                    subject = self.env._("Outlook event …%s", binding.graph_id[-8:])
                elif binding.odoo_ref:
                    subject = self.env._("Odoo event #%s", binding.odoo_ref.rpartition(":")[2])
                else:
                    subject = self.env._("Unnamed event")
            if isinstance(start, datetime):
                when = format_datetime(self.env, start, dt_format="short")
            elif isinstance(start, date):
                when = format_date(self.env, start)
            else:
                when = ""
            binding.name = f"{subject} ({when})" if when else subject

    def _search_name(self, operator, value):
        # what the list shows: the Odoo event's name, or the subject Outlook sent for a skipped row
        if operator not in ("in", "ilike", "like", "=ilike", "=like"):
            return NotImplemented
        return ["|", ("event_id.name", operator, value), ("outlook_subject", operator, value)]

    def _mcs_subject_and_start(self):
        """(subject, start: naive UTC datetime, date or None), read without asking Outlook."""
        self.ensure_one()
        event = self.event_id or self.recurrence_id.base_event_id
        if event:
            return event.display_name, event.start_date if event.allday else event.start
        if self.base:
            try:
                snapshot = Event.from_snapshot(json.loads(self.base))
            except (ValueError, KeyError, TypeError):
                snapshot = None
            if snapshot is not None:
                private = str(snapshot.sensitivity) == "private" and self.user_id != self.env.user
                subject = self.env._("Private event") if private else snapshot.subject
                start = snapshot.start
                if isinstance(start, datetime) and start.tzinfo:
                    start = start.astimezone(timezone.utc).replace(tzinfo=None)
                return subject, start
        return self.outlook_subject, self.outlook_start or None

    def _mcs_state_text(self):
        """One line for the event's form and popover: this row's state, in the reader's words."""
        self.ensure_one()
        mailbox = self.account_id.sudo().mailbox or self.account_id.sudo().user_id.name
        note = "; ".join(note for note in (self.sync_note, self.not_sent_note) if note)
        if self.state == "synced" and note:
            return self.env._("Synchronized with %(mailbox)s, with a difference: %(note)s",
                              mailbox=mailbox, note=note)
        if self.state == "synced":
            when = format_datetime(self.env, self.last_sync, dt_format="short") if self.last_sync else ""
            return self.env._("Synchronized with %(mailbox)s (%(when)s)", mailbox=mailbox, when=when) if when \
                else self.env._("Synchronized with %(mailbox)s", mailbox=mailbox)
        if self.state == "pending" and self.answer_pending:
            answer = dict(self._fields["answer_pending"]._description_selection(self.env))[self.answer_pending]
            if self.account_id.sudo().state == "needs_reauth":
                return self.env._("Your answer (%(answer)s) waits to be sent from %(mailbox)s: sign in to Outlook "
                                  "again (the Outlook button)", answer=answer, mailbox=mailbox)
            return self.env._("Your answer (%(answer)s) waits to be sent from %(mailbox)s", answer=answer,
                              mailbox=mailbox)
        if self.state == "pending":
            return self.env._("Waiting to be sent to %(mailbox)s", mailbox=mailbox)
        if self.state == "held":
            return self.env._("Waiting for approval before it is sent to %(mailbox)s", mailbox=mailbox)
        if self.state == "error":
            return self.env._("Error with %(mailbox)s: %(error)s", mailbox=mailbox,
                              error=self.last_error or self.env._("unknown error"))
        return self.env._("Not synchronized with %(mailbox)s: %(reason)s", mailbox=mailbox,
                          reason=self._mcs_skip_reason_text())

    def _mcs_skip_reason_text(self):
        """Why this row is not synchronized, in the reader's words."""
        _ = self.env._
        reasons = {
            "unreadable": _("Outlook sent it in a form that cannot be read"),
            "existing_meeting": _("a meeting that existed before the synchronization started: it is not sent, so "
                                  "that Outlook does not e-mail its attendees a second invitation"),
            "organizer_first": _("an invitation to a meeting whose organizer's Outlook is connected here: it joins "
                                 "the organizer's Odoo event once the organizer's Outlook has synchronized it"),
        }
        return reasons.get(self.skip_reason, self.skip_reason or _("skipped"))

    # ------------------------------------------------------------------ core form

    def _mcs_to_core(self):
        self.ensure_one()
        return Binding(
            key=self.key,
            odoo_ref=self.odoo_ref or None,
            graph_id=self.graph_id or None,
            ical_uid=self.ical_uid or "",
            change_key=self.change_key or "",
            base=Event.from_snapshot(json.loads(self.base)) if self.base else None,
            pending=self.pending or "",
            transaction_id=self.transaction_id or "",
            attempts=self.attempts,
            last_error=self.last_error or "",
            attendee_copy=self.attendee_copy,
        )

    def _mcs_has_attendees(self):
        """Whether the last agreed snapshot is a meeting (deleting it in Outlook would e-mail attendees)."""
        self.ensure_one()
        if not self.base:
            return False
        try:
            return bool(json.loads(self.base).get("attendees"))
        except (ValueError, AttributeError):
            return True  # unreadable snapshot: assume a meeting, never risk cancellation e-mails

    def action_retry(self):
        """Retry now (from the status list): pending again, due at once."""
        self.account_id._mcs_check_may_manage()
        bindings = self.sudo().filtered(lambda b: b.state in ("error", "pending"))
        bindings.write({"state": "pending", "next_retry": False, "attempts": 0,
                        "pending": OUTBOX_MARK})
        if bindings:
            self.env.ref("microsoft_calendar_sync.ir_cron_mcs_push")._trigger()


#: What the index of an account's rows reads of each, in the query that finds them.
INDEX_FIELDS = ["key", "odoo_ref", "graph_id", "ical_uid", "transaction_id", "state", "change_key", "delta_unseen"]


class BindingStoreAdapter:
    """The core's ``BindingStore`` over the bindings of one account.

    Every binding of the account is read once (one query) and indexed; writes go
    to the database at once (``save``/``delete``), so a crash never leaves the
    index ahead of the table. ``include_pending`` decides what ``pending()``
    offers the reconciler: the push run offers the due outbox rows, a pull run
    none (it decides only what Outlook reported).
    """

    def __init__(self, account, *, now=None, include_pending=True):
        self.account = account
        self.env = account.env
        self.Binding = self.env["microsoft.calendar.binding"].sudo()
        self.now = now or fields.Datetime.now()
        self.include_pending = include_pending
        #: keys ``pending()`` offers the reconciler (the push run's current chunk)
        self.offer = set()
        #: due rows of meetings the user is only invited to, found by ``due()`` (never pushed)
        self.invitations_due = self.Binding
        #: whether rows marked unseen by a full round may be left (the pull looks once, at its start)
        self.unseen_left = True
        self._records = None
        self._core = {}
        self._by_odoo = {}
        self._by_graph = {}
        self._by_ical = {}
        self._by_transaction = {}
        #: odoo_ref -> calendar.event id, filled by the sync run, so saved rows point at their event
        self.event_ids = {}
        #: graph id -> webLink, from the payloads and answers of the run (saved with the row)
        self.web_links = {}
        #: series odoo_ref -> calendar.recurrence id, filled by the sync run like ``event_ids``
        self.recurrence_ids = {}

    @property
    def loaded(self):
        """Whether the account's rows were read (a run that needed none reads none)."""
        return self._records is not None

    @property
    def records(self):
        """Every row of the account by key, read at the first lookup: an idle run reads none."""
        if self._records is None:
            self._records = {}
            for record in self.search([], INDEX_FIELDS):
                self._index(record)
        return self._records

    def search(self, domain, fields=None):
        """The account's rows matching ``domain``, straight from the database (the index is not read);
        with ``fields``, read in the same query. Ordered by id alone: the model's order joins the
        account, its user and partner, for nothing here."""
        Binding = self.Binding.with_context(active_test=False)
        domain = [("account_id", "=", self.account.id), *domain]
        if fields:
            return Binding.search_fetch(domain, fields, order="id desc")
        return Binding.search(domain, order="id desc")

    # -- index ---------------------------------------------------------------

    def _index(self, record):
        self.records[record.key] = record
        self._core.pop(record.key, None)
        if record.odoo_ref:
            self._by_odoo[record.odoo_ref] = record.key
        if record.graph_id:
            self._by_graph[record.graph_id] = record.key
        if record.ical_uid:
            self._by_ical[record.ical_uid] = record.key
        if record.transaction_id:
            self._by_transaction[record.transaction_id] = record.key

    def _unindex(self, key):
        record = self.records.pop(key, None)
        self._core.pop(key, None)
        if record is None:
            return
        for index, value in ((self._by_odoo, record.odoo_ref), (self._by_graph, record.graph_id),
                             (self._by_ical, record.ical_uid), (self._by_transaction, record.transaction_id)):
            if value and index.get(value) == key:
                del index[value]

    def note_web_link(self, payload):
        """Keep the webLink of a Graph event payload or answer, if it is an https address."""
        link = payload.get("webLink") if isinstance(payload, dict) else None
        if isinstance(link, str) and link.startswith("https://") and payload.get("id"):
            self.web_links[str(payload["id"])] = link[:2000]

    def record(self, key):
        return self.records.get(key)

    def record_by_graph_id(self, graph_id):
        return self.records.get(self._by_graph.get(graph_id, ""))

    def record_by_odoo_ref(self, odoo_ref):
        return self.records.get(self._by_odoo.get(odoo_ref, ""))

    def record_by_transaction_id(self, transaction_id):
        return self.records.get(self._by_transaction.get(transaction_id or "", ""))

    # -- BindingStore --------------------------------------------------------

    def get(self, key):
        record = self.records.get(key)
        if record is None or record.state == "skipped":
            return None
        if key not in self._core:
            self._core[key] = record._mcs_to_core()
        return self._core[key]

    def by_odoo_ref(self, odoo_ref):
        return self.get(self._by_odoo.get(odoo_ref, ""))

    def by_graph_id(self, graph_id):
        return self.get(self._by_graph.get(graph_id, ""))

    def by_ical_uid(self, ical_uid):
        return self.get(self._by_ical.get(ical_uid, ""))

    def by_transaction_id(self, transaction_id):
        return self.get(self._by_transaction.get(transaction_id or "", ""))

    def due(self):
        """Records the push run must look at: pending and due."""
        due = self.search([("state", "=", "pending"), "|", ("next_retry", "=", False), ("next_retry", "<=", self.now)])
        # an attendee's copy is never pushed: its answers and declines go out on their own (sync_meetings.py)
        self.invitations_due = due.filtered("attendee_copy")
        due -= self.invitations_due
        return [self.records[record.key] for record in due] if due else []

    def pending(self):
        if not self.include_pending:
            return []
        return [binding for binding in map(self.get, self.offer) if binding is not None]

    def all(self):
        return [self.get(key) for key in list(self.records) if self.get(key) is not None]

    def save(self, binding, *, failed=False):
        values = {
            "odoo_ref": binding.odoo_ref or False,
            "graph_id": binding.graph_id or False,
            "ical_uid": binding.ical_uid or False,
            "change_key": binding.change_key or False,
            "base": json.dumps(binding.base.to_snapshot()) if binding.base is not None else False,
            "pending": binding.pending or False,
            "transaction_id": binding.transaction_id or False,
            "attempts": binding.attempts,
            "last_error": binding.last_error or False,
            "attendee_copy": binding.attendee_copy,
        }
        if binding.pending:
            give_up = binding.attempts >= MAX_ATTEMPTS
            # attempts 0: an Outlook create recorded before it is sent (nothing failed yet)
            values.update(state="error" if give_up else "pending",
                          next_retry=False if give_up or not binding.attempts
                          else self.now + backoff(binding.attempts))
        else:
            values.update(state="synced", next_retry=False, skip_reason=False, last_sync=self.now)
        if binding.graph_id in self.web_links:
            values["web_link"] = self.web_links[binding.graph_id]
        if binding.base is not None and binding.base.recurrence is not None:
            # a whole series: one row, on its recurrence (its events are not bound one by one)
            values.update(kind="series", event_id=False)
            if binding.odoo_ref in self.recurrence_ids:
                recurrence = self.env["calendar.recurrence"].browse(self.recurrence_ids[binding.odoo_ref])
                values.update(recurrence_id=recurrence.id, base_event_id=recurrence.base_event_id.id)
        elif binding.odoo_ref in self.event_ids:
            values["event_id"] = self.event_ids[binding.odoo_ref]
        elif not binding.odoo_ref:
            values["event_id"] = False
        record = self.records.get(binding.key)
        if record is not None and record.kind == "series" and values.get("kind") != "series":
            # a series that stopped recurring: its row is its first event's now
            values.update(kind="event", recurrence_id=False, base_event_id=False, cancelled_dates=False)
        if record is None and binding.odoo_ref:
            # An outbox row for the same event (created before the reconciler knew it).
            record = self.record_by_odoo_ref(binding.odoo_ref)
            if record is not None:
                self._unindex(record.key)
                values["key"] = binding.key
        if record is not None and record.attendee_copy and record.state == "pending" and not binding.pending:
            # an invitation's answer (or leaving) waits for the push: a pull agreeing on the copy keeps it
            values.update(state="pending", pending=record.pending, next_retry=record.next_retry)
        if record is None:
            record = self.Binding.create({"key": binding.key, "account_id": self.account.id, **values})
        else:
            self._unindex(record.key)
            record.write(values)
        self._index(record)
        return record

    def delete(self, key):
        record = self.records.get(key)
        self._unindex(key)
        if record is not None:
            record.unlink()

    def skip(self, *, reason, graph_id=None, event=None, odoo_ref=None, error="", payload=None):
        """Record an event not synced on purpose (visible, counted).

        ``payload``: the Graph event Outlook sent; its subject and start name the row."""
        record = (self.record_by_graph_id(graph_id) if graph_id else None) or \
            (self.record_by_odoo_ref(odoo_ref) if odoo_ref else None)
        values = {"state": "skipped", "skip_reason": reason, "last_error": error or False, "pending": False,
                  "next_retry": False}
        if payload is not None:
            values.update(self._payload_name(payload))
        if record is None:
            record = self.Binding.create({
                "key": uuid.uuid4().hex, "account_id": self.account.id, "graph_id": graph_id or False,
                "event_id": event.id if event else False, "odoo_ref": odoo_ref or False, **values})
        else:
            record.write(values)
        self._index(record)
        return record

    def _payload_name(self, payload):
        """The subject and start of a Graph payload, read leniently (it may be what could not be read).

        Occurrences come as stubs without a subject (event-delta.md): they take their series
        master's, when it was recorded. Times are UTC (the client's ``Prefer: outlook.timezone``);
        a start in another zone is left out rather than guessed."""
        subject = payload.get("subject")
        if not isinstance(subject, str) or not subject.strip():
            master = self.record_by_graph_id(payload.get("seriesMasterId") or "")
            subject = master.outlook_subject if master is not None else ""
        if payload.get("sensitivity") == "private":
            subject = self.env._("Private event")
        start = payload.get("start")
        moment = False
        if isinstance(start, dict) and start.get("timeZone", "UTC") == "UTC" and isinstance(start.get("dateTime"), str):
            try:
                moment = datetime.fromisoformat(start["dateTime"][:19])
            except ValueError:
                moment = False
        return {"outlook_subject": (subject or "").strip()[:200] or False, "outlook_start": moment}
