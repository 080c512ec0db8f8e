# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""First sync without surprises: existing meetings wait for the user's choice.

A first synchronization (a first connection, a reset to "all existing events",
a fresh start with another mailbox) would send the user's existing Odoo
meetings to Outlook, and Outlook would e-mail every attendee an invitation (a
second one: Odoo invited them already). So when the user has such meetings,
the first sync waits for a review (``microsoft.calendar.first.sync``, opened
right after the connection and from the Outlook button or the account form):
it shows what will be imported, what will be created in Outlook and which
e-mails Outlook would send to whom, and offers per past/future meetings:

* not sent (only new events go to Outlook): rows ``skipped``/``existing_meeting``;
* sent without attendees (their list in the Outlook body; nobody e-mailed, now
  or on later edits): rows flagged ``attendees_withheld`` (sync_push.py);
* sent with attendees (Outlook e-mails the invitations): future meetings only,
  and only when chosen explicitly (the choice is used once).

The wait is the crons': they do not run an account whose review is pending
(webhook runs neither). Without a choice after :data:`FIRST_SYNC_WAIT` the safe
choices apply (imports, the user's own events, past meetings without
attendees, future meetings not sent), and the account's chatter says so. A sync
started directly (scripts, tests) uses the current choices too. Users without
existing meetings are not asked: nothing could e-mail anyone.
"""

import logging
from collections import Counter
from datetime import timedelta

from outlook_sync.errors import OutlookSyncError
from outlook_sync.retry import Deadline

from odoo import api, fields, models
from odoo.fields import Command
from odoo.tools import format_datetime

from ..utils import event_mapping
from ..utils.attendee_block import split_attendees_block
from .calendar_event import FROM_OUTLOOK
from .microsoft_calendar_sync import CLIENT_TIMEOUT, RUN_BUDGET
from .sync_push import SKIP, WITH_ATTENDEES, WITHOUT_ATTENDEES

_logger = logging.getLogger(__name__)

#: How long the first sync waits for the user's review before the safe choices apply.
FIRST_SYNC_WAIT = timedelta(hours=1)
#: Seconds the review may spend asking Outlook what it would import.
PREVIEW_BUDGET = 20.0
#: Items of the one calendarView page the review reads (Graph's largest $top).
PREVIEW_TOP = 1000

PAST_CHOICES = [
    (SKIP, "Do not send them (only new events go to Outlook)"),
    (WITHOUT_ATTENDEES, "Send them without attendees (listed in the Outlook event; nobody is e-mailed)"),
]
FUTURE_CHOICES = PAST_CHOICES + [
    (WITH_ATTENDEES, "Send them with attendees (Outlook e-mails each attendee an invitation)"),
]


class MicrosoftCalendarBinding(models.Model):
    _inherit = "microsoft.calendar.binding"

    attendees_withheld = fields.Boolean(
        "Sent without attendees", readonly=True, copy=False,
        help="An existing meeting the first synchronization sent to Outlook without its attendees (they are "
             "listed in the Outlook event's body): Outlook e-mails nobody about it, now or on later edits.")

    def _mcs_addresses_outlook_would_mail(self):
        # a meeting sent without attendees: Outlook mails only the attendees it has (added in Outlook)
        if self.attendees_withheld:
            base = self._mcs_to_core().base
            return {attendee.email for attendee in base.attendees} if base else set()
        return super()._mcs_addresses_outlook_would_mail()

    def _mcs_state_text(self):
        text = super()._mcs_state_text()
        if self.attendees_withheld and self.state == "synced":
            return self.env._("%(state)s, without its attendees (listed in the Outlook event; nobody is e-mailed)",
                              state=text)
        return text


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    first_sync_past_meetings = fields.Selection(
        PAST_CHOICES, "Existing past meetings", default=WITHOUT_ATTENDEES, required=True,
        help="What the first synchronization does with the meetings (events with attendees) that already started.")
    first_sync_future_meetings = fields.Selection(
        FUTURE_CHOICES, "Existing future meetings", default=SKIP, required=True,
        help="What the first synchronization does with the meetings to come. \"With attendees\" is used once: "
             "a later first synchronization (a reset) asks again.")
    first_sync_asked_on = fields.Datetime(
        "First synchronization review asked on", readonly=True, copy=False,
        help="When the first synchronization started waiting for a review: the meetings that existed then are "
             "decided by the review, even when edited while it waited.")
    first_sync_wait_until = fields.Datetime(
        "First synchronization waits until", readonly=True, copy=False,
        help="The first synchronization waits for the user's review of what it will do with the existing "
             "meetings; without a choice by then it starts with the safe choices.")

    # ------------------------------------------------------------------ the wait

    def _mcs_first_sync_ask(self):
        """Make the first sync of these accounts wait for a review when they have existing meetings;
        returns the accounts that wait."""
        asking = self.browse()
        for account in self.sudo():
            if account.state != "connected" or account.mailbox_change or account.last_sync:
                continue
            plan = account._mcs_first_sync_plan()
            if not plan.past and not plan.future:
                if account.first_sync_wait_until:
                    account.write({"first_sync_wait_until": False, "first_sync_asked_on": False})
                continue
            now = fields.Datetime.now()
            until = now + FIRST_SYNC_WAIT
            account.write({"first_sync_wait_until": until, "first_sync_asked_on": now})
            account.message_post(body=self.env._(
                "The first synchronization waits for a review of what it does with %(count)s existing meetings "
                "(Outlook button or this form: \"Review first synchronization\"). Without a choice, it starts at "
                "%(when)s with the safe choices: past meetings without attendees, future meetings not sent; "
                "nobody is e-mailed.", count=len(plan.past) + len(plan.future),
                when=format_datetime(self.env, until, tz=account.user_id.tz, dt_format="short")))
            asking |= account
        return asking

    def _mcs_first_sync_held(self, now=None):
        """The accounts whose first sync waits for a review now (and not past its time)."""
        now = now or fields.Datetime.now()
        return self.filtered(lambda account: account.sudo().first_sync_wait_until
                             and account.sudo().first_sync_wait_until > now)

    def _mcs_first_sync_choice(self, when):
        """The choice for ``when`` ("past" or "future") meetings; past meetings are never sent with attendees."""
        if when == "past":
            choice = self.first_sync_past_meetings
            return WITHOUT_ATTENDEES if choice == WITH_ATTENDEES else choice or WITHOUT_ATTENDEES
        return self.first_sync_future_meetings or SKIP

    def _mcs_first_sync_started(self, plan):
        """The first sync enqueued its events (sync_push.py): the wait is over; "with attendees" was used."""
        account = self.sudo()
        values = {"first_sync_asked_on": False} if account.first_sync_asked_on else {}
        if account.first_sync_wait_until:
            # nobody chose in time (or a run was started directly): the current choices, safe by default
            values["first_sync_wait_until"] = False
            account.message_post(body=self.env._(
                "The first synchronization started without a review, with these choices: %(choices)s.",
                choices=account._mcs_first_sync_choices_text()))
        if account.first_sync_future_meetings == WITH_ATTENDEES:
            values["first_sync_future_meetings"] = SKIP  # an explicit choice, for this first sync only
        if values:
            account.write(values)

    def _mcs_first_sync_choices_text(self):
        past = dict(self._fields["first_sync_past_meetings"]._description_selection(self.env))
        future = dict(self._fields["first_sync_future_meetings"]._description_selection(self.env))
        return self.env._("past meetings: %(past)s; future meetings: %(future)s",
                          past=past[self._mcs_first_sync_choice("past")],
                          future=future[self._mcs_first_sync_choice("future")])

    @api.model
    def _mcs_connect(self, user, signin, signed_in):
        account = super()._mcs_connect(user, signin, signed_in)
        account._mcs_first_sync_ask()
        return account

    def action_mcs_start_afresh(self):
        accounts = self.sudo().filtered("mailbox_change")
        result = super().action_mcs_start_afresh()
        accounts._mcs_first_sync_ask()
        return result

    @api.model
    def _mcs_run_accounts(self, accounts, pull, trigger="cron"):
        # The crons leave a first sync waiting for its review alone; once its time is up the pull
        # cron runs it with the safe choices. Nothing is pushed before the first sync has decided
        # the existing meetings (also once reviewed: a push-only run before it would send the outbox
        # row of one edited meanwhile, inviting its attendees, and count as the first sync).
        if pull:
            held = accounts._mcs_first_sync_held()
        else:
            held = accounts.filtered(lambda account: account.sudo().first_sync_wait_until
                                     or account.sudo().first_sync_asked_on)
        return super()._mcs_run_accounts(accounts - held, pull, trigger)

    def _mcs_sync(self, pull=True, budget=RUN_BUDGET, trigger="cron", locked=False):
        if trigger == "webhook" and self.sudo().first_sync_wait_until:
            return Counter()  # Outlook's change waits with the rest for the first sync's review
        return super()._mcs_sync(pull=pull, budget=budget, trigger=trigger, locked=locked)

    def action_sync_now(self):
        self._mcs_check_may_manage()
        if self._mcs_first_sync_held():
            return {"type": "warning", "message": self.env._(
                "Your first synchronization waits for your review: click \"Review first synchronization\" "
                "in the Outlook menu.")}
        return super().action_sync_now()

    def _mcs_occurrence_differs(self, event, series, planned):
        # A series sent without attendees holds no attendee and lists them in its body: an occurrence
        # differs from it by what Outlook would show of the occurrence itself, not by that list.
        body, withheld = split_attendees_block(series.body_html)
        if withheld:
            own = event_mapping.odoo_event_to_core(event, base=series)
            series = series.replace(attendees=own.attendees, body_html=body)
        return super()._mcs_occurrence_differs(event, series, planned)

    # ------------------------------------------------------------------ status and review

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        account = self._mcs_for_user(user or self.env.user)
        until = account.first_sync_wait_until if account else False
        status["first_sync"] = {
            "waiting": bool(until),
            "text": self.env._(
                "Your first synchronization waits for your review of your existing meetings. Without a choice it "
                "starts at %(when)s with the safe choices (nobody is e-mailed).",
                when=format_datetime(self.env, until, dt_format="short")) if until else "",
        }
        return status

    def action_mcs_review_first_sync(self, intro=False):
        """Open the review of what the first synchronization will do (the owner or a manager)."""
        self.ensure_one()
        self._mcs_check_may_manage()
        review = self.env["microsoft.calendar.first.sync"].create({"account_id": self.id, "intro": intro})
        return {
            "type": "ir.actions.act_window", "name": self.env._("Review first synchronization"),
            "res_model": review._name, "res_id": review.id, "view_mode": "form", "views": [(False, "form")],
            "target": "new",
        }

    def _mcs_outlook_import_preview(self):
        """``(events, more, error)``: how many Outlook events of the window the first sync would import
        (a series counts once, events already linked not at all), from one calendarView request;
        ``more`` when Outlook holds more than that page; ``error`` says why Outlook could not be asked."""
        self.ensure_one()
        account = self.sudo()
        if account.state in ("not_connected", "needs_reauth") or not account.connection_key:
            return 0, False, self.env._("Outlook is not connected: sign in again to see what it holds.")
        window = self._mcs_window(self._mcs_settings_values())
        linked = set(self.env["microsoft.calendar.binding"].sudo().search(
            [("account_id", "=", self.id), ("graph_id", "!=", False)]).mapped("graph_id"))
        try:
            with account._mcs_graph() as (_signin, client):
                client.deadline = Deadline.after(PREVIEW_BUDGET)
                client.timeout = CLIENT_TIMEOUT
                body = client.get("/me/calendarView", params={
                    "startDateTime": window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "endDateTime": window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "$select": "id,type,seriesMasterId", "$top": PREVIEW_TOP, "$count": "true",
                }) or {}
        except OutlookSyncError as error:
            _logger.info("Outlook account %s: the first sync's review could not read Outlook: %s", self.id, error)
            return 0, False, self.env._(
                "Outlook could not be asked what it holds (%(error)s). The Odoo figures below are right; the "
                "first synchronization imports what Outlook has.", error=str(error))
        items = [item for item in body.get("value") or () if isinstance(item, dict) and item.get("id")]
        events = {item.get("seriesMasterId") or item["id"] for item in items} - linked
        return len(events), bool(body.get("@odata.nextLink")), False


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    def write(self, vals):
        """Outlook's copy of a meeting sent without attendees never removes its Odoo attendees, and
        the attendees list of its body does not come into the Odoo description."""
        if self.env.context.get(FROM_OUTLOOK) and {"partner_ids", "attendee_ids", "description"} & set(vals):
            withheld = self._mcs_attendees_withheld()
            if withheld:
                others = self - withheld
                if others:
                    super(CalendarEvent, others).write(vals)
                return super(CalendarEvent, withheld).write(_keep_attendees(vals))
        return super().write(vals)

    def _mcs_attendees_withheld(self):
        """These events whose meeting went to Outlook without attendees (on its own or as a series)."""
        rows = self.env["microsoft.calendar.binding"].sudo().search([
            ("attendees_withheld", "=", True), "|", ("event_id", "in", self.ids),
            ("recurrence_id", "in", self.recurrence_id.ids)])
        if not rows:
            return self.browse()
        events = set(rows.event_id.ids)
        series = set(rows.filtered(lambda row: row.kind == "series").recurrence_id.ids)
        return self.filtered(lambda event: event.id in events or event.recurrence_id.id in series)


def _keep_attendees(vals):
    """``vals`` (an inbound write) adding attendees and answers only, with the description without the
    attendees block."""
    vals = dict(vals)
    if "description" in vals and vals["description"]:
        vals["description"] = split_attendees_block(str(vals["description"]))[0] or False
    if "partner_ids" in vals:
        links = []
        for command in vals["partner_ids"] or ():
            if isinstance(command, int):
                links.append(Command.link(command))
            elif command[0] == Command.SET:
                links.extend(Command.link(partner_id) for partner_id in command[2])
            elif command[0] in (Command.LINK, Command.CREATE):
                links.append(command)
        vals["partner_ids"] = links
    if "attendee_ids" in vals:
        vals["attendee_ids"] = [command for command in vals["attendee_ids"] or ()
                                if not isinstance(command, int) and command[0] in (Command.CREATE, Command.UPDATE)]
    return vals
