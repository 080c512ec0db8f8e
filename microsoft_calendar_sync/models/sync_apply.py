# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Applying the core's decisions on both sides: Outlook first, in ``$batch``
requests, then Odoo together with the binding in the same transaction; a 412
re-reads the event and decides again; conflicts are noted on the event.
"""

import dataclasses
import logging

from outlook_sync import series as series_core
from outlook_sync.client import BatchRequest, event_path
from outlook_sync.errors import NotFound, OutlookSyncError
from outlook_sync.mapping import event_from_graph, event_to_graph, graph_meta
from outlook_sync.reconcile import Op, OutlookItem, differing_fields

from odoo import models
from odoo.tools import plaintext2html

from ..utils import event_mapping
from .calendar_event import FROM_OUTLOOK
from .microsoft_calendar_sync import _error_text, _utc

_logger = logging.getLogger(__name__)


def _worth_applying(decision):
    """Whether a decision changes anything: a side, the binding, or its pending mark."""
    previous = decision.previous
    if decision.has_side_effects or decision.forget or decision.relinked:
        return True
    if decision.merged is None:
        return False  # a side was not reported and has no base: wait
    return (previous is None or bool(previous.pending) or previous.base != decision.merged
            or previous.change_key != decision.change_key or previous.graph_id != decision.graph_id)


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    def _mcs_outlook_request(self, decision):
        if decision.outlook_op is Op.DECLINE:
            # the user leaves a meeting they are invited to: the organizer gets their answer, nobody else mail
            return BatchRequest("POST", event_path(decision.graph_id) + "/decline",
                                {"sendResponse": True, "comment": ""}, idempotent=True)
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
        decisions = [self._mcs_without_moot_decline(decision) for decision in decisions if _worth_applying(decision)]
        decisions = self._mcs_without_occurrences_of_deleted_series(store, decisions)
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
        origins = {"imported": [], "sent": []}  # rows that brought their meeting to Odoo / to Outlook
        ready = []  # (decision, response)
        for decision in decisions:
            response = responses.get(decision.key)
            if decision.outlook_op is not Op.NONE and response is None:
                if unanswered_error:
                    # no error row per event: the run's own error row says why Outlook did not answer
                    reconciler.fail(decision, unanswered_error)
                    counts["pending"] += 1
                continue
            if response is not None and not response.ok:
                status = response.status
                if status == 404 and decision.outlook_op is Op.DELETE or \
                        status in (400, 404) and decision.outlook_op is Op.DECLINE:
                    ready.append((decision, None))  # already gone (or cancelled): what we wanted
                elif status == 404 and decision.outlook_op is Op.UPDATE and depth < 2:
                    followups.append((decision, "gone"))
                elif status == 412 and depth < 2:
                    followups.append((decision, "changed"))
                else:
                    error = response.error
                    message = _error_text(error) if error else f"HTTP {status}"
                    binding = reconciler.fail(decision, message)
                    self._mcs_log_failure(decision, store.record(decision.key), error or message, binding.attempts)
                    _logger.info("Outlook %s of binding %s failed: %s", decision.outlook_op, decision.key, message)
                    counts["errors" if binding.attempts >= 5 else "pending"] += 1
                continue
            ready.append((decision, response))

        # Odoo side in bulk: one create for every new event, then updates, then deletions.
        ready = self._mcs_restore_archived(store, ready, Event_.env)
        creates = [(decision, response) for decision, response in ready if decision.odoo_op is Op.CREATE]
        created = Event_.browse()
        if creates:
            window = self._mcs_window(settings)
            vals_list = [event_mapping.core_to_odoo_values(Event_.env, series_core.anchor(decision.merged, window.start),
                                                           user=user, user_organizes=not decision.attendee_copy)
                         for decision, _response in creates]
            created = Event_.create(vals_list)
        created_by_key = dict(zip((decision.key for decision, _response in creates), created))
        for decision, response in ready:
            if decision.outlook_op is not Op.NONE:
                counts[f"outlook_{decision.outlook_op}d"] += 1  # outlook_created, _updated, _deleted
            event = created_by_key.get(decision.key)
            odoo_ref = decision.odoo_ref
            series = self._mcs_is_series(store, decision)
            if event is not None and event.recurrence_id:
                odoo_ref = event_mapping.series_ref(event.recurrence_id)
                store.recurrence_ids[odoo_ref] = event.recurrence_id.id
                counts["odoo_created"] += 1
                event = None  # a series: its row is on the recurrence, not on one event
            elif event is not None:
                odoo_ref = event_mapping.odoo_ref(event)
                counts["odoo_created"] += 1
            elif series and decision.odoo_op is not Op.NONE:
                odoo_ref, event = self._mcs_apply_odoo_series(store, decision, Event_.env, settings, counts)
                series = not event  # a series that became a single event is bound to that event now
            elif decision.odoo_op is Op.UPDATE:
                event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref).with_env(Event_.env)
                if event:
                    vals = event_mapping.core_to_odoo_values(Event_.env, decision.merged, user=user,
                                                             fields=decision.odoo_fields, record=event,
                                                             user_organizes=not decision.attendee_copy)
                    if vals:
                        event_mapping.write_odoo_values(event, vals)
                        counts["odoo_updated"] += 1
            elif decision.odoo_op is Op.DECLINE:
                event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref)
                if event:
                    self._mcs_leave_in_odoo(event.with_env(Event_.env))
                    counts["odoo_declined"] += 1
                event = None
            elif decision.odoo_op is Op.DELETE:
                event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref)
                if event:
                    event = event.with_env(Event_.env)
                    if settings["hard_delete"]:
                        event.unlink()
                    else:
                        event.active = False  # archived: recoverable
                    counts["odoo_deleted"] += 1
            if odoo_ref and event and not series:
                store.event_ids[odoo_ref] = event.id
            body = response.body if response is not None and isinstance(response.body, dict) else {}
            store.note_web_link(body)
            created = Op.CREATE in (decision.odoo_op, decision.outlook_op)
            binding = reconciler.commit(decision, odoo_ref=odoo_ref,
                                        graph_id=body.get("id") if decision.outlook_op is Op.CREATE else None,
                                        change_key=body.get("changeKey"), ical_uid=body.get("iCalUId"))
            if binding is not None and (created or decision.attendee_copy):
                self._mcs_note_meeting(store.record(decision.key), decision, created, origins)
            if binding is not None and decision.outlook_op in (Op.CREATE, Op.UPDATE) and not series:
                self._mcs_note_uninvited(store.record(decision.key))
            if decision.outlook_op is not Op.NONE:
                counts["sent"] += 1
            if decision.conflicts:
                counts["conflicts"] += len(decision.conflicts)
                self._mcs_record_conflicts(decision, event or (self._mcs_series_recurrence(
                    store.record(decision.key)).base_event_id if series else
                    event_mapping.parse_odoo_ref(self.env, odoo_ref or "")))
            counts["synced"] += 1
        # the meetings these rows brought to Odoo (claimed together) or to Outlook
        store.Binding.browse(origins["imported"])._mcs_claim_meetings()
        store.Binding.browse(origins["sent"])._mcs_mark_origin()
        if followups:
            self._mcs_followups(client, reconciler, store, followups, counts, settings, depth)

    def _mcs_restore_archived(self, store, ready, env):
        """Events to create in Odoo again (an Outlook edit won over their deletion in Odoo) that were
        archived, not deleted, come back as they were: unarchived, and their decision becomes an
        update of the fields in which Outlook's version differs, so the same records stay (their
        chatter, links and attendees' answers; a copy would be a duplicate the day the archived one
        is unarchived). A series comes back when all its events were archived.

        Returns ``ready`` with those decisions changed."""
        kept = []
        for decision, response in ready:
            record = store.record(decision.key) \
                if decision.odoo_op is Op.CREATE and not decision.attendee_copy else None
            archived = self._mcs_archived_events(record) if record is not None else None
            if archived:
                archived.with_env(env).write({"active": True, "recurrence_update": "self_only"})
                binding = store.get(decision.key)
                base = binding.base if binding is not None else None
                current = event_mapping.odoo_series_to_core(archived.recurrence_id, base=base) \
                    if record.kind == "series" else event_mapping.odoo_event_to_core(archived, base=base)
                fields = differing_fields(decision.merged, current) if current is not None \
                    else decision.odoo_fields
                decision = dataclasses.replace(decision, odoo_op=Op.UPDATE if fields else Op.NONE,
                                               odoo_fields=fields, odoo_ref=record.odoo_ref)
            kept.append((decision, response))
        return kept

    def _mcs_archived_events(self, record):
        """The Odoo event of a single-event row, or every event of a series row, when archived
        (all of them); else None."""
        if record.kind == "event" and record.odoo_ref:
            event = event_mapping.parse_odoo_ref(self.env, record.odoo_ref)
            return event if event and not event.active and not event.recurrence_id else None
        if record.kind == "series":
            recurrence = self._mcs_series_recurrence(record)
            events = recurrence.with_context(active_test=False).calendar_event_ids
            return events if events and not events.filtered("active") else None
        return None

    @staticmethod
    def _mcs_without_occurrences_of_deleted_series(store, decisions):
        """A series deleted with its changed occurrences is one deletion (one cancellation per attendee):
        the occurrences' rows are forgotten, not deleted one by one first."""
        series = {decision.graph_id for decision in decisions if decision.outlook_op is Op.DELETE
                  and getattr(store.record(decision.key), "kind", None) == "series"}
        if not series:
            return decisions
        return [dataclasses.replace(decision, outlook_op=Op.NONE) if decision.outlook_op is Op.DELETE
                and getattr(store.record(decision.key), "series_graph_id", None) in series else decision
                for decision in decisions]

    def _mcs_without_moot_decline(self, decision):
        """A decline of a meeting whose connected organizer cancels it anyway is not sent (one e-mail less)."""
        if decision.outlook_op is not Op.DECLINE:
            return decision
        event = event_mapping.parse_odoo_ref(self.env, decision.odoo_ref or "")
        if self._mcs_organizer_cancels(event, decision.ical_uid):
            return dataclasses.replace(decision, outlook_op=Op.NONE)
        return decision

    def _mcs_note_meeting(self, record, decision, created, origins):
        """After a create: the row is its meeting's origin (``origins``: ids imported / sent, claimed
        after the batch). On an invitation: the Odoo edits its organizer's mailbox did not receive,
        said on the row."""
        if record is None:
            return
        if created and record.ical_uid and record.kind in ("event", "series"):
            origins["imported" if decision.odoo_op is Op.CREATE else "sent"].append(record.id)
        if decision.attendee_copy and record.kind in ("event", "series"):
            note = self.env._(
                "changed in Odoo (%(fields)s) but not sent to Outlook: only the organizer's mailbox can change "
                "this meeting", fields=", ".join(sorted(decision.withheld_fields))) \
                if decision.withheld_fields else False
            if record.not_sent_note != note:
                record.not_sent_note = note

    def _mcs_note_uninvited(self, record):
        """Attendees Outlook cannot invite (no e-mail address in Odoo), said on the row until they have one."""
        if record is None or not record.event_id:
            return
        names = record.event_id.partner_ids.filtered(lambda partner: not partner.email).mapped("display_name")
        note = self.env._("not invited in Outlook (no e-mail address): %(names)s", names=", ".join(names)) \
            if names else False
        if record.sync_note != note:
            record.sync_note = note

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
        """A chatter note on the event and a row of the conflicts list: which fields both sides changed
        and who won."""
        self._mcs_log_conflicts(decision, event)
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
