# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Recurring series, both ways: one status row per series and one per changed occurrence.

A series is reconciled like a single event (the core's three-way merge), on
its master's fields and pattern (:func:`~..utils.event_mapping.odoo_series_to_core`
on the Odoo side, the series master on Outlook's). What belongs to single
occurrences is settled here:

* Outlook -> Odoo: every series a delta page touches is read once (a GET of
  its master in ``$batch``, with ``cancelledOccurrences`` and the changed
  occurrences ``exceptionOccurrences``: no ``/instances`` request); cancelled
  occurrences leave Odoo, changed occurrences are written on their Odoo
  occurrence (which then stops following the series) and get a row of their
  own, reconciled field by field like any event afterwards.
* Odoo -> Outlook: occurrences deleted in Odoo are cancelled in Outlook (the
  occurrence is found by one ``/instances`` request over its day, in
  ``$batch``); an occurrence changed on its own in Odoo is written on its
  Outlook occurrence (which becomes an exception there).
"""

import json
import logging
import uuid
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from outlook_sync.client import BatchRequest, event_path, instances_path
from outlook_sync.errors import OutlookSyncError
from outlook_sync.mapping import (
    MEETING_URL_PROPERTY_ID,
    ODOO_REF_PROPERTY_ID,
    MappingError,
    event_from_graph,
    graph_meta,
    parse_instant,
)
from outlook_sync.model import Recurrence, field_equal
from outlook_sync.reconcile import Binding, Op, OutlookItem
from outlook_sync import series as series_core
from outlook_sync.recurrence import local_start
from outlook_sync.timezones import get_zone

from odoo import fields, models

from ..utils import event_mapping, recurrence_mapping
from .calendar_event import FROM_OUTLOOK
from .microsoft_calendar_binding import OUTBOX_MARK, backoff
from .microsoft_calendar_sync import _error_text, _utc
from .sync_pull import SKIP_UNREADABLE

_logger = logging.getLogger(__name__)

#: What a series master is read with: its fields, its cancelled and changed occurrences, our properties.
SERIES_QUERY = urlencode({
    "$select": "subject,body,start,end,originalStartTimeZone,originalEndTimeZone,isAllDay,location,attendees,"
               "organizer,showAs,sensitivity,isReminderOn,reminderMinutesBeforeStart,categories,recurrence,type,"
               "seriesMasterId,iCalUId,changeKey,lastModifiedDateTime,createdDateTime,webLink,transactionId,"
               "isCancelled,isOnlineMeeting,onlineMeeting,cancelledOccurrences,isOrganizer,responseStatus",
    "$expand": f"exceptionOccurrences,singleValueExtendedProperties($filter=id eq '{ODOO_REF_PROPERTY_ID}' "
               f"or id eq '{MEETING_URL_PROPERTY_ID}')",
})
#: The fields an occurrence can hold apart from its series (times are compared on their own).
OCCURRENCE_FIELDS = ("subject", "body_html", "location", "online_meeting_url", "attendees", "show_as",
                     "sensitivity", "reminder_minutes", "categories")
#: Graph statuses worth asking again later (the client already retried them within the run).
_TRANSIENT = (429, 500, 502, 503, 504)


class SeriesReadFailed(OutlookSyncError):
    """Outlook could not say what a series is now: the page is not acknowledged, the next run reads it again."""


def _naive_utc(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _agreed_cancelled(record):
    """The local days of a series row's cancelled occurrences both sides agree on."""
    return {date.fromisoformat(day) for day in json.loads(record.cancelled_dates or "[]")}


def _planned_day(row, zone):
    """The local day a changed occurrence's row says its series planned it on."""
    return row.original_start.replace(tzinfo=timezone.utc).astimezone(zone).date()


def _local_date(event, zone):
    """The local day an Odoo event of a series falls on (its own date for an all-day event)."""
    if event.allday:
        return event.start_date
    return event.start.replace(tzinfo=timezone.utc).astimezone(zone).date()


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    series_extended_on = fields.Date(
        readonly=True, copy=False,
        help="When the account's long series last got the occurrences the moving sync window reaches.")

    # ------------------------------------------------------------------ the Odoo side of a series

    @staticmethod
    def _mcs_is_series(store, decision):
        record = store.record(decision.key)
        if record is not None and record.kind == "series":
            return True
        merged = decision.merged if decision.merged is not None else (
            decision.previous.base if decision.previous is not None else None)
        return merged is not None and merged.recurrence is not None

    def _mcs_series_recurrence(self, record):
        """The recurrence of a series row, also after Odoo rebuilt it under another id."""
        Recurrence_ = self.env["calendar.recurrence"].sudo()
        if record is None:
            return Recurrence_
        recurrence = record.recurrence_id.sudo().exists()
        if not recurrence and record.base_event_id:
            recurrence = record.base_event_id.sudo().recurrence_id
            if recurrence:
                record.recurrence_id = recurrence
        return recurrence

    def _mcs_series_became_single(self, record):
        """A series whose recurrence Odoo broke ("all events" made non-recurring) keeps its first
        event as a single event: the row becomes that event's, so Outlook's series stops recurring
        (a PATCH) instead of being deleted while a new event is created."""
        event = record.base_event_id
        if self._mcs_series_recurrence(record) or not event or not event.active or event.recurrence_id:
            return False
        record.write({"kind": "event", "event_id": event.id, "base_event_id": False, "cancelled_dates": False,
                      "odoo_ref": event_mapping.odoo_ref(event)})
        return True

    def _mcs_series_odoo_item_event(self, record, base):
        """The core form of a series row's Odoo side, or ``None`` if the series is gone from Odoo."""
        recurrence = self._mcs_series_recurrence(record)
        if not recurrence:
            return None
        if record.base_event_id != recurrence.base_event_id:
            former = record.base_event_id
            record.base_event_id = recurrence.base_event_id
            if former and former.active and not former.recurrence_id:
                former._mcs_mark_pending()  # a first event that left its series is an event of its own now
        return event_mapping.odoo_series_to_core(recurrence, base=base)

    def _mcs_apply_odoo_series(self, store, decision, env, settings, counts):
        """Apply an Odoo update or deletion decided for a series row; returns its Odoo reference and,
        when the series became a single event, that event.

        An Outlook event that became a series turns its Odoo event into a recurrence, and a series
        that stopped recurring keeps its first event as a single event (the others leave, as in
        Outlook); a change of the pattern or times drops the changed and cancelled occurrences on
        both sides (Outlook and Odoo both rebuild the series then)."""
        record = store.record(decision.key)
        odoo_ref, single = decision.odoo_ref, env["calendar.event"]
        merged = decision.merged
        if decision.odoo_op is Op.DECLINE:  # the user left a series they are invited to
            self._mcs_leave_in_odoo(self._mcs_row_events(record))
            return odoo_ref, single
        if decision.odoo_op is Op.DELETE:
            recurrence = self._mcs_series_recurrence(record)
            if recurrence:
                self._mcs_delete_odoo_series(recurrence, settings["hard_delete"], env)
                counts["odoo_deleted"] += 1
            return odoo_ref, single
        if record is not None and record.kind == "event":
            event = record.event_id.with_env(env)
            if event:
                vals = event_mapping.core_to_odoo_values(env, merged, user=self.user_id,
                                                         fields=decision.odoo_fields | {"recurrence"}, record=event)
                event_mapping.write_odoo_values(event, vals)
                odoo_ref = event_mapping.series_ref(event.recurrence_id)
                store.recurrence_ids[odoo_ref] = event.recurrence_id.id
                counts["odoo_updated"] += 1
            return odoo_ref, single
        recurrence = self._mcs_series_recurrence(record)
        if not recurrence:
            return odoo_ref, single
        if {"recurrence", "start", "end", "all_day"} & decision.odoo_fields:
            self._mcs_forget_occurrences(store, decision.graph_id)
            record.cancelled_dates = False
        if merged.recurrence is None:
            single = recurrence.base_event_id.with_env(env)
            vals = event_mapping.core_to_odoo_values(env, merged, user=self.user_id, fields=decision.odoo_fields,
                                                     record=single)
            vals.pop("attendee_ids", None)
            single.write({**vals, "recurrency": False, "recurrence_update": "all_events"})
            counts["odoo_updated"] += 1
            return event_mapping.odoo_ref(single), single
        self._mcs_write_odoo_series(recurrence, merged, decision.odoo_fields, env)
        store.recurrence_ids[odoo_ref] = self._mcs_series_recurrence(record).id
        counts["odoo_updated"] += 1
        return odoo_ref, single

    def _mcs_write_odoo_series(self, recurrence, merged, core_fields, env):
        """Outlook changed a series: its pattern or times rebuild the Odoo recurrence (as Odoo's
        "all events" edit does; Outlook too drops the changed occurrences then), other fields
        are written on the events that follow the series (changed occurrences keep theirs)."""
        base_event = recurrence.base_event_id.with_env(env)
        vals = event_mapping.core_to_odoo_values(env, merged, user=self.user_id, fields=core_fields,
                                                 record=base_event)
        if {"start", "end", "all_day", "recurrence", "time_zone"} & set(core_fields):
            vals.pop("attendee_ids", None)
            base_event.write({**vals, "recurrence_update": "all_events"})
            return
        followers = event_mapping.series_events(recurrence.with_env(env)).filtered("follow_recurrence")
        event_mapping.write_odoo_values(followers | base_event, vals)

    def _mcs_delete_odoo_series(self, recurrence, hard_delete, env):
        events = recurrence.with_env(env).with_context(active_test=False).calendar_event_ids
        if hard_delete:
            events.unlink()
            recurrence.with_env(env).unlink()
        else:
            events.write({"active": False})  # archived: recoverable

    # ------------------------------------------------------------------ Outlook -> Odoo

    def _mcs_pull_series(self, client, reconciler, store, series_ids, counts, settings):
        """Read the series a page touched and apply them: the series, then their occurrences."""
        series_ids = sorted(series_ids)
        answers = client.batch([BatchRequest("GET", f"{event_path(graph_id)}?{SERIES_QUERY}")
                                for graph_id in series_ids])
        items, deleted, occurrences_by_series = [], [], {}
        own_answers, raws = {}, {}  # the user's own answers on series they are only invited to
        for graph_id, answer in zip(series_ids, answers):
            record = store.record_by_graph_id(graph_id)
            if answer.status == 404:
                if record is not None and record.state != "skipped":
                    deleted.append(graph_id)
                continue
            if not answer.ok or not isinstance(answer.body, dict):
                error = answer.error
                if answer.status in _TRANSIENT or not answer.status:
                    raise SeriesReadFailed(_error_text(error) if error else f"HTTP {answer.status}")
                store.skip(reason=SKIP_UNREADABLE, graph_id=graph_id,
                           error=_error_text(error) if error else f"HTTP {answer.status}")
                counts["skipped"] += 1
                continue
            payload = answer.body
            meta = graph_meta(payload)
            store.note_web_link(payload)
            try:
                event, warnings = event_from_graph(payload, allow_remote_images=settings["allow_remote_images"])
                if event.recurrence is None:
                    raise MappingError("; ".join(warnings) or "the series has no pattern this sync can read")
            except (MappingError, ValueError) as error:
                _logger.warning("Outlook series %s of account %s cannot be read, skipped: %s", graph_id, self.id, error)
                store.skip(reason=SKIP_UNREADABLE, graph_id=graph_id, error=str(error), payload=payload)
                counts["skipped"] += 1
                continue
            if record is not None and record.state == "skipped":
                store.delete(record.key)  # readable now
                record = None
            known = store.get(record.key) if record is not None else None
            if "singleValueExtendedProperties" not in payload and known is not None and known.base is not None:
                event = event.replace(odoo_ref=known.base.odoo_ref)
            series = event.replace(recurrence=Recurrence(event.recurrence.rrule, event.recurrence.time_zone))
            if known is not None:
                series = event_mapping.same_series_start(series, known.base)
            items.append(OutlookItem(meta.id, series, _utc(meta.last_modified), meta.change_key,
                                     meta.ical_uid, payload.get("transactionId") or "",
                                     attendee_copy=not meta.is_organizer))
            if not meta.is_organizer:
                own_answers[meta.id], raws[meta.id] = meta.response, payload
            occurrences_by_series[meta.id] = (event.recurrence.cancelled, payload.get("exceptionOccurrences") or [])
        self._mcs_apply_outlook(client, reconciler, store, items, deleted, counts, settings, raws=raws)
        if own_answers:
            self._mcs_apply_answers(store, own_answers)
        for graph_id in deleted:
            self._mcs_forget_occurrences(store, graph_id)
        pulled = []
        for graph_id, (cancelled, exceptions) in occurrences_by_series.items():
            record = store.record_by_graph_id(graph_id)
            if record is not None and record.exists() and record.kind == "series" and record.state == "synced":
                self._mcs_note_inexact_pattern(store, record)
                self._mcs_pull_occurrences(client, reconciler, store, record, cancelled, exceptions, counts, settings)
                pulled.append(record)
        # the Odoo side's deleted occurrences, once Outlook's cancellations are agreed
        self._mcs_push_series_occurrences(client, store, pulled, counts, self._mcs_window(settings))

    def _mcs_note_inexact_pattern(self, store, record):
        """Say so on the series' row when Odoo cannot hold Outlook's pattern exactly (Odoo shows the
        closest one; Outlook keeps its own, and Odoo's approximation is never sent back)."""
        binding = store.get(record.key)
        series = binding.base if binding is not None else None
        if series is None or series.recurrence is None:
            return
        start_local = local_start(series.start, series.recurrence.time_zone)
        _values, exact = recurrence_mapping.rrule_to_odoo(series.recurrence.rrule, start_local,
                                                          recurrence_mapping.week_start(self.env))
        note = False if exact else self.env._(
            "Odoo cannot repeat this series exactly as Outlook does (%(rule)s): Odoo shows the closest pattern, "
            "Outlook keeps its own.", rule=series.recurrence.rrule)
        if record.sync_note != note:
            record.sync_note = note

    def _mcs_forget_occurrences(self, store, series_graph_id):
        for record in store.search([("series_graph_id", "=", series_graph_id)]):
            store.delete(record.key)

    def _mcs_pull_occurrences(self, client, reconciler, store, record, cancelled, exceptions, counts, settings):
        """Cancelled occurrences leave Odoo; changed occurrences land on their Odoo occurrence."""
        recurrence = self._mcs_series_recurrence(record)
        if not recurrence:
            return
        window = self._mcs_window(settings)
        Event_ = self.env["calendar.event"].sudo().with_context(
            **event_mapping.QUIET_CONTEXT, **{FROM_OUTLOOK: True, "mail_notrack": True, "tracking_disable": True})
        zone = get_zone(recurrence.event_tz or "UTC")
        rows = store.search([("series_graph_id", "=", record.graph_id)])  # the series' changed occurrences
        agreed = _agreed_cancelled(record)
        newly = set(cancelled) - agreed
        if newly:
            by_event = {row.event_id.id: row for row in rows}
            gone = event_mapping.series_events(recurrence).filtered(
                lambda event: _local_date(event, zone) in newly and (event.follow_recurrence or event.id in by_event))
            for event in gone:
                if event.id in by_event:
                    store.delete(by_event[event.id].key)
            rows = rows.exists()
            if settings["hard_delete"]:
                gone.with_env(Event_.env).unlink()
            else:
                gone.with_env(Event_.env).write({"active": False})
            counts["odoo_deleted"] += len(gone)
        record.cancelled_dates = json.dumps(sorted(day.isoformat() for day in agreed | set(cancelled)))
        bound = set(rows.event_id.ids)

        bound_items, unbound = [], []
        for payload in exceptions:
            if not isinstance(payload, dict) or not payload.get("id"):
                continue
            try:
                event, _warnings = event_from_graph(payload, allow_remote_images=settings["allow_remote_images"])
            except (MappingError, ValueError) as error:
                store.skip(reason=SKIP_UNREADABLE, graph_id=payload["id"], error=str(error), payload=payload)
                counts["skipped"] += 1
                continue
            meta = graph_meta(payload)
            row = store.record_by_graph_id(meta.id)
            original = parse_instant(payload.get("originalStart"))
            if row is None and not self._mcs_in_window(event) and (
                    original is None or not window.start <= original < window.end):
                continue  # a changed occurrence outside the sync window, like any event there: not synced
            event = event.without_odoo_links()
            item = OutlookItem(meta.id, event, _utc(meta.last_modified), meta.change_key, meta.ical_uid,
                               attendee_copy=record.attendee_copy)
            if row is not None and row.state != "skipped" and row.event_id.active:
                if row.change_key != meta.change_key:
                    bound_items.append(item)
                continue
            if row is not None:
                store.delete(row.key)
            if original is not None and self._mcs_link_waiting_occurrence(store, record, item, original, rows):
                bound_items.append(item)  # changed on both sides before they met: merged field by field
            else:
                unbound.append((item, payload.get("originalStart")))
        if bound_items:
            self._mcs_apply_outlook(client, reconciler, store, bound_items, [], counts, settings)
        for item, original in unbound:
            self._mcs_bind_exception(store, record, recurrence, item, original, Event_, counts, bound)

    @staticmethod
    def _mcs_planned_occurrence(store, series_graph_id, original_start):
        """The occurrence as its series planned it at ``original_start`` (aware UTC): the base of an
        occurrence row, so that changes made to it on both sides before they met are merged field by
        field (``None`` when the series is not agreed yet)."""
        series_record = store.record_by_graph_id(series_graph_id)
        binding = store.get(series_record.key) if series_record is not None else None
        series = binding.base if binding is not None else None
        if series is None or series.recurrence is None:
            return None
        return series_core.planned_occurrence(series, original_start)

    def _mcs_link_waiting_occurrence(self, store, record, item, original_start, rows):
        """An occurrence changed in Odoo whose row (among the series' ``rows``) waits for its Outlook
        occurrence, which Outlook changed too: the row is linked to it (with the planned occurrence as
        base) and reconciled."""
        naive = _naive_utc(original_start)
        waiting = rows.filtered(lambda row: not row.graph_id and row.original_start == naive)[:1]
        if not waiting or not waiting.event_id.active:
            return False
        planned = self._mcs_planned_occurrence(store, record.graph_id, original_start)
        store.save(Binding(key=waiting.key, odoo_ref=waiting.odoo_ref, graph_id=item.graph_id, ical_uid=item.ical_uid,
                           change_key="", base=planned or item.event, pending=OUTBOX_MARK,
                           attendee_copy=record.attendee_copy))
        return True

    def _mcs_bind_exception(self, store, record, recurrence, item, original, Event_, counts, bound):
        """An occurrence changed in Outlook that Odoo does not know as such: written on the Odoo
        occurrence planned at the same time (created if Odoo has none there), with a row of its own.
        ``bound``: the ids of the series' events that have a row (this one is added)."""
        original_start = parse_instant(original)
        if original_start is None:
            store.skip(reason=SKIP_UNREADABLE, graph_id=item.graph_id,
                       error=f"changed occurrence without a readable originalStart: {original!r}")
            counts["skipped"] += 1
            return
        zone = get_zone(recurrence.event_tz or "UTC")
        day = original_start.astimezone(zone).date()
        naive = _naive_utc(original_start)
        candidates = event_mapping.series_events(recurrence).filtered(
            lambda event: event.id not in bound and (
                event.start == naive if not event.allday else event.start_date == day))
        values = event_mapping.core_to_odoo_values(Event_.env, item.event, user=self.user_id)
        values.pop("event_tz", None)
        if candidates:
            event = candidates[0].with_env(Event_.env)
            event_mapping.write_odoo_values(event, {**values, "follow_recurrence": False})
            counts["odoo_updated"] += 1
        else:
            event = Event_.create({**values, "recurrence_id": recurrence.id, "recurrency": True,
                                   "follow_recurrence": False})
            counts["odoo_created"] += 1
        bound.add(event.id)
        odoo_ref = event_mapping.odoo_ref(event)
        store.event_ids[odoo_ref] = event.id
        row = store.save(Binding(key=uuid.uuid4().hex, odoo_ref=odoo_ref, graph_id=item.graph_id,
                                 ical_uid=item.ical_uid, change_key=item.change_key, base=item.event,
                                 attendee_copy=record.attendee_copy))
        row.write({"kind": "occurrence", "original_start": naive, "series_graph_id": record.graph_id,
                   "recurrence_id": recurrence.id})
        counts["synced"] += 1

    # ------------------------------------------------------------------ the moving window

    def _mcs_extend_series(self, store, window, counts):
        """Once a day: Odoo makes at most 720 events of a series, so a long series (without end, or
        longer than that) gets, in Odoo, the occurrences the sync window reaches past its last event,
        as Odoo would have made them (Outlook has them all already: nothing is sent)."""
        today = fields.Date.today()  # in UTC: the user's own day would cost two reads every run
        if self.series_extended_on == today:
            return
        self.series_extended_on = today
        Event_ = self.env["calendar.event"].sudo().with_context(
            **event_mapping.QUIET_CONTEXT, **{FROM_OUTLOOK: True, "mail_create_nolog": True,
                                               "mail_create_nosubscribe": True, "tracking_disable": True})
        planned_days = {}  # series graph id -> the rows of its changed occurrences, read once
        for row in store.search([("kind", "=", "occurrence"), ("original_start", "!=", False)]):
            planned_days.setdefault(row.series_graph_id, []).append(row)
        for record in store.search([("kind", "=", "series"), ("state", "=", "synced")]):
            binding = store.get(record.key)
            recurrence = self._mcs_series_recurrence(record)
            series = binding.base if binding is not None else None
            if not recurrence or series is None or series.recurrence is None:
                continue
            zone = get_zone(series.recurrence.time_zone)
            rule = self._mcs_held_rule(series)
            events = event_mapping.series_events(recurrence)
            if not events or not series_core.longer_than(rule, recurrence_mapping.ODOO_MAX_EVENTS):
                continue  # Odoo made every occurrence
            last = events[-1]
            last_local = (datetime.combine(last.start_date, time()) if last.allday
                          else last.start.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None))
            skip = _agreed_cancelled(record) | {_planned_day(row, zone) for row in planned_days.get(record.graph_id, ())}
            missing = series_core.extension(rule, last_local, window.end, series.recurrence.time_zone, skip)
            if not missing:
                continue
            [values] = recurrence.base_event_id.copy_data()
            duration = last.stop - last.start
            vals_list = []
            for moment in missing:
                if last.allday:
                    day = moment.date()
                    vals_list.append(dict(values, start=datetime.combine(day, time(8)),
                                          stop=datetime.combine(day + (last.stop_date - last.start_date), time(18)),
                                          start_date=day, stop_date=day + (last.stop_date - last.start_date),
                                          recurrence_id=recurrence.id, follow_recurrence=True))
                else:
                    start = _naive_utc(moment.replace(tzinfo=zone))
                    vals_list.append(dict(values, start=start, stop=start + duration,
                                          recurrence_id=recurrence.id, follow_recurrence=True))
            Event_.create(vals_list)
            counts["odoo_created"] += len(vals_list)
            if record.sync_note:
                self._mcs_note_inexact_pattern(store, record)  # the "720 occurrences" note no longer holds

    # ------------------------------------------------------------------ Odoo -> Outlook

    def _mcs_push_series_occurrences(self, client, store, records, counts, window):
        """Cancel in Outlook the occurrences deleted in Odoo of these series rows; a row whose
        cancellations Outlook did not confirm stays pending and is tried again with backoff. A series the
        user is only invited to is changed by its organizer's mailbox only."""
        for record in (record for record in records if not record.attendee_copy):
            if record.state == "synced" and not self._mcs_push_occurrences(
                    client, store, record, counts, window):
                record.write({"state": "pending", "pending": OUTBOX_MARK, "attempts": record.attempts + 1,
                              "next_retry": fields.Datetime.now() + backoff(record.attempts + 1)})

    def _mcs_push_occurrences(self, client, store, record, counts, window):
        """Odoo's occurrences of a synced series, to Outlook; returns whether Outlook answered.

        Odoo keeps neither where a changed occurrence was planned nor which occurrences
        were deleted, so the window's pattern dates are compared with the Odoo events:

        * an occurrence that differs from its series (changed before the series reached
          Outlook, or by a write that bypassed "this event") gets a row of its own, sent
          by the next push as a change of its Outlook occurrence;
        * a pattern date with no Odoo event is an occurrence Odoo deleted: it is cancelled
          in Outlook (found by one ``/instances`` request over its day, in ``$batch``);
          the dates both sides agree on are on the row."""
        recurrence = self._mcs_series_recurrence(record)
        binding = store.get(record.key)
        if not recurrence or binding is None or binding.base is None or binding.base.recurrence is None \
                or not record.graph_id:
            return True
        base = binding.base
        zone = get_zone(base.recurrence.time_zone)
        events = self.env["calendar.event"].sudo().search([("recurrence_id", "=", recurrence.id)])
        if not events:
            return True
        rows = store.search([("series_graph_id", "=", record.graph_id)])
        bound = set(rows.event_id.ids)
        by_id = {event.id: event for event in events}
        plan = series_core.plan_occurrences(
            base, self._mcs_held_rule(base), window.start, window.end,
            [series_core.SideOccurrence(event.id, _local_date(event, zone), event.follow_recurrence)
             for event in events if event.id not in bound],
            bound_days={_planned_day(row, zone) for row in rows if row.original_start and row.event_id.active},
            agreed_cancelled=_agreed_cancelled(record),
            cap=recurrence_mapping.ODOO_MAX_EVENTS,
            differs=lambda key, planned: self._mcs_occurrence_differs(by_id[key], base, planned))
        if plan.beyond and not record.sync_note:  # a pattern Odoo cannot hold says more, and is said first
            record.sync_note = self.env._("Odoo holds 720 occurrences of a series at most: the occurrences after "
                                          "%(day)s are in Outlook only.", day=plan.last_day)
        new_rows = [self._mcs_occurrence_row(record, recurrence, by_id[key], planned)
                    for key, planned in plan.changed]
        if new_rows:
            for row in store.Binding.create(new_rows):
                store._index(row)
        todo = list(plan.deleted)
        if not todo:
            return True
        lookups = [BatchRequest("GET", instances_path(
            record.graph_id, datetime.combine(day, time(), zone), datetime.combine(day, time(), zone) + timedelta(days=1),
            select="id,type,originalStart,start")) for day in todo]
        answers = client.batch(lookups)
        deletes, days = [], []
        for day, answer in zip(todo, answers):
            if not answer.ok:
                return False
            found = [item for item in (answer.body or {}).get("value", [])
                     if isinstance(item, dict) and item.get("type") in ("occurrence", "exception")]
            if found:
                deletes.append(BatchRequest("DELETE", event_path(found[0]["id"])))
            days.append(day)
        results = client.batch(deletes) if deletes else []
        if any(not result.ok and result.status != 404 for result in results):
            return False
        record.cancelled_dates = json.dumps(sorted(day.isoformat() for day in _agreed_cancelled(record) | set(days)))
        counts["outlook_deleted"] += len(deletes)
        counts["sent"] += len(deletes)
        return True

    def _mcs_occurrence_row(self, record, recurrence, event, planned):
        """Values of the row of an Odoo occurrence changed on its own, planned at ``planned``."""
        return {"key": uuid.uuid4().hex, "account_id": self.id, "event_id": event.id, "kind": "occurrence",
                "odoo_ref": event_mapping.odoo_ref(event), "original_start": _naive_utc(planned),
                "series_graph_id": record.graph_id, "recurrence_id": recurrence.id,
                "state": "pending", "pending": OUTBOX_MARK}

    @staticmethod
    def _mcs_occurrence_differs(event, series, planned):
        """Whether an Odoo occurrence says something its series does not (it must be sent on its own)."""
        core = event_mapping.odoo_event_to_core(event, base=series)
        expected = series_core.planned_occurrence(series, planned)
        if core.all_day != series.all_day or core.start != expected.start or core.end != expected.end:
            return True
        return any(not field_equal(name, getattr(core, name), getattr(series, name)) for name in OCCURRENCE_FIELDS)

    def _mcs_held_rule(self, series):
        """The dateutil rule Odoo's events of ``series`` follow: its own, or Odoo's closest form of it."""
        start_local = local_start(series.start, series.recurrence.time_zone)
        held = recurrence_mapping.held_rrule(series.recurrence.rrule, start_local, series.recurrence.time_zone,
                                             recurrence_mapping.week_start(self.env))
        return series_core.expand(series, held)

    def _mcs_find_occurrences(self, client, store, records):
        """Occurrences changed on their own in Odoo that Outlook does not know as such yet: their
        Outlook occurrence (one ``/instances`` request over its planned day, in ``$batch``) becomes
        the other side of the row, as the series had it; the push then writes the Odoo changes on it."""
        todo = [record for record in records
                if record.kind == "occurrence" and not record.graph_id and record.original_start]
        items = []
        if not todo:
            return items
        answers = client.batch([BatchRequest("GET", instances_path(
            record.series_graph_id, record.original_start - timedelta(minutes=1),
            record.original_start + timedelta(days=1))) for record in todo])
        for record, answer in zip(todo, answers):
            found = None
            for item in (answer.body or {}).get("value", []) if answer.ok and isinstance(answer.body, dict) else []:
                when = parse_instant(item.get("originalStart")) if isinstance(item, dict) else None
                if when is not None and _naive_utc(when) == record.original_start:
                    found = item
            if found is None:
                message = self.env._("Its occurrence in Outlook could not be found (%(error)s); "
                                     "it is looked for again at the next synchronization.",
                                     error=_error_text(answer.error) if answer.error else f"HTTP {answer.status}")
                record.write({"last_error": message, "attempts": record.attempts + 1,
                              "next_retry": fields.Datetime.now() + backoff(record.attempts + 1)})
                continue
            try:
                event, _warnings = event_from_graph(found)
            except (MappingError, ValueError):
                continue
            meta = graph_meta(found)
            event = event.without_odoo_links()
            # the base is the occurrence as planned: what Outlook changed on it meanwhile is merged too
            planned = self._mcs_planned_occurrence(
                store, record.series_graph_id, record.original_start.replace(tzinfo=timezone.utc))
            store.save(Binding(key=record.key, odoo_ref=record.odoo_ref, graph_id=meta.id, ical_uid=meta.ical_uid,
                               change_key=meta.change_key, base=planned or event, pending=OUTBOX_MARK))
            items.append(OutlookItem(meta.id, event, _utc(meta.last_modified), meta.change_key, meta.ical_uid))
        return items
