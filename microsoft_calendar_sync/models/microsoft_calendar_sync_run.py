# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync log people read: one row per run of an account, its readable
errors and the conflicts it settled.

The orchestrator (microsoft_calendar_sync.py) calls :meth:`_mcs_log_run` once
at the end of a run; the flows call :meth:`_mcs_log_failure` where Outlook
refused an event and :meth:`_mcs_log_conflicts` where both sides changed a
field. Error rows are written as they happen (they are committed with the
bindings at the commit points, so a run that dies keeps them) and attached to
their run when it is logged; rows a dead run left behind join the next run.

Nobody writes these records over RPC: the ACL grants read only, and the sync
writes them as superuser.
"""

import time
from datetime import datetime, timedelta, timezone

from outlook_sync.errors import AuthRequired, BudgetExhausted, ReauthenticationRequired

from odoo import api, fields, models
from odoo.tools import SQL

from .microsoft_calendar_config import DEFAULTS, PARAM

TRIGGERS = [
    ("cron", "Scheduled poll"),
    ("button", "Sync now"),
    ("after_save", "After an Odoo change"),
    ("webhook", "Outlook notification"),
]
OUTCOMES = [
    ("idle", "Nothing to do"),
    ("done", "Done"),
    ("partial", "Done with errors"),
    ("budget", "Time budget used, continues next run"),
    ("failed", "Failed"),
    ("needs_reauth", "Needs re-authentication"),
]
#: Count keys that mean a run did something: a run with none of them (and no error) is idle.
ACTIVITY_KEYS = ("received", "sent", "odoo_created", "odoo_updated", "odoo_deleted", "outlook_created",
                 "outlook_updated", "outlook_deleted", "conflicts", "errors", "pending", "skipped")
RETENTION_PARAM = PARAM % "log_retention_days"
DEFAULT_RETENTION_DAYS = DEFAULTS["log_retention_days"]
#: Rows of each log model the pruning cron deletes per batch (its progress is committed between them).
PRUNE_BATCH = 5000
#: Characters kept of each side's value in a conflict row (a description can be long).
VALUE_CHARS = 2000


def _error_hint(env, status, code, attempts=0):
    """What the user can do about an error Graph (or the identity platform) answered."""
    _ = env._
    code = (code or "").lower()
    if status == 401 or code in ("invalid_grant", "interaction_required", "invalidauthenticationtoken"):
        return _("Reconnect your Outlook calendar with the Outlook button of the Calendar app.")
    if status == 403 or code in ("erroraccessdenied", "accessdenied"):
        return _("Outlook refused the change: only the organizer can change a meeting, and the account needs "
                 "write access to the calendar. Change the event in Outlook or ask its organizer.")
    if status == 404 or code == "erroritemnotfound":
        return _("The event no longer exists in Outlook; the next synchronization settles it.")
    if status in (409, 412):
        return _("The event changed in Outlook meanwhile; the next synchronization merges both versions.")
    if code == "budget":
        return _("Nothing: there was more to do than one run may take; the next run goes on from here.")
    if status == 429 or (status and status >= 500) or code == "timeout":
        return _("Outlook is busy or unreachable; the synchronization tries again by itself.")
    if status == 400 or code.startswith("errorinvalid"):
        return _("Outlook does not accept this event as it is (for example an invalid attendee e-mail or "
                 "time). Correct it in Odoo, then click Sync now.")
    if attempts >= 5:
        return _("The synchronization gave up after several attempts. Correct the event, then click Sync now.")
    return _("The synchronization tries again by itself; if it keeps failing, a manager can reset the account.")


class MicrosoftCalendarSyncRun(models.Model):
    _name = "microsoft.calendar.sync.run"
    _description = "Outlook Calendar Sync Run"
    _order = "last_start desc, id desc"
    _rec_name = "start"

    account_id = fields.Many2one("microsoft.calendar.account", "Outlook account", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    user_id = fields.Many2one(related="account_id.user_id", store=True, precompute=True, index=True, string="User")
    start = fields.Datetime(required=True, readonly=True, index=True)
    last_start = fields.Datetime(
        "Last run", required=True, readonly=True, index=True,
        help="When the latest of the runs this row stands for started (idle runs share one row).")
    duration = fields.Float("Duration (s)", digits=(16, 1), readonly=True,
                            help="Seconds the run took (for merged idle runs: the latest one).")
    run_count = fields.Integer("Runs", default=1, readonly=True,
                               help="How many consecutive runs with nothing to do this row stands for.")
    idle_period_open = fields.Boolean(
        readonly=True, help="The idle row of an account whose latest runs were idle: the next idle run extends it.")
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True)
    direction = fields.Selection(
        [("both", "Outlook to Odoo, then Odoo to Outlook"), ("push", "Odoo to Outlook")],
        required=True, readonly=True)
    outcome = fields.Selection(OUTCOMES, required=True, readonly=True, index=True)
    odoo_created = fields.Integer("Created in Odoo", readonly=True)
    odoo_updated = fields.Integer("Updated in Odoo", readonly=True)
    odoo_deleted = fields.Integer("Deleted in Odoo", readonly=True)
    outlook_created = fields.Integer("Created in Outlook", readonly=True)
    outlook_updated = fields.Integer("Updated in Outlook", readonly=True)
    outlook_deleted = fields.Integer("Deleted in Outlook", readonly=True)
    received = fields.Integer("Changes received", readonly=True, help="Outlook changes the run read.")
    sent = fields.Integer("Changes sent", readonly=True, help="Changes Outlook accepted from Odoo.")
    conflicts = fields.Integer(readonly=True, help="Fields changed on both sides, settled by the conflict policy.")
    errors = fields.Integer(readonly=True, help="Events that failed and will not be retried by themselves.")
    pending = fields.Integer("Retried later", readonly=True, help="Events that failed and are retried with backoff.")
    skipped = fields.Integer(readonly=True, help="Outlook events not synchronized (recurring, unreadable).")
    graph_requests = fields.Integer("Graph requests", readonly=True)
    graph_detail = fields.Char("Graph requests by kind", readonly=True)
    error_text = fields.Text("Error", readonly=True)
    error_ids = fields.One2many("microsoft.calendar.sync.error", "run_id", "What failed", readonly=True)

    @api.depends("start", "last_start", "outcome", "account_id.user_id.name")
    def _compute_display_name(self):
        outcomes = dict(self._fields["outcome"]._description_selection(self.env))
        for run in self:
            when = fields.Datetime.context_timestamp(run, run.last_start or run.start).strftime("%Y-%m-%d %H:%M") \
                if run.start else ""
            run.display_name = f"{run.account_id.user_id.name or ''} {when} ({outcomes.get(run.outcome, '')})"

    @api.model
    def _mcs_retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            days = int(value) if value else DEFAULT_RETENTION_DAYS
        except ValueError:
            return DEFAULT_RETENTION_DAYS
        return days if days > 0 else DEFAULT_RETENTION_DAYS

    @api.model
    def _mcs_cron_prune(self):
        """Delete runs, errors and conflicts older than the retention setting (daily cron)."""
        limit = fields.Datetime.now() - timedelta(days=self._mcs_retention_days())
        for model, field in (("microsoft.calendar.sync.error", "date"), ("microsoft.calendar.sync.conflict", "date"),
                             ("microsoft.calendar.sync.run", "last_start")):
            Model = self.env[model].sudo()
            while True:
                old = Model.search([(field, "<", limit)], limit=PRUNE_BATCH)
                if not old:
                    break
                old.unlink()
                # each batch deleted stays deleted; out of time, the next day goes on
                if self.env["microsoft.calendar.account"]._mcs_commit_allowed() and \
                        self.env["ir.cron"]._commit_progress(len(old)) <= 0:
                    return


class MicrosoftCalendarSyncError(models.Model):
    _name = "microsoft.calendar.sync.error"
    _description = "Outlook Calendar Sync Error"
    _order = "date desc, id desc"
    _rec_name = "event_name"

    run_id = fields.Many2one("microsoft.calendar.sync.run", "Run", index="btree_not_null", ondelete="cascade",
                             readonly=True)
    account_id = fields.Many2one("microsoft.calendar.account", "Outlook account", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    user_id = fields.Many2one(related="account_id.user_id", store=True, precompute=True, index=True, string="User")
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    operation = fields.Char("What failed", readonly=True)
    binding_id = fields.Many2one("microsoft.calendar.binding", "Sync status", ondelete="set null", readonly=True)
    event_id = fields.Many2one("calendar.event", "Odoo event", ondelete="set null", readonly=True)
    event_name = fields.Char("Event", readonly=True)
    message = fields.Text(readonly=True)
    status = fields.Integer("HTTP status", readonly=True)
    code = fields.Char("Graph error code", readonly=True)
    request_id = fields.Char("Request id", readonly=True,
                             help="Graph's request-id: give it to Microsoft support to trace the request.")
    hint = fields.Text("What you can do", readonly=True)


class MicrosoftCalendarSyncConflict(models.Model):
    _name = "microsoft.calendar.sync.conflict"
    _description = "Outlook Calendar Sync Conflict"
    _order = "date desc, id desc"
    _rec_name = "event_name"

    account_id = fields.Many2one("microsoft.calendar.account", "Outlook account", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    user_id = fields.Many2one(related="account_id.user_id", store=True, precompute=True, index=True, string="User")
    date = fields.Datetime("When", required=True, readonly=True, default=fields.Datetime.now, index=True)
    event_id = fields.Many2one("calendar.event", "Odoo event", ondelete="set null", readonly=True)
    event_name = fields.Char("Event", readonly=True)
    field_names = fields.Char("Fields", readonly=True)
    odoo_value = fields.Text("Odoo's value", readonly=True)
    outlook_value = fields.Text("Outlook's value", readonly=True)
    winner = fields.Selection([("odoo", "Odoo"), ("outlook", "Outlook")], "Kept", readonly=True)


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    sync_run_ids = fields.One2many("microsoft.calendar.sync.run", "account_id", "Sync log", readonly=True)

    def _mcs_run_trigger(self, trigger):
        """A scheduled pull of an account whose notified changes are still unread is a webhook run."""
        self.ensure_one()
        if trigger == "cron" and self.sudo().subscription_ids.filtered("pull_requested"):
            return "webhook"
        return trigger

    def _mcs_log_run(self, trigger, started, counts, error=None):
        """Log the run that started at ``started`` (``time.time()``) with ``counts`` and ``error``.

        Runs that did nothing do not each get a row: each account has one idle
        row, which every idle run updates. While idle runs follow each other it
        counts them (``run_count``) from the first one (``start``) to the latest
        (``last_start``); the first idle run after a run that did something
        starts it again. So the table grows only with the runs that changed
        something or failed, never with the polling interval, and an idle run
        costs the same SQL whatever came before it (issue 16). What is given
        up: the quiet periods before the current one (the rows around them show
        what happened).
        """
        self.ensure_one()
        Run = self.env["microsoft.calendar.sync.run"].sudo()
        Error = self.env["microsoft.calendar.sync.error"].sudo()
        now = datetime.fromtimestamp(started, timezone.utc).replace(tzinfo=None, microsecond=0)
        duration = round(max(time.time() - started, 0.0), 1)
        graph = {key[len("graph "):]: number for key, number in counts.items() if key.startswith("graph ") and number}
        values = {
            "start": now, "last_start": now, "duration": duration, "trigger": trigger or "cron",
            "direction": "both" if counts["pages"] else "push",
            "graph_requests": sum(graph.values()),
            "graph_detail": ", ".join(f"{kind} {number}" for kind, number in sorted(graph.items())) or False,
        }
        outcome = self._mcs_run_outcome(counts, error)
        if outcome == "idle":
            idle = self._mcs_log_idle_run(values)
            if idle:
                return idle
        if error is not None:
            Error.create(self._mcs_error_values(error, operation=self.env._("Synchronization run")))
        orphans = Error.search([("account_id", "=", self.id), ("run_id", "=", False)])
        run = Run.create({
            **values, "account_id": self.id, "outcome": outcome if outcome != "idle" else "partial",
            **{name: counts[name] for name in ACTIVITY_KEYS},
            "error_text": self.last_error if outcome in ("failed", "needs_reauth", "budget", "partial") else False,
        })
        orphans.write({"run_id": run.id})
        # the quiet period before this run is over: the next idle run starts the idle row again
        self._mcs_close_idle_period()
        return run

    def _mcs_log_idle_run(self, values):
        """Count an idle run on the account's idle row, in one statement: the row is extended
        (its quiet period goes on), started again (the previous run did something) or, for the
        account's first idle run, inserted; the same SQL in each case. Returns the idle row; an
        empty recordset when error rows a dead run left behind wait for a run: the idle row is
        left alone and the run gets a row of its own (:meth:`_mcs_log_run`).

        SQL rather than the ORM's read then write (or create): an idle run is the most frequent
        thing this module does (issue 16)."""
        Run = self.env["microsoft.calendar.sync.run"].sudo()
        Run.flush_model()  # pending ORM writes first (nothing, in a run)
        self.env.cr.execute(SQL(
            """WITH idle AS (SELECT id FROM microsoft_calendar_sync_run
                              WHERE account_id = %(account)s AND outcome = 'idle'
                           ORDER BY last_start DESC, id DESC LIMIT 1),
                    waiting AS (SELECT EXISTS (SELECT FROM microsoft_calendar_sync_error
                                                WHERE account_id = %(account)s AND run_id IS NULL) AS yes),
                    updated AS (
                        UPDATE microsoft_calendar_sync_run
                           SET start = CASE WHEN idle_period_open THEN start ELSE %(start)s END,
                               run_count = CASE WHEN idle_period_open THEN run_count + 1 ELSE 1 END,
                               graph_requests = CASE WHEN idle_period_open THEN graph_requests ELSE 0 END
                                                + %(graph_requests)s,
                               last_start = %(start)s, duration = %(duration)s, "trigger" = %(trigger)s,
                               direction = %(direction)s, graph_detail = %(graph_detail)s, idle_period_open = TRUE,
                               write_uid = %(uid)s, write_date = (now() AT TIME ZONE 'UTC')
                         WHERE id IN (SELECT id FROM idle) AND NOT (SELECT yes FROM waiting)
                     RETURNING id),
                    inserted AS (
                        INSERT INTO microsoft_calendar_sync_run
                               (account_id, user_id, outcome, idle_period_open, run_count, start, last_start,
                                duration, "trigger", direction, graph_requests, graph_detail,
                                create_uid, create_date, write_uid, write_date)
                        SELECT id, user_id, 'idle', TRUE, 1, %(start)s, %(start)s,
                               %(duration)s, %(trigger)s, %(direction)s, %(graph_requests)s, %(graph_detail)s,
                               %(uid)s, (now() AT TIME ZONE 'UTC'), %(uid)s, (now() AT TIME ZONE 'UTC')
                          FROM microsoft_calendar_account
                         WHERE id = %(account)s AND NOT EXISTS (SELECT FROM idle) AND NOT (SELECT yes FROM waiting)
                     RETURNING id)
               SELECT id FROM updated UNION ALL SELECT id FROM inserted""",
            account=self.id, uid=self.env.uid, start=values["start"], graph_requests=values["graph_requests"],
            duration=values["duration"], trigger=values["trigger"], direction=values["direction"],
            graph_detail=values["graph_detail"] or None))
        rows = Run.browse([row_id for row_id, in self.env.cr.fetchall()])
        rows.invalidate_recordset(flush=False)
        return rows

    def _mcs_close_idle_period(self):
        """The account's quiet period is over: its next idle run starts the idle row again."""
        Run = self.env["microsoft.calendar.sync.run"].sudo()
        Run.flush_model()
        self.env.cr.execute(SQL(
            """UPDATE microsoft_calendar_sync_run
                  SET idle_period_open = FALSE, write_uid = %s, write_date = (now() AT TIME ZONE 'UTC')
                WHERE account_id = %s AND outcome = 'idle' AND idle_period_open
            RETURNING id""", self.env.uid, self.id))
        Run.browse([row_id for row_id, in self.env.cr.fetchall()]).invalidate_recordset(flush=False)

    def _mcs_run_outcome(self, counts, error):
        if isinstance(error, ReauthenticationRequired):
            return "needs_reauth"
        if isinstance(error, BudgetExhausted):
            return "budget"
        if error is not None:
            return "failed"
        if counts["errors"] or counts["pending"]:
            return "partial"
        return "done" if any(counts[key] for key in ACTIVITY_KEYS) else "idle"

    def _mcs_error_values(self, error, *, operation, binding=None, attempts=0):
        """The values of an error row for ``error`` (a Graph or sign-in error, or a text)."""
        status = getattr(error, "status", None) or 0
        code = getattr(error, "code", "") or getattr(error, "error", "") or ""
        if isinstance(error, BudgetExhausted):
            code = code or "budget"
        if isinstance(error, AuthRequired):
            status = status or 401
        event = binding.event_id if binding else self.env["calendar.event"]
        return {
            "account_id": self.id, "operation": operation, "binding_id": binding.id if binding else False,
            "event_id": event.id or False, "event_name": binding.name if binding else False,
            "message": str(error), "status": status, "code": code or False,
            "request_id": getattr(error, "request_id", None) or False,
            "hint": _error_hint(self.env, status, code, attempts),
        }

    def _mcs_log_failure(self, decision, binding, error, attempts):
        """Outlook refused ``decision`` (``error``: its typed error, or a text): an error row."""
        operations = {"create": self.env._("Create in Outlook"), "update": self.env._("Update in Outlook"),
                      "delete": self.env._("Delete in Outlook")}
        self.env["microsoft.calendar.sync.error"].sudo().create(self._mcs_error_values(
            error, operation=operations.get(str(decision.outlook_op), str(decision.outlook_op)),
            binding=binding, attempts=attempts))

    def _mcs_log_conflicts(self, decision, event):
        """One conflict row per field group both sides changed."""
        self.env["microsoft.calendar.sync.conflict"].sudo().create([{
            "account_id": self.id, "event_id": event.id or False,
            "event_name": event.display_name if event else decision.odoo_ref or decision.graph_id,
            "field_names": ", ".join(conflict.fields),
            "odoo_value": ", ".join(map(str, conflict.odoo))[:VALUE_CHARS],
            "outlook_value": ", ".join(map(str, conflict.outlook))[:VALUE_CHARS],
            "winner": str(conflict.winner),
        } for conflict in decision.conflicts])

    def action_open_sync_log(self):
        """The sync log of this account (its owner's, or any for a manager)."""
        self._mcs_check_may_manage()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Outlook Sync Log"),
            "res_model": "microsoft.calendar.sync.run", "view_mode": "list,form",
            "domain": [("account_id", "in", self.ids)],
        }

    def action_open_sync_conflicts(self):
        self._mcs_check_may_manage()
        return {
            "type": "ir.actions.act_window", "name": self.env._("Outlook Conflicts"),
            "res_model": "microsoft.calendar.sync.conflict", "view_mode": "list,form",
            "domain": [("account_id", "in", self.ids)],
        }
