# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync run of one Outlook account: the orchestrator.

The crons and "Sync now" call :meth:`_mcs_sync`, which takes the account's
row, pulls Outlook's changes (sync_pull.py; recurring series: sync_series.py;
one event per meeting across mailboxes: sync_meetings.py), sends the user's
answers to meetings they are invited to (sync_meetings.py, from the push), pushes the outbox
(sync_push.py) and records how it went; both flows apply
the core's decisions through sync_apply.py.

Both directions go through the core's :class:`~outlook_sync.reconcile.Reconciler`
over the account's bindings (:class:`BindingStoreAdapter`), in the order the
core asks for: Outlook first (in ``$batch`` requests of 20), then Odoo together
with the binding in the same transaction.

Commit points (:meth:`_mcs_commit`) are after each push chunk and after each
delta page together with its resume link, so a run killed halfway resumes
from the last saved point: pages already applied are not applied twice, and
bindings not yet committed are still pending. Inside Odoo's test cursors the
commit points are no-ops (tests cannot commit).

The account row's lock, the commit points and the "Synchronizing" state are
the run's transaction (sync_commit.py). Every run has a time budget (the core's ``Deadline``);
what is left is done by the next run.
"""

import logging
import time
from collections import Counter
from datetime import datetime, timezone

from outlook_sync.errors import (
    AuthRequired,
    BudgetExhausted,
    OutlookSyncError,
    ReauthenticationRequired,
)
from outlook_sync.reconcile import ConflictPolicy
from outlook_sync.retry import Deadline

from odoo import api, fields, models
from odoo.exceptions import UserError

from .microsoft_calendar_binding import OUTBOX_MARK
from .microsoft_calendar_config import DEFAULTS, PARAM
from .sync_commit import LockLost, _Run, _RUNS

_logger = logging.getLogger(__name__)

#: Account states a run works for (paused, needs_reauth and not_connected are skipped).
RUNNABLE_STATES = ("connected", "syncing", "error")
#: Seconds a cron run may spend on one account.
RUN_BUDGET = 120.0
#: (connect, read) seconds of each Graph request.
CLIENT_TIMEOUT = (5.0, 30.0)


class RunInterrupted(OutlookSyncError):
    """The run stopped for a reason the next run settles by itself (not an error of the account)."""


def _utc(moment):
    if moment is None:
        return datetime.now(timezone.utc)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


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
    last_run_summary = fields.Char("Last run", compute="_compute_last_run_summary",
                                   help="What the last run did (from its figures, models/microsoft_calendar_account_overview.py).")
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

    @api.depends("last_run_counts")
    def _compute_last_run_summary(self):
        for account in self:
            figures = account.sudo().last_run_counts
            account.last_run_summary = self._mcs_summary(figures) if figures else False

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        account = self._mcs_for_user(user or self.env.user)
        status["counts"] = {
            "synced": account.sync_synced_count, "pending": account.sync_pending_count,
            "errors": account.sync_error_count, "skipped": account.sync_skipped_count,
        } if account else {}
        # what the panel shows in words: the last run, and what is not synchronized and why
        status["last_run_text"] = account.last_run_summary or "" if account else ""
        status["last_run_when"] = account._mcs_last_run_when() if account else ""
        status["last_run_changed"] = account._mcs_last_run_changed() if account else False
        skipped, more = account._mcs_skipped_items() if account else ([], 0)
        status["skipped"] = skipped
        status["skipped_more"] = more
        return status

    # ------------------------------------------------------------------ connect / actions

    @api.model
    def _mcs_connect(self, user, signin, signed_in):
        account = super()._mcs_connect(user, signin, signed_in)
        # The first sync's enqueue also brings the events created while disconnected (it skips
        # linked ones); a first sync is queued for a cron worker right after this request commits.
        account.last_sync = False
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
            account._mcs_sync(trigger="button")
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
        return self._mcs_run_accounts(accounts, pull=False, trigger="after_save")

    @api.model
    def _mcs_cron_pull(self):
        """Push then pull every connected account (the polling interval)."""
        accounts = self.sudo().search([("state", "in", RUNNABLE_STATES)])
        return self._mcs_run_accounts(accounts, pull=True, trigger="cron")

    @api.model
    def _mcs_run_accounts(self, accounts, pull, trigger="cron"):
        """Run ``accounts`` in passes: each account at most once per pass; returns how many wait for this pass.

        A cron call runs accounts until the cron's time is nearly used up,
        then reports the rest as remaining: Odoo calls again (or reschedules
        the cron as soon as possible) and that call goes on with the accounts
        this pass has not run yet, least recently run first. A pass ends when
        each of its accounts ran once; the next starts at the cron's next
        interval or trigger. (Calling again from the first account, as
        before, gave one mailbox every run and the others none.)
        ``trigger`` is what the sync log records as the cause of each run.

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
                account._mcs_sync(pull=pull, trigger=account._mcs_run_trigger(trigger), locked=True)
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

    def _mcs_sync(self, pull=True, budget=RUN_BUDGET, trigger="cron", locked=False):
        """Pull (``pull``, or always once a first sync happened) then push this account; returns the run's counts.

        The run is logged (models/microsoft_calendar_sync_run.py) with ``trigger`` as its cause.
        ``locked``: the caller holds the account row already (:meth:`_mcs_lock`, this transaction)."""
        self.ensure_one()
        account = self.sudo()
        counts = Counter()
        if not locked and not account._mcs_lock():
            if account.state in RUNNABLE_STATES:
                _logger.info("Outlook account %s is being synced by another worker; skipped", account.id)
            return counts
        if account.state not in RUNNABLE_STATES:
            return counts
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        signin = account._mcs_sign_in()
        run = _Run(account, signin, account.connection_key, counts)
        _RUNS.setdefault(self.env.cr, {})[account.id] = run
        values = {}
        started, failure, client = time.time(), None, None
        try:
            # The run's first commit point. Having done nothing yet, the run defers it (a cron
            # run starts a new transaction anyway); where the commit points are savepoints (the
            # tests of killed runs), a run killed before it did anything rolls back to here.
            account._mcs_commit()
            # The run is its client's token provider: it sees each request before it leaves.
            with settings.graph_client(run, mailbox=account.mailbox) as client:
                client.deadline = Deadline.after(budget)
                client.timeout = CLIENT_TIMEOUT
                if pull and not account.last_sync:
                    account._mcs_enqueue_first_sync()
                # Outlook's changes first (one delta request when there are none), so a field
                # changed on both sides is seen as a conflict instead of being overwritten
                # by the push; a push-only run skips this before the first full sync.
                if pull or account.delta_link:
                    account._mcs_pull(client, counts)
                # the outbox: what changed in Odoo (its commit points are never deferred)
                run.reading = False
                account._mcs_push(client, counts)
        except LockLost:
            _logger.info("Outlook account %s was taken by another worker; this run stops", account.id)
            return counts
        except ReauthenticationRequired as error:
            # Only the identity platform can say the grant is gone (invalid_grant, revoked,
            # interaction_required): then the tokens are useless and the user must sign in again.
            account._mcs_mark_needs_reauth(error)
            account._mcs_after_run(counts)
            account._mcs_log_run(trigger, started, counts, error)
            return counts
        except AuthRequired as error:
            failure = error
            # Graph refused a token the identity platform had just renewed: a glitch on
            # Graph's side as far as we can tell. The tokens stay; the next run retries.
            _logger.warning("Outlook account %s: Graph refused a freshly renewed token: %s",
                            account.id, _error_text(error))
            values = {"state": "error", "last_error": self.env._(
                "Outlook refused the access token right after it was renewed; the next run tries again "
                "(%(error)s).", error=_error_text(error))}
        except BudgetExhausted as error:
            failure = error
            values = {"state": "connected", "last_error": self.env._(
                "The run used its time budget; the rest continues in the next run (%(error)s).",
                error=str(error))}
        except RunInterrupted as error:
            failure = error
            values = {"state": "connected", "last_error": str(error)}
        except OutlookSyncError as error:
            failure = error
            _logger.warning("Outlook sync of account %s failed: %s", account.id, _error_text(error))
            values = {"state": "error", "last_error": _error_text(error)}
        else:
            values = {"state": "connected", "last_error": self._mcs_error_summary(counts)}
            if pull or account.last_sync:
                # a push-only run before the first pull is not the first sync (whose enqueue must still run)
                values["last_sync"] = fields.Datetime.now()
        finally:
            _RUNS.get(self.env.cr, {}).pop(account.id, None)
            if client is not None:  # failed runs too: the sync log shows what they cost
                counts.update({f"graph {kind}": number for kind, number in client.stats.items()})
            account._mcs_save_cache(signin)
        account._mcs_set_values(values)
        # the run's figures, and a bus notification to the user's open calendars if Odoo changed
        account._mcs_after_run(counts)
        account._mcs_log_run(trigger, started, counts, failure)
        # the run's only commit when it found nothing to do: its resume link, last sync and log row
        account._mcs_commit(relock=False)
        return counts

    def _mcs_summary(self, counts):
        """What a run did in plain words, e.g. "2 sent to Outlook, 1 received from Outlook"."""
        _ = self.env._
        parts = []
        if counts.get("sent"):
            parts.append(_("%(count)s sent to Outlook", count=counts["sent"]))
        if counts.get("received"):
            parts.append(_("%(count)s received from Outlook", count=counts["received"]))
        if counts.get("conflicts"):
            parts.append(_("%(count)s conflicts settled", count=counts["conflicts"]))
        if counts.get("errors"):
            parts.append(_("%(count)s failed", count=counts["errors"]))
        if counts.get("skipped"):
            parts.append(_("%(count)s not synchronized", count=counts["skipped"]))
        return ", ".join(parts) if parts else _("nothing to synchronize")

    def _mcs_error_summary(self, counts):
        if counts["errors"]:
            return self.env._("%(count)s events could not be synchronized; see the sync status list.",
                              count=counts["errors"])
        return False


class ResUsers(models.Model):
    _inherit = "res.users"

    mcs_account_ids = fields.One2many("microsoft.calendar.account", "user_id", "Outlook account", readonly=True)
