# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Outlook -> Odoo: delta rounds over the sync window of one account.

Each delta page is read into the core's items (unreadable payloads are
skipped and shown; the series it touches are read whole, sync_series.py), ``@removed`` entries are checked with a GET
(a deletion, or a move out of the window?), a fresh round (first sync, 410,
evicted token) settles the bound events it never listed, and the decisions are
applied (sync_apply.py) with a commit point after each page and its resume link.
"""

import dataclasses
import logging
from datetime import datetime, timedelta, timezone

from outlook_sync.client import BatchRequest, DeltaPage, DeltaWindow, event_path
from outlook_sync.mapping import MappingError, event_from_graph, graph_meta, is_removed
from outlook_sync.reconcile import OdooItem, OutlookItem, Reconciler

from odoo import fields, models

from ..utils import event_mapping
from .microsoft_calendar_binding import BindingStoreAdapter
from .microsoft_calendar_sync import _error_text, _utc

_logger = logging.getLogger(__name__)

#: Delta page size asked of Graph (``Prefer: odata.maxpagesize``). A recurring series lists every
#: occurrence of the window (as a small stub), so a calendar of weekly series is mostly stubs: 500 keeps
#: a first sync of 100 yearly series to a dozen pages. Graph's maximum is not documented; the header is
#: a preference (RFC 7240), and Graph is observed to return more than asked when series expand
#: (microsoftgraph/microsoft-graph-docs#7352, msgraph-sdk-dotnet#3070), never to refuse it.
PAGE_SIZE = 500
SKIP_UNREADABLE = "unreadable"


def _is_next_link(link):
    """Whether a stored link continues a round (a nextLink, ``$skiptoken``) rather than starting
    the next one (a deltaLink, ``$deltatoken``): delta-query-events.md, reference/graph-and-msal.md."""
    return bool(link) and "deltatoken" not in link.lower()


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    new_events_since = fields.Datetime(
        "Only events created since", readonly=True, copy=False,
        help="Set by a reset to \"synchronize only new events\": Outlook events created before it that "
        "Odoo does not know are not imported.")

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
        # A round resumed from an earlier run's nextLink lists the events as they were when the
        # round began (its pages are frozen then); what changed since, deletions included, shows
        # in the next round only. That next round runs now, once, from the round's deltaLink
        # (Graph: the deltaLink may be used right after the round, delta-query-overview.md), so
        # the run knows of every change made before it started, as a run with a current link does.
        catch_up = _is_next_link(self.delta_link)
        while True:
            last_page = self._mcs_pull_round(client, reconciler, store, window, counts, settings)
            if not catch_up or last_page is None or last_page.fresh_round:
                break  # a fresh round lists the window as it is now: nothing to catch up
            catch_up = False
        # once a day: rows saved before they kept the iCalUId learn it (sync_meetings.py); long series
        # get the occurrences the moving window reaches (sync_series.py)
        if self.series_extended_on != fields.Date.today():
            self._mcs_learn_ical_uids(client)
        self._mcs_extend_series(store, window, counts)

    def _mcs_pull_round(self, client, reconciler, store, window, counts, settings):
        """One delta round from the stored link (or a fresh one); returns its last page."""
        fresh_started = False
        page = None
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
                store.unseen_left = True
            self._mcs_apply_page(client, reconciler, store, page, counts, settings)
            if page.delta_link:
                self._mcs_settle_unseen(client, reconciler, store, counts, settings)
            self.delta_link = page.resume_link
            counts["pages"] += 1
            self._mcs_commit()
        return page

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
        if not store.unseen_left or not store.search([("delta_unseen", "=", True)]):
            return
        store.unseen_left = False
        unseen = [record for record in store.records.values() if record.delta_unseen]
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
        """Ask again about the deletions that could not be checked. The same query finds whether
        bound events wait for the end of a full round an earlier run left unfinished: if none
        does and this round is not a full one, its end has none to look for."""
        flagged = store.search(["|", ("deletion_check", "=", True), ("delta_unseen", "=", True)],
                               ["deletion_check", "delta_unseen", "graph_id", "state"])
        store.unseen_left = any(flagged.mapped("delta_unseen"))
        graph_ids = [row.graph_id for row in flagged if row.deletion_check and row.graph_id and row.state != "skipped"]
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
        if not store.loaded:
            raws = self._mcs_without_echoes(store, raws, counts)
        listed = []
        unconfirmed = None  # creates of ours still waiting for their event: asked once, at the first new event
        unread = []  # indexes of new events whose transactionId the page did not say
        series_ids = set()
        answers, by_graph_id = {}, {}  # the user's own answers on copies of meetings they are invited to
        cancelled = set()  # copies of meetings their organizer cancelled (not left by the user)
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
            store.note_web_link(raw)
            if record is not None and meta.ical_uid and not record.ical_uid:
                record.ical_uid = meta.ical_uid  # how other mailboxes' copies of a meeting find it
            if record is not None and record.state == "synced" and meta.change_key \
                    and meta.change_key == record.change_key:
                # The version we agreed on (every write of ours comes back in the next round with
                # the changeKey its answer gave us): nothing changed, nothing to read or decide.
                counts["unchanged"] += 1
                continue
            if meta.type != "singleInstance" or raw.get("recurrence"):
                # A series is read once, whole, from its master (sync_series.py). A plain occurrence
                # (a stub) says nothing its master does not, once the series is known.
                series_id = meta.series_master_id or meta.id
                if record is not None and record.kind == "series" and meta.change_key \
                        and meta.change_key == record.change_key:
                    # our own write coming back while Odoo changed the series again: the push sends it
                    counts["unchanged"] += 1
                elif meta.type != "occurrence" or store.record_by_graph_id(series_id) is None:
                    series_ids.add(series_id)
                continue
            if meta.is_cancelled:
                if record is not None and record.state != "skipped":
                    outlook_deleted.append(meta.id)
                    cancelled.add(meta.id)
                continue
            try:
                event, warnings = event_from_graph(raw, allow_remote_images=settings["allow_remote_images"])
            except (MappingError, ValueError) as error:
                _logger.warning("Outlook event %s of account %s cannot be read, skipped: %s (request-id %s)",
                                meta.id, self.id, error, getattr(client, "last_request_id", None) or "?")
                store.skip(reason=SKIP_UNREADABLE, graph_id=meta.id, error=str(error), payload=raw)
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
            if known is None and self.new_events_since and meta.created \
                    and meta.created < _utc(self.new_events_since):
                counts["not_new"] += 1  # existing before a reset to "only new events": not imported
                continue
            if "singleValueExtendedProperties" not in raw and known is not None and known.base:
                # Delta rounds cannot $expand extended properties: our reference is as we stamped it.
                event = event.replace(odoo_ref=store.get(known.key).base.odoo_ref) \
                    if known.state != "skipped" else event
            if record is not None and record.state == "skipped":
                store.delete(record.key)  # readable again / no longer recurring
            if record is None and unconfirmed is None:
                unconfirmed = bool(store.search([("transaction_id", "!=", False), ("graph_id", "=", False)]))
            if record is None and unconfirmed and "transactionId" not in raw and not event.odoo_ref:
                unread.append(len(outlook_items))
            outlook_items.append(OutlookItem(meta.id, event, _utc(meta.last_modified), meta.change_key,
                                             meta.ical_uid, transaction_id, attendee_copy=not meta.is_organizer))
            if not meta.is_organizer:
                answers[meta.id] = meta.response
                by_graph_id[meta.id] = raw
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
        self._mcs_apply_outlook(client, reconciler, store, outlook_items, outlook_deleted, counts, settings,
                                raws=by_graph_id, cancelled=cancelled)
        if answers:
            self._mcs_apply_answers(store, answers)
        if series_ids:
            self._mcs_pull_series(client, reconciler, store, series_ids, counts, settings)

    def _mcs_without_echoes(self, store, raws, counts):
        """``raws`` without the echoes of our own writes, found by one query on their rows alone: a
        page of echoes (each write of ours comes back in the next round) then reads none of the
        account's other rows (issue 16). An echo is what the loop of :meth:`_mcs_apply_page` counts
        as unchanged: a synced row's version (changeKey) that a full round does not wait for and
        that knows its iCalUId."""
        versions = {raw["id"]: str(raw.get("changeKey") or "") for raw in raws
                    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw.get("changeKey")
                    and not is_removed(raw)}
        if not versions:
            return raws
        rows = store.search([("graph_id", "in", list(versions)), ("state", "=", "synced"), ("delta_unseen", "=", False)],
                            ["graph_id", "change_key", "ical_uid"])
        agreed = {row.graph_id: row for row in rows if row.change_key == versions[row.graph_id]}
        kept = [raw for raw in raws if not (isinstance(raw, dict) and raw.get("id") in agreed and not is_removed(raw)
                                            and (agreed[raw["id"]].ical_uid or not raw.get("iCalUId")))]
        counts["unchanged"] += len(raws) - len(kept)
        return kept

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

    def _mcs_apply_outlook(self, client, reconciler, store, outlook_items, outlook_deleted, counts, settings,
                           raws=None, cancelled=()):
        """Reconcile Outlook's changes and deletions with the Odoo side of the events they name.

        ``outlook_deleted``: ids Outlook no longer has (404), or copies of cancelled meetings. A copy
        of a meeting the user is invited to that is gone (declined, removed) leaves it in Odoo only."""
        if not outlook_items and not outlook_deleted:
            return
        joins, joined_items, held = self._mcs_meeting_joins(store, outlook_items)
        if held:
            self._mcs_hold_for_organizer(store, held, raws or {})
            held_ids = {item.graph_id for item in held}
            outlook_items = [item for item in outlook_items if item.graph_id not in held_ids]
        # The Odoo side of every event the page names: by binding, else by our reference.
        records, seen = [], set()
        extra_items = []
        for item in outlook_items:
            if item.graph_id in joins:
                continue
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
        left = [graph_id for graph_id in outlook_deleted
                if getattr(store.record_by_graph_id(graph_id), "attendee_copy", False) and graph_id not in cancelled]
        decisions = reconciler.plan(odoo_items + extra_items + joined_items, outlook_items, odoo_deleted=odoo_deleted,
                                    outlook_deleted=[graph_id for graph_id in outlook_deleted if graph_id not in left],
                                    outlook_left=left, joins=joins)
        counts["received"] += len(outlook_items) + len(outlook_deleted)
        self._mcs_apply(client, reconciler, store, decisions, counts, settings)
