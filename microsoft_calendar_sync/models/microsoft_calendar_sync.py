# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync run of one Outlook account: push the outbox, pull delta pages.

Both directions go through the core's :class:`~outlook_sync.reconcile.Reconciler`
over the account's bindings (:class:`BindingStoreAdapter`), in the order the
core asks for: Outlook first (in ``$batch`` requests of 20), then Odoo together
with the binding in the same transaction.

Commit points (:meth:`_mcs_commit`) are after each push chunk and after each
delta page together with its resume link, so a run killed halfway resumes
from the last saved point: pages already applied are not applied twice, and
bindings not yet committed are still pending. Inside Odoo's test cursors the
commit points are no-ops (tests cannot commit).

A run holds the account row with ``SELECT ... FOR UPDATE SKIP LOCKED``: a
second worker skips an account that is being synced, and a run that finds at a
commit point that the user paused, disconnected or reconnected the account
meanwhile stops there. Every run has a time
budget (the core's ``Deadline``); what is left is done by the next run.
"""

import dataclasses
import logging
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from outlook_sync.client import BatchRequest, DeltaPage, DeltaWindow, event_path
from outlook_sync.errors import (
    AuthRequired,
    BudgetExhausted,
    NotFound,
    OutlookSyncError,
    ReauthenticationRequired,
)
from outlook_sync.mapping import MappingError, event_from_graph, event_to_graph, graph_meta, is_removed
from outlook_sync.reconcile import ConflictPolicy, OdooItem, Op, OutlookItem, Reconciler
from outlook_sync.retry import Deadline

import odoo
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import plaintext2html

from ..utils import event_mapping
from .calendar_event import FROM_OUTLOOK
from .microsoft_calendar_binding import OUTBOX_MARK, BindingStoreAdapter
from .microsoft_calendar_config import DEFAULTS, PARAM

_logger = logging.getLogger(__name__)

#: Account states a run works for (paused, needs_reauth and not_connected are skipped).
RUNNABLE_STATES = ("connected", "syncing", "error")
#: States a user (or a failed refresh) puts an account in that end a run under way.
STOPPED_STATES = ("paused", "not_connected", "needs_reauth")
#: Seconds a cron run may spend on one account.
RUN_BUDGET = 120.0
#: (connect, read) seconds of each Graph request.
CLIENT_TIMEOUT = (5.0, 30.0)
#: Outbox rows planned, sent and committed together.
PUSH_CHUNK = 200
#: Delta page size asked of Graph.
PAGE_SIZE = 100
SKIP_UNREADABLE = "unreadable"
SKIP_RECURRING = "recurring"


class LockLost(Exception):
    """Another worker took the account between two commit points: this run stops."""


def _utc(moment):
    if moment is None:
        return datetime.now(timezone.utc)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _worth_applying(decision):
    """Whether a decision changes anything: a side, the binding, or its pending mark."""
    previous = decision.previous
    if decision.has_side_effects or decision.forget or decision.relinked:
        return True
    if decision.merged is None:
        return False  # a side was not reported and has no base: wait
    return (previous is None or bool(previous.pending) or previous.base != decision.merged
            or previous.change_key != decision.change_key or previous.graph_id != decision.graph_id)


def _error_text(error):
    request_id = getattr(error, "request_id", None)
    text = str(error)
    return f"{text} (request-id {request_id})" if request_id and request_id not in text else text


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    binding_ids = fields.One2many("microsoft.calendar.binding", "account_id", "Sync status", readonly=True)
    delta_link = fields.Text(readonly=True, copy=False, groups="base.group_system",
                             help="Where the next inbound round resumes (a Graph nextLink or deltaLink).")
    delta_window_start = fields.Datetime(readonly=True, copy=False)
    delta_window_end = fields.Datetime(readonly=True, copy=False)
    sync_synced_count = fields.Integer("Synchronized", compute="_compute_sync_counts")
    sync_pending_count = fields.Integer("Pending", compute="_compute_sync_counts")
    sync_error_count = fields.Integer("Errors", compute="_compute_sync_counts")
    sync_skipped_count = fields.Integer("Skipped", compute="_compute_sync_counts")
    last_run_summary = fields.Char("Last run", readonly=True, copy=False)
    # The crons' round-robin (see _mcs_run_accounts).
    last_run_start = fields.Datetime("Last cron run started", readonly=True, copy=False)
    pull_pass = fields.Integer(readonly=True, copy=False, help="The pull cron's pass that last ran this account.")
    push_pass = fields.Integer(readonly=True, copy=False, help="The push cron's pass that last ran this account.")

    @api.depends("binding_ids.state")
    def _compute_sync_counts(self):
        groups = self.env["microsoft.calendar.binding"].sudo()._read_group(
            [("account_id", "in", self.ids)], ["account_id", "state"], ["__count"])
        counts = {(account.id, state): count for account, state, count in groups}
        for account in self:
            for state in ("synced", "pending", "error", "skipped"):
                account[f"sync_{state}_count"] = counts.get((account.id, state), 0)

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        account = self._mcs_for_user(user or self.env.user)
        status["counts"] = {
            "synced": account.sync_synced_count, "pending": account.sync_pending_count,
            "errors": account.sync_error_count, "skipped": account.sync_skipped_count,
        } if account else {}
        status["last_run"] = account.last_run_summary or "" if account else ""
        return status

    # ------------------------------------------------------------------ connect / actions

    @api.model
    def _mcs_connect(self, user, signin, signed_in):
        account = super()._mcs_connect(user, signin, signed_in)
        # First sync: queued for a cron worker right after this request commits.
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull").sudo()._trigger()
        return account

    def action_sync_now(self):
        """Check the connection, then push and pull this account now."""
        self._mcs_check_may_manage()
        _ = self.env._
        for account in self.sudo():
            if account.state not in ("connected", "error", "syncing"):
                raise UserError(_("Connect your Outlook calendar first."))
            address = account._mcs_check_connection()
            if not address:
                return {"type": "warning", "message": account.last_error or _("The connection check failed.")}
            # "Sync now" retries errors too: the user asked for it.
            account.binding_ids.filtered(lambda b: b.state == "error").write(
                {"state": "pending", "attempts": 0, "next_retry": False, "pending": OUTBOX_MARK})
            account._mcs_sync()
            if account.state == "connected":
                return {"type": "success", "message": _(
                    "Synchronized with %(mailbox)s: %(summary)s.", mailbox=address,
                    summary=account.last_run_summary)}
            return {"type": "warning", "message": account.last_error or _("The synchronization failed.")}
        return {}

    # ------------------------------------------------------------------ crons

    @api.model
    def _mcs_cron_push(self):
        """Push the due outbox rows of every account (triggered after each change; catch-up every few minutes)."""
        now = fields.Datetime.now()
        rows = self.env["microsoft.calendar.binding"].sudo()._read_group(
            [("state", "=", "pending"), "|", ("next_retry", "=", False), ("next_retry", "<=", now),
             ("account_id.state", "in", RUNNABLE_STATES)], ["account_id"])
        accounts = self.sudo().browse([account.id for account, in rows])
        return self._mcs_run_accounts(accounts, pull=False)

    @api.model
    def _mcs_cron_pull(self):
        """Push then pull every connected account (the polling interval)."""
        accounts = self.sudo().search([("state", "in", RUNNABLE_STATES)])
        return self._mcs_run_accounts(accounts, pull=True)

    @api.model
    def _mcs_run_accounts(self, accounts, pull):
        """Run ``accounts`` in passes: each account at most once per pass; returns how many wait for this pass.

        A cron call runs accounts until the cron's time is nearly used up,
        then reports the rest as remaining: Odoo calls again (or reschedules
        the cron as soon as possible) and that call goes on with the accounts
        this pass has not run yet, least recently run first. A pass ends when
        each of its accounts ran once; the next starts at the cron's next
        interval or trigger. (Calling again from the first account, as
        before, gave one mailbox every run and the others none.)

        Each account records the number of the pass that last ran it
        (``pull_pass`` or ``push_pass``). With ``top`` the highest of these,
        a pass is under way while some account is still at ``top - 1``; it
        goes on with every account below ``top`` (accounts that joined, came
        back from a pause or were skipped join it). Otherwise pass ``top + 1``
        starts, with every account.
        """
        field = "pull_pass" if pull else "push_pass"
        numbers = accounts.mapped(field)
        top = max(numbers, default=0)
        if top - 1 in numbers:
            todo, number = accounts.filtered(lambda account: account[field] < top), top
        else:
            todo, number = accounts, top + 1
        todo = todo.sorted(lambda account: (account.last_run_start or datetime.min, account.id))
        for index, account in enumerate(todo):
            left = len(todo) - index - 1
            # Held by another worker (SKIP LOCKED): that worker runs it; this
            # call neither runs it nor waits on the row to write its pass.
            if account._mcs_lock():
                account.write({field: number, "last_run_start": fields.Datetime.now()})
                account._mcs_sync(pull=pull)
                if self._mcs_commit_allowed():
                    # its work is committed; the cron's remaining count is this pass's accounts not yet run
                    self.env["ir.cron"]._commit_progress(1, remaining=left)
            if left and self._mcs_cron_time_left() < RUN_BUDGET:
                return left
        return 0

    @api.model
    def _mcs_cron_time_left(self):
        """Seconds left to this cron call (what ``_commit_progress`` answers); unbounded outside a cron."""
        end = self.env.context.get("cron_end_time")
        return float("inf") if end is None else max(end - time.monotonic(), 0.0)

    @api.model
    def _mcs_commit_allowed(self):
        return not odoo.modules.module.current_test

    def _mcs_commit(self, relock=True):
        """A commit point of the run (no-op inside tests, which cannot commit)."""
        if self._mcs_commit_allowed():
            # What was applied (Odoo records, bindings, resume link) is now
            # durable: a crash after this point resumes from here.
            self.env.cr.commit()
            # The commit released the account row: hold it again, or stop if another worker has it.
            if relock and not self._mcs_lock():
                raise LockLost()

    def _mcs_lock(self):
        """Hold the account row for this run; False if another worker holds it, or if the
        user paused, disconnected or reconnected the account since the run read it (its
        cached ``connection_key`` is the run's): the run must then stop, not write over it."""
        self.env.cr.execute(
            "SELECT state, connection_key FROM microsoft_calendar_account WHERE id = %s FOR UPDATE SKIP LOCKED",
            [self.id])
        row = self.env.cr.fetchone()
        if not row:
            return False
        state, connection_key = row
        return state not in STOPPED_STATES and connection_key == self.sudo().connection_key

    # ------------------------------------------------------------------ one run

    def _mcs_settings_values(self):
        get = self.env["ir.config_parameter"].sudo().get_param

        def number(key):
            try:
                return int(get(PARAM % key) or DEFAULTS[key])
            except ValueError:
                return DEFAULTS[key]

        policy = get(PARAM % "conflict_policy") or ConflictPolicy.LATER_WINS.value
        if policy not in ConflictPolicy._value2member_map_:
            policy = ConflictPolicy.LATER_WINS.value
        return {
            "days_back": number("sync_days_back"),
            "days_forward": number("sync_days_forward"),
            "policy": ConflictPolicy(policy),
            "hard_delete": get(PARAM % "hard_delete") == "True",
            "allow_remote_images": self.env["microsoft.calendar.config"]._mcs_settings().allow_remote_images,
        }

    def _mcs_sync(self, pull=True, budget=RUN_BUDGET):
        """Pull (``pull``, or always once a first sync happened) then push this account; returns the run's counts."""
        self.ensure_one()
        account = self.sudo()
        counts = Counter()
        if account.state not in RUNNABLE_STATES:
            return counts
        if not account._mcs_lock():
            _logger.info("Outlook account %s is being synced by another worker; skipped", account.id)
            return counts
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        signin = account._mcs_sign_in()
        values = {}
        try:
            account.state = "syncing"
            account._mcs_commit()  # people see "synchronizing" while the run goes on
            with settings.graph_client(signin, mailbox=account.mailbox) as client:
                client.deadline = Deadline.after(budget)
                client.timeout = CLIENT_TIMEOUT
                if pull and not account.last_sync:
                    account._mcs_enqueue_first_sync()
                # Outlook's changes first (one delta request when there are none), so a field
                # changed on both sides is seen as a conflict instead of being overwritten
                # by the push; a push-only run skips this before the first full sync.
                if pull or account.delta_link:
                    account._mcs_pull(client, counts)
                # the outbox, and the reference stamps of events Outlook just created
                account._mcs_push(client, counts)
                counts.update({f"graph {kind}": number for kind, number in client.stats.items()})
        except LockLost:
            _logger.info("Outlook account %s was taken by another worker; this run stops", account.id)
            return counts
        except ReauthenticationRequired as error:
            # Only the identity platform can say the grant is gone (invalid_grant, revoked,
            # interaction_required): then the tokens are useless and the user must sign in again.
            account._mcs_mark_needs_reauth(error)
            account.last_run_summary = self._mcs_summary(counts)
            return counts
        except AuthRequired as error:
            # Graph refused a token the identity platform had just renewed: a glitch on
            # Graph's side as far as we can tell. The tokens stay; the next run retries.
            _logger.warning("Outlook account %s: Graph refused a freshly renewed token: %s",
                            account.id, _error_text(error))
            values = {"state": "error", "last_error": self.env._(
                "Outlook refused the access token right after it was renewed; the next run tries again "
                "(%(error)s).", error=_error_text(error))}
        except BudgetExhausted as error:
            values = {"state": "connected", "last_error": self.env._(
                "The run used its time budget; the rest continues in the next run (%(error)s).",
                error=str(error))}
        except OutlookSyncError as error:
            _logger.warning("Outlook sync of account %s failed: %s", account.id, _error_text(error))
            values = {"state": "error", "last_error": _error_text(error)}
        else:
            values = {"state": "connected", "last_sync": fields.Datetime.now(),
                      "last_error": self._mcs_error_summary(counts)}
        finally:
            account._mcs_save_cache(signin)
        values["last_run_summary"] = self._mcs_summary(counts)
        account.write(values)
        account._mcs_commit(relock=False)
        return counts

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
        # the user's own events, enqueued as the user's (whoever started the run)
        events.with_user(self.user_id).sudo()._mcs_mark_pending()

    def _mcs_summary(self, counts):
        return self.env._(
            "%(sent)s sent, %(received)s received, %(conflicts)s conflicts, %(errors)s errors, %(skipped)s skipped",
            sent=counts["sent"], received=counts["received"], conflicts=counts["conflicts"],
            errors=counts["errors"], skipped=counts["skipped"])

    def _mcs_error_summary(self, counts):
        if counts["errors"]:
            return self.env._("%(count)s events could not be synchronized; see the sync status list.",
                              count=counts["errors"])
        return False

    # ------------------------------------------------------------------ Odoo side

    def _mcs_odoo_items(self, store, records, organizer_only=False):
        """The current Odoo side of ``records``: (items, deleted refs).

        An event that is deleted, archived or recurring now counts as gone
        from Odoo (recurring ones are also marked skipped)."""
        items, deleted = [], []
        events = self.env["calendar.event"].sudo().with_context(active_test=False).browse(
            [record.event_id.id for record in records if record.event_id])
        events.fetch(["active", "recurrency", "recurrence_id", "write_date", "user_id"])
        for record in records:
            if not record.odoo_ref:
                continue
            event = record.event_id.with_context(active_test=False)
            if event.exists() and event.active and not event._mcs_is_recurring() and (
                    not organizer_only or event.user_id == self.user_id):
                store.event_ids[record.odoo_ref] = event.id
                binding = store.get(record.key)
                base = binding.base if binding else None
                core = event_mapping.odoo_event_to_core(event, base=base)
                if base is not None and not event.event_tz:
                    # Odoo keeps no zone on a single event (it shows the organizer's): the zone
                    # Outlook planned it in stays as agreed, times are absolute anyway.
                    core = core.replace(time_zone=base.time_zone)
                if base is not None and base.attendees and not base.odoo_url:
                    # A meeting that came from Outlook: adding the back-link to its body would make
                    # Outlook e-mail every attendee an update. It carries our reference only (an
                    # extended property: no e-mail).
                    core = core.replace(odoo_url="", odoo_record_url="", odoo_record_name="")
                items.append(OdooItem(record.odoo_ref, core, _utc(event.write_date)))
            else:
                deleted.append(record.odoo_ref)
        return items, deleted

    # ------------------------------------------------------------------ push

    def _mcs_push(self, client, counts):
        settings = self._mcs_settings_values()
        store = BindingStoreAdapter(self, include_pending=False)
        reconciler = Reconciler(store, settings["policy"])
        due = store.due()
        for first in range(0, len(due), PUSH_CHUNK):
            chunk = due[first:first + PUSH_CHUNK]
            odoo_items, odoo_deleted = self._mcs_odoo_items(store, chunk, organizer_only=True)
            store.include_pending = True
            store.offer = {record.key for record in chunk}
            decisions = reconciler.plan(odoo_items, (), odoo_deleted=odoo_deleted)
            store.include_pending = False
            self._mcs_apply(client, reconciler, store, decisions, counts, settings)
            self._mcs_commit()

    # ------------------------------------------------------------------ pull

    def _mcs_window(self, settings):
        now = datetime.now(timezone.utc).replace(microsecond=0)
        return DeltaWindow(now - timedelta(days=settings["days_back"]), now + timedelta(days=settings["days_forward"]))

    def _mcs_pull(self, client, counts):
        settings = self._mcs_settings_values()
        store = BindingStoreAdapter(self, include_pending=False)
        reconciler = Reconciler(store, settings["policy"])
        window = self._mcs_window(settings)
        # Deletions Outlook reported earlier that could not be checked: ask again first.
        self._mcs_recheck_deletions(client, reconciler, store, counts, settings)
        fresh_started = False
        for page in client.sync_delta(self.delta_link or None, window, page_size=PAGE_SIZE):
            if page.fresh_round and not fresh_started:
                # A full round (first sync, or the delta token was lost): it lists every event
                # of the window and reports no deletions. Every bound event is marked unseen,
                # durably with this page, so a round interrupted between pages still knows at
                # its end which bound events it never listed.
                fresh_started = True
                self.write({"delta_window_start": window.start.replace(tzinfo=None),
                            "delta_window_end": window.end.replace(tzinfo=None)})
                bound = self.env["microsoft.calendar.binding"].browse(
                    [record.id for record in store.records.values()
                     if record.graph_id and record.state != "skipped" and not record.delta_unseen])
                bound.write({"delta_unseen": True})
            self._mcs_apply_page(client, reconciler, store, page, counts, settings)
            if page.delta_link:
                self._mcs_settle_unseen(client, reconciler, store, counts, settings)
            self.delta_link = page.resume_link
            counts["pages"] += 1
            self._mcs_commit()

    def _mcs_in_window(self, base):
        """Whether an event known as ``base`` lies in the window of the current delta round."""
        start, end = self.delta_window_start, self.delta_window_end
        if base is None or not start or not end:
            return True
        if base.all_day:
            first = datetime.combine(base.start, datetime.min.time())
            last = datetime.combine(base.end + timedelta(days=1), datetime.min.time())
        else:
            first = base.start.astimezone(timezone.utc).replace(tzinfo=None)
            last = base.end.astimezone(timezone.utc).replace(tzinfo=None)
        return last > start and first < end

    def _mcs_settle_unseen(self, client, reconciler, store, counts, settings):
        """The end of a round: bound events a full round never listed are deleted or out of the window.

        Checked one by one (a GET each, in $batch), never assumed: the same rules as an @removed."""
        unseen = [record for record in store.records.values() if record.delta_unseen]
        if not unseen:
            return
        self.env["microsoft.calendar.binding"].browse([record.id for record in unseen]).write(
            {"delta_unseen": False})
        suspects = []
        for record in unseen:
            binding = store.get(record.key)
            if binding is None or not binding.graph_id:
                continue
            if not self._mcs_in_window(binding.base):
                counts["left_window"] += 1  # listed by no round of this window: nothing to tell
                continue
            suspects.append(binding.graph_id)
        if suspects:
            counts["unseen"] += len(suspects)
            self._mcs_settle_removed(client, reconciler, store, suspects, counts, settings)

    def _mcs_recheck_deletions(self, client, reconciler, store, counts, settings):
        graph_ids = [record.graph_id for record in store.records.values()
                     if record.deletion_check and record.graph_id and record.state != "skipped"]
        if graph_ids:
            self._mcs_settle_removed(client, reconciler, store, graph_ids, counts, settings)

    def _mcs_settle_removed(self, client, reconciler, store, graph_ids, counts, settings):
        """Events Outlook may have deleted: ask Outlook (one $batch of GETs) and apply the answers."""
        deleted, moved = self._mcs_check_removed(client, store, graph_ids, counts)
        if moved:
            self._mcs_apply_page(client, reconciler, store, DeltaPage(moved, None, None, False), counts, settings)
        if deleted:
            self._mcs_apply_outlook(client, reconciler, store, [], deleted, counts, settings)

    def _mcs_check_removed(self, client, store, graph_ids, counts):
        """(deleted ids, event bodies) of ``graph_ids``; an event Outlook gave no clear answer about
        becomes a visible binding error, asked again by every later run until it is decided."""
        answers = client.batch([BatchRequest("GET", event_path(graph_id)) for graph_id in graph_ids])
        deleted, moved, decided = [], [], []
        for graph_id, answer in zip(graph_ids, answers):
            record = store.record_by_graph_id(graph_id)
            if answer.status == 404:
                deleted.append(graph_id)
            elif answer.ok and isinstance(answer.body, dict):
                moved.append(answer.body)
            else:
                error = answer.error
                message = self.env._(
                    "Outlook reported this event removed, but asking Outlook whether it was deleted "
                    "failed (%(error)s); it is asked again at the next synchronization.",
                    error=_error_text(error) if error else f"HTTP {answer.status}")
                _logger.warning("Outlook event %s of account %s: could not tell a deletion from a move: %s",
                                graph_id, self.id, message)
                counts["errors"] += 1
                if record is not None:
                    record.write({"deletion_check": True, "state": "error", "last_error": message,
                                  "attempts": record.attempts + 1, "next_retry": False})
                    store._index(record)
                continue
            if record is not None and record.deletion_check:
                decided.append(record.id)
        if decided:
            self.env["microsoft.calendar.binding"].browse(decided).write({"deletion_check": False})
        return deleted, moved

    def _mcs_apply_page(self, client, reconciler, store, page, counts, settings):
        outlook_items, outlook_deleted, suspects = [], [], []
        raws = list(page.items)
        listed = []
        unconfirmed = any(record.transaction_id and not record.graph_id for record in store.records.values())
        unread = []  # indexes of new events whose transactionId the page did not say
        for raw in raws:
            if not isinstance(raw, dict) or not raw.get("id"):
                counts["skipped"] += 1
                continue
            record = store.record_by_graph_id(raw["id"])
            if record is not None and record.delta_unseen:
                listed.append(record.id)
            if record is not None and record.state == "held":
                # Its Odoo side waits for the organizer; when it goes out, If-Match finds
                # this Outlook change and the three-way merge keeps it.
                counts["held"] += 1
                continue
            if is_removed(raw):
                if record is None or record.state == "skipped":
                    if record is not None:
                        store.delete(record.key)
                    continue
                base = store.get(record.key).base
                if not self._mcs_in_window(base):
                    counts["left_window"] += 1  # the window slid past it: not a deletion
                    continue
                suspects.append(raw["id"])  # deleted, or moved out of the window?
                continue
            meta = graph_meta(raw)
            if meta.type != "singleInstance" or raw.get("recurrence"):
                if record is None or record.state == "skipped":
                    store.skip(reason=SKIP_RECURRING, graph_id=meta.id)
                    counts["skipped"] += 1
                continue
            if meta.is_cancelled:
                if record is not None and record.state != "skipped":
                    outlook_deleted.append(meta.id)
                continue
            try:
                event, warnings = event_from_graph(raw, allow_remote_images=settings["allow_remote_images"])
            except (MappingError, ValueError) as error:
                _logger.warning("Outlook event %s of account %s cannot be read, skipped: %s (request-id %s)",
                                meta.id, self.id, error, getattr(client, "last_request_id", None) or "?")
                store.skip(reason=SKIP_UNREADABLE, graph_id=meta.id, error=str(error))
                counts["skipped"] += 1
                continue
            if warnings:
                _logger.info("Outlook event %s: %s", meta.id, "; ".join(warnings))
            if self.delta_window_start and not self._mcs_in_window(event):
                counts["left_window"] += 1  # fetched after a move out of the window
                if record is None:
                    continue
            # Graph returns the transactionId of events created with one, on delta pages too
            # (event.md: "only returned in a response payload if an app has set it"; the
            # event-delta.md response sample lists it, microsoftgraph/microsoft-graph-docs-contrib#294).
            transaction_id = raw.get("transactionId") or ""
            known = record
            if known is None and transaction_id:
                known = store.record_by_transaction_id(transaction_id)  # our create, its answer lost
                if known is not None and known.graph_id:
                    known = None
            if "singleValueExtendedProperties" not in raw and known is not None and known.base:
                # Delta rounds cannot $expand extended properties: our reference is as we stamped it.
                event = event.replace(odoo_ref=store.get(known.key).base.odoo_ref) \
                    if known.state != "skipped" else event
            if record is not None and record.state == "skipped":
                store.delete(record.key)  # readable again / no longer recurring
            if record is None and unconfirmed and "transactionId" not in raw and not event.odoo_ref:
                unread.append(len(outlook_items))
            outlook_items.append(OutlookItem(meta.id, event, _utc(meta.last_modified), meta.change_key,
                                             meta.ical_uid, transaction_id))
        if unread:
            self._mcs_read_transaction_ids(client, store, outlook_items, unread)
        if listed:
            self.env["microsoft.calendar.binding"].browse(listed).write({"delta_unseen": False})
        if suspects:
            # @removed is sent for deletions and for events moved out of the window alike:
            # ask Outlook (one $batch of GETs) which it is. A moved event is applied as changed.
            deleted, moved = self._mcs_check_removed(client, store, suspects, counts)
            outlook_deleted.extend(deleted)
            if moved:
                self._mcs_apply_page(client, reconciler, store, DeltaPage(moved, None, None, False), counts,
                                     settings)
        self._mcs_apply_outlook(client, reconciler, store, outlook_items, outlook_deleted, counts, settings)

    def _mcs_read_transaction_ids(self, client, store, outlook_items, unread):
        """Creates of ours whose answer was lost wait for their event (by transactionId): should a
        delta page leave the property out, the new events it lists are asked for it (a $batch of
        GETs with $select=transactionId), only while such creates are waiting."""
        answers = client.batch([BatchRequest("GET", event_path(outlook_items[index].graph_id)
                                             + "?$select=transactionId") for index in unread])
        for index, answer in zip(unread, answers):
            body = answer.body if answer.ok and isinstance(answer.body, dict) else {}
            record = store.record_by_transaction_id(body.get("transactionId") or "")
            if record is None or record.graph_id:
                continue
            item = outlook_items[index]
            base = store.get(record.key).base if store.get(record.key) else None
            event = item.event.replace(odoo_ref=base.odoo_ref) if base is not None else item.event
            outlook_items[index] = dataclasses.replace(item, event=event, transaction_id=body["transactionId"])

    def _mcs_apply_outlook(self, client, reconciler, store, outlook_items, outlook_deleted, counts, settings):
        """Reconcile Outlook's changes and deletions with the Odoo side of the events they name."""
        if not outlook_items and not outlook_deleted:
            return
        # The Odoo side of every event the page names: by binding, else by our reference.
        records, seen = [], set()
        extra_items = []
        for item in outlook_items:
            record = store.record_by_graph_id(item.graph_id) or (
                store.record_by_odoo_ref(item.event.odoo_ref) if item.event.odoo_ref else None) or (
                store.record_by_transaction_id(item.transaction_id) if item.transaction_id else None)
            if record is not None:
                if record.key not in seen:
                    seen.add(record.key)
                    records.append(record)
            elif item.event.odoo_ref:
                # Our create reached Outlook but its binding was never saved: relink.
                event = event_mapping.parse_odoo_ref(self.env, item.event.odoo_ref)
                if event and event.active and not event._mcs_is_recurring():
                    store.event_ids[item.event.odoo_ref] = event.id
                    extra_items.append(OdooItem(item.event.odoo_ref, event_mapping.odoo_event_to_core(event),
                                                _utc(event.write_date)))
        for graph_id in outlook_deleted:
            record = store.record_by_graph_id(graph_id)
            if record is not None and record.key not in seen:
                seen.add(record.key)
                records.append(record)
        odoo_items, odoo_deleted = self._mcs_odoo_items(store, records)
        decisions = reconciler.plan(odoo_items + extra_items, outlook_items, odoo_deleted=odoo_deleted,
                                    outlook_deleted=outlook_deleted)
        counts["received"] += len(outlook_items) + len(outlook_deleted)
        self._mcs_apply(client, reconciler, store, decisions, counts, settings)

    # ------------------------------------------------------------------ applying decisions

    def _mcs_outlook_request(self, decision):
        if decision.outlook_op is Op.CREATE:
            body = event_to_graph(decision.merged, transaction_id=decision.transaction_id)
            return BatchRequest("POST", "/me/events", body, idempotent=True)
        # Writes only the version we decided from: an event's ETag is W/"<changeKey>" (its
        # @odata.etag, user-post-events.md sample), and a precondition that no longer holds
        # answers 412 (concepts/errors.md), which re-reads the event and decides again
        # (_mcs_followups), so an Outlook edit made since our pull is never overwritten.
        if_match = {"If-Match": f'W/"{decision.change_key}"'} if decision.change_key else {}
        if decision.outlook_op is Op.UPDATE:
            body = event_to_graph(decision.merged, decision.outlook_fields)
            return BatchRequest("PATCH", event_path(decision.graph_id), body, headers=if_match)
        base = decision.previous.base if decision.previous else None
        if base is not None and base.attendees:
            # A meeting: cancel it, so Outlook tells the attendees.
            return BatchRequest("POST", event_path(decision.graph_id) + "/cancel", {"comment": ""}, idempotent=True)
        return BatchRequest("DELETE", event_path(decision.graph_id), headers=if_match)

    def _mcs_apply(self, client, reconciler, store, decisions, counts, settings, *, depth=0):
        """Apply ``decisions``: Outlook in $batch requests, then Odoo in bulk, then the bindings."""
        decisions = [decision for decision in decisions if _worth_applying(decision)]
        outgoing = [decision for decision in decisions if decision.outlook_op is not Op.NONE]
        for decision in outgoing:
            _logger.debug("Outlook %s of binding %s: %s", decision.outlook_op, decision.key,
                          ", ".join(sorted(decision.outlook_fields)))
        responses = {}
        creates = [decision for decision in outgoing if decision.outlook_op is Op.CREATE]
        for decision in creates:
            reconciler.prepare(decision)
        if creates:
            # The creates' transactionIds are durable before the POSTs leave: a run that dies after
            # Outlook created the events retries with the same keys (Graph makes no second event)
            # and relinks the events by them when a pull lists them first.
            self._mcs_commit()
        if outgoing:
            try:
                answers = client.batch([self._mcs_outlook_request(decision) for decision in outgoing])
            except OutlookSyncError as failure:
                answers = getattr(failure, "partial_results", None) or []
                known = {decision.key: answer for decision, answer in zip(outgoing, answers) if answer is not None}
                # What Outlook answered is applied; the rest stays pending for the next run.
                self._mcs_settle(reconciler, store, decisions, known, counts, settings, client, depth,
                                 unanswered_error=_error_text(failure))
                raise
            responses = dict(zip((decision.key for decision in outgoing), answers))
        self._mcs_settle(reconciler, store, decisions, responses, counts, settings, client, depth)

    def _mcs_settle(self, reconciler, store, decisions, responses, counts, settings, client, depth,
                    unanswered_error=None):
        user = self.user_id
        Event_ = self.env["calendar.event"].sudo().with_context(
            **event_mapping.QUIET_CONTEXT,
            **{FROM_OUTLOOK: True, "mail_create_nosubscribe": True,
               "mail_create_nolog": True, "mail_notrack": True, "tracking_disable": True,
               "active_test": False})
        followups = []  # (decision, reason)
        ready = []  # (decision, response)
        for decision in decisions:
            response = responses.get(decision.key)
            if decision.outlook_op is not Op.NONE and response is None:
                if unanswered_error:
                    reconciler.fail(decision, unanswered_error)
                    counts["pending"] += 1
                continue
            if response is not None and not response.ok:
                status = response.status
                if status == 404 and decision.outlook_op is Op.DELETE:
                    ready.append((decision, None))  # already gone: what we wanted
                elif status == 404 and decision.outlook_op is Op.UPDATE and depth < 2:
                    followups.append((decision, "gone"))
                elif status == 412 and depth < 2:
                    followups.append((decision, "changed"))
                else:
                    error = response.error
                    message = _error_text(error) if error else f"HTTP {status}"
                    binding = reconciler.fail(decision, message)
                    _logger.info("Outlook %s of binding %s failed: %s", decision.outlook_op, decision.key, message)
                    counts["errors" if binding.attempts >= 5 else "pending"] += 1
                continue
            ready.append((decision, response))

        # Odoo side in bulk: one create for every new event, then updates, then deletions.
        creates = [(decision, response) for decision, response in ready if decision.odoo_op is Op.CREATE]
        created = Event_.browse()
        if creates:
            vals_list = [event_mapping.core_to_odoo_values(Event_.env, decision.merged, user=user)
                         for decision, _response in creates]
            created = Event_.create(vals_list)
        created_by_key = dict(zip((decision.key for decision, _response in creates), created))
        for decision, response in ready:
            event = created_by_key.get(decision.key)
            odoo_ref = decision.odoo_ref
            if event is not None:
                odoo_ref = event_mapping.odoo_ref(event)
                counts["odoo_created"] += 1
            elif decision.odoo_op is Op.UPDATE:
                event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref).with_env(Event_.env)
                if event:
                    vals = event_mapping.core_to_odoo_values(Event_.env, decision.merged, user=user,
                                                       fields=decision.odoo_fields, record=event)
                    if vals:
                        event_mapping.write_odoo_values(event, vals)
            elif decision.odoo_op is Op.DELETE:
                event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref)
                if event:
                    event = event.with_env(Event_.env)
                    if settings["hard_delete"]:
                        event.unlink()
                    else:
                        event.active = False  # archived: recoverable
                    counts["odoo_deleted"] += 1
            if odoo_ref and event:
                store.event_ids[odoo_ref] = event.id
            body = response.body if response is not None and isinstance(response.body, dict) else {}
            binding = reconciler.commit(decision, odoo_ref=odoo_ref,
                                        graph_id=body.get("id") if decision.outlook_op is Op.CREATE else None,
                                        change_key=body.get("changeKey"))
            if binding is not None and decision.odoo_op is Op.CREATE and event.user_id == self.user_id:
                # Outlook does not carry our reference and back-link yet: the next push stamps them.
                store.record(binding.key).write({"pending": OUTBOX_MARK, "state": "pending"})
            if decision.outlook_op is not Op.NONE:
                counts["sent"] += 1
            if decision.conflicts:
                counts["conflicts"] += len(decision.conflicts)
                self._mcs_record_conflicts(decision, event or event_mapping.parse_odoo_ref(self.env, odoo_ref or ""))
            counts["synced"] += 1
        if followups:
            self._mcs_followups(client, reconciler, store, followups, counts, settings, depth)

    def _mcs_followups(self, client, reconciler, store, followups, counts, settings, depth):
        """404 on update: deleted in Outlook meanwhile; 412: changed meanwhile (re-fetch, re-merge)."""
        records = [store.record(decision.key) for decision, _reason in followups]
        odoo_items, odoo_deleted = self._mcs_odoo_items(store, [r for r in records if r])
        outlook_items, outlook_deleted = [], []
        for decision, reason in followups:
            if reason == "changed":
                try:
                    raw = client.get_event(decision.graph_id)
                except NotFound:
                    outlook_deleted.append(decision.graph_id)
                    continue
                meta = graph_meta(raw)
                event, _warnings = event_from_graph(raw, allow_remote_images=settings["allow_remote_images"])
                previous = reconciler.store.get(decision.key)
                if "singleValueExtendedProperties" not in raw and previous and previous.base:
                    event = event.replace(odoo_ref=previous.base.odoo_ref)
                outlook_items.append(OutlookItem(meta.id, event, _utc(meta.last_modified), meta.change_key,
                                                 meta.ical_uid))
            else:
                outlook_deleted.append(decision.graph_id)
        decisions = reconciler.plan(odoo_items, outlook_items, odoo_deleted=odoo_deleted,
                                    outlook_deleted=outlook_deleted)
        self._mcs_apply(client, reconciler, store, decisions, counts, settings, depth=depth + 1)

    def _mcs_record_conflicts(self, decision, event):
        """A chatter note on the event: which fields both sides changed and who won."""
        if not event:
            return
        lines = []
        for conflict in decision.conflicts:
            lines.append(self.env._(
                "%(fields)s changed in Odoo and in Outlook; kept the %(winner)s version "
                "(Odoo: %(odoo)s / Outlook: %(outlook)s).",
                fields=", ".join(conflict.fields), winner=conflict.winner,
                odoo=", ".join(map(str, conflict.odoo))[:200], outlook=", ".join(map(str, conflict.outlook))[:200]))
        event.sudo().with_context(**{FROM_OUTLOOK: True, "mail_notrack": True}).message_post(
            body=plaintext2html("\n".join(lines)), subtype_xmlid="mail.mt_note",
            message_type="comment")


class ResUsers(models.Model):
    _inherit = "res.users"

    mcs_account_ids = fields.One2many("microsoft.calendar.account", "user_id", "Outlook account", readonly=True)
