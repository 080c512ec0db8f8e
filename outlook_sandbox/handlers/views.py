"""Time-window views of a calendar: calendarView, a series' instances, and
calendarView delta (reference §2.2, §2.4, §3).

A *calendarView* lists what a calendar shows between ``startDateTime`` and
``endDateTime``: single instances, occurrences and exceptions (never series
masters), by start time, ten to a page unless ``$top`` or ``Prefer:
odata.maxpagesize`` asks otherwise. ``/events/{id}/instances`` is the same
for one series. *calendarView delta* walks the same window in rounds (tokens
in :mod:`outlook_sandbox.delta`): the first round returns everything, each
later round what changed since the round its deltaLink came from. As observed
on Graph, delta includes series masters (carrying their first occurrence's
start/end), returns plain occurrences as stubs (``id, seriesMasterId, type,
start, end``), exceptions in full, and ``@removed`` for deletions, cancelled
occurrences and items that changed but are now outside the window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .. import delta, odata
from ..app import reply
from ..errors import GraphError, invalid_request, not_found
from ..eventdata import PROPERTIES, ENTITY, apply_preferences, etag, event_to_json, filter_record, output_zone
from ..recurrence import Occurrence, first_start, occurrence_json, overlaps, series_instances
from ..routing import graph_route
from ..store import Mailbox, StoredEvent
from ..timezones import date_time_time_zone
from .users import calendar_scope, get_calendar

UTC = timezone.utc
MAX_WINDOW_DAYS = 1825
# Graph documents neither a default nor a largest page size for calendarView
# delta (event-delta.md and delta-query-events.md show only
# "Prefer: odata.maxpagesize=2"; microsoft-graph-docs issue 7352 asks and
# reports the preference is not strictly honoured): ten, as Outlook's other
# collections, and at most odata.MAX_PAGE_SIZE (UNCONFIRMED).
DELTA_PAGE_SIZE = 10
EVENT_TYPE = "#microsoft.graph.event"
# OData options calendarView delta does not support (event-delta.md).
_DELTA_UNSUPPORTED = ("$select", "$filter", "$expand", "$orderby", "$search")


# -- the window ------------------------------------------------------------------------

def _query_value(ctx, name: str) -> str | None:
    """A query parameter by name, case-insensitively (Graph's own error text
    spells them StartDateTime/EndDateTime)."""
    lower = name.lower()
    return next((v for k, v in ctx.query.items() if k.lower() == lower), None)


_SPACE_FOR_PLUS = re.compile(r"^(.*T[\d:.]+) (\d{2}:?\d{2})$")


def _parse_instant(raw: str, name: str) -> datetime:
    """An ISO 8601 date-time; with no offset it is UTC (user-list-calendarview.md)."""
    text = raw.strip()
    # An unencoded "+01:00" arrives as " 01:00" after query decoding.
    text = _SPACE_FOR_PLUS.sub(r"\1+\2", text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        # UNCONFIRMED code and wording for a malformed value.
        raise GraphError(400, "ErrorInvalidParameter", f"The value '{raw}' of parameter '{name}' is invalid.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_window(ctx) -> tuple[datetime, datetime]:
    start_raw, end_raw = _query_value(ctx, "startDateTime"), _query_value(ctx, "endDateTime")
    if not start_raw or not end_raw:
        # Observed wording (msgraph-sdk-dotnet#1860); the code is UNCONFIRMED.
        raise GraphError(400, "ErrorInvalidParameter", "This request requires a time window specified by the "
                         "query string parameters StartDateTime and EndDateTime.")
    start, end = _parse_instant(start_raw, "StartDateTime"), _parse_instant(end_raw, "EndDateTime")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise invalid_request("Your request can't be completed. The range between the start and end dates is "
                              f"greater than the allowed range. Maximum number of days: {MAX_WINDOW_DAYS}")
    # An end at or before the start is an empty window, not an error (UNCONFIRMED).
    return start, end


# -- what a window holds -----------------------------------------------------------------

@dataclass(frozen=True)
class ViewEntry:
    """One item of a window: a single instance, an occurrence, an exception,
    or (delta only) a series master shown at its first occurrence."""

    id: str
    start: datetime
    end: datetime
    event: StoredEvent  # the stored item; the master for a plain occurrence
    occurrence: Occurrence | None = None

    @property
    def kind(self) -> str:
        if self.occurrence is not None:
            return self.occurrence.type
        return self.event.type


def _first_instance(mailbox: Mailbox, master: StoredEvent) -> tuple[datetime, datetime]:
    """Start and end of the series' first live instance (the master's own
    times when every early occurrence is cancelled)."""
    duration = master.end - master.start
    first = first_start(master)
    if first is None:
        return master.start, master.end
    instances = series_instances(mailbox, master, first, first + timedelta(days=1))
    if instances and instances[0].original_start == first:
        return instances[0].start, instances[0].end
    return first, first + duration


def window_entries(mailbox: Mailbox, calendar_id: str, window_start: datetime, window_end: datetime,
                   *, with_masters: bool = False) -> list[ViewEntry]:
    entries: list[ViewEntry] = []
    for event in list(mailbox.events.values()):
        if event.calendar_id != calendar_id:
            continue
        if event.type == "singleInstance":
            if overlaps(event.start, event.end, window_start, window_end):
                entries.append(ViewEntry(event.id, event.start, event.end, event))
        elif event.type == "seriesMaster" and event.data.get("recurrence"):
            instances = series_instances(mailbox, event, window_start, window_end)
            if not instances:
                continue
            if with_masters:
                entries.append(ViewEntry(event.id, *_first_instance(mailbox, event), event))
            entries.extend(ViewEntry(o.id, o.start, o.end, o.exception or event, o) for o in instances)
        # Exceptions come with their master; orphans (master gone) are not shown.
    entries.sort(key=lambda e: (e.start, e.kind != "seriesMaster", e.id))
    return entries


def render(ctx, mailbox: Mailbox, entry: ViewEntry, select: list[str] | None = None,
           expand: dict[str, str | None] | None = None) -> dict:
    if entry.occurrence is not None:
        return occurrence_json(ctx, mailbox, entry.occurrence, select, expand)
    if entry.kind == "seriesMaster":
        return event_to_json(ctx, mailbox, entry.event, select=select, expand=expand,
                             overrides={"start": entry.start, "end": entry.end})
    return event_to_json(ctx, mailbox, entry.event, select=select, expand=expand)


def _collection(ctx, mailbox: Mailbox, entries: list[ViewEntry], context: str):
    """A paged Graph collection of ``entries`` honouring $select/$filter/$orderby/$top/$skip."""
    options = odata.parse_query(ctx.query, PROPERTIES, ENTITY)
    if options.filter is not None or options.orderby:
        records = {e.id: _filter_record(mailbox, e) for e in entries}
        if options.filter is not None:
            entries = [e for e in entries if odata.matches(options.filter, records[e.id])]
        if options.orderby:
            entries = odata.sort_items(entries, options.orderby, lambda e: records[e.id])
    chunk, next_link = odata.page(ctx, entries, options)
    body = {"@odata.context": context}
    if options.count:
        body["@odata.count"] = len(entries)
    body["value"] = [render(ctx, mailbox, e, options.select, options.expand) for e in chunk]
    if next_link:
        body["@odata.nextLink"] = next_link
    apply_preferences(ctx)
    return reply(200, body)


def _filter_record(mailbox: Mailbox, entry: ViewEntry) -> dict:
    if entry.occurrence is not None and entry.occurrence.exception is None:
        record = occurrence_json(None, mailbox, entry.occurrence)
        record["singleValueExtendedProperties"] = [{"id": pid, "value": value}
                                                   for pid, value in entry.event.extended_properties.items()]
        return record
    return filter_record(mailbox, entry.event)


# -- calendarView ----------------------------------------------------------------------

def _calendar_view(ctx, calendar_id: str | None):
    calendar_scope(ctx)
    calendar = get_calendar(ctx, calendar_id)
    window_start, window_end = parse_window(ctx)
    entries = window_entries(ctx.mailbox, calendar.id, window_start, window_end)
    return _collection(ctx, ctx.mailbox, entries,
                       f"{ctx.base_url}/$metadata#users('{ctx.mailbox.id}')/calendarView")


@graph_route("GET", "/me/calendarView")
def calendar_view(ctx):
    return _calendar_view(ctx, None)


@graph_route("GET", "/me/calendar/calendarView")
def default_calendar_view(ctx):
    return _calendar_view(ctx, None)


@graph_route("GET", "/me/calendars/{calendar_id}/calendarView")
def calendar_view_of(ctx, calendar_id):
    return _calendar_view(ctx, calendar_id)


# -- instances ---------------------------------------------------------------------------

def _instances(ctx, event_id: str, calendar_id: str | None):
    calendar_scope(ctx)
    calendar = get_calendar(ctx, calendar_id) if calendar_id is not None else None
    window_start, window_end = parse_window(ctx)
    event = ctx.mailbox.events.get(event_id)
    if event is None or (calendar is not None and event.calendar_id != calendar.id):
        raise not_found()
    # A single instance or an exception has no instances: Graph answers an
    # empty collection rather than an error (UNCONFIRMED; the docs only cover
    # series masters).
    entries = []
    if event.type == "seriesMaster" and event.data.get("recurrence"):
        entries = [ViewEntry(o.id, o.start, o.end, o.exception or event, o)
                   for o in series_instances(ctx.mailbox, event, window_start, window_end)]
    return _collection(ctx, ctx.mailbox, entries,
                       f"{ctx.base_url}/$metadata#users('{ctx.mailbox.id}')/events('{event_id}')/instances")


@graph_route("GET", "/me/events/{event_id}/instances")
def instances(ctx, event_id):
    return _instances(ctx, event_id, None)


@graph_route("GET", "/me/calendar/events/{event_id}/instances")
def default_calendar_instances(ctx, event_id):
    return _instances(ctx, event_id, ctx.mailbox.default_calendar.id)


@graph_route("GET", "/me/calendars/{calendar_id}/events/{event_id}/instances")
def calendar_instances(ctx, calendar_id, event_id):
    return _instances(ctx, event_id, calendar_id)


# -- delta -------------------------------------------------------------------------------

def _stub(ctx, entry: ViewEntry) -> dict:
    """What delta returns for a plain occurrence (observed, reference §3.3)."""
    zone = output_zone(ctx)
    return {"@odata.type": EVENT_TYPE, "@odata.etag": etag(entry.event), "id": entry.id,
            "seriesMasterId": entry.event.id, "type": "occurrence",
            "start": date_time_time_zone(entry.start, zone), "end": date_time_time_zone(entry.end, zone)}


def _removed(item_id: str) -> dict:
    return {"@odata.type": EVENT_TYPE, "id": item_id, "@removed": {"reason": "deleted"}}


def _changed(entry: ViewEntry, since: delta.SyncState) -> bool:
    if entry.id not in since.seen:
        return True
    # A plain occurrence changes with its master; stored items by their own stamp.
    return entry.event.seq > since.seq


def _round(ctx, calendar_id: str, window_start: datetime, window_end: datetime,
           since: delta.SyncState | None) -> tuple[list[dict], frozenset[str]]:
    """The items of a new round (all of the window, or what changed since
    ``since``) rendered now, and the ids the window holds now."""
    mailbox = ctx.mailbox
    entries = window_entries(mailbox, calendar_id, window_start, window_end, with_masters=True)
    current = frozenset(e.id for e in entries)
    items = []
    for entry in entries:
        if since is None or _changed(entry, since):
            if entry.kind == "occurrence":
                items.append(_stub(ctx, entry))
            else:
                items.append({"@odata.type": EVENT_TYPE, **render(ctx, mailbox, entry)})
    if since is not None:
        # Gone from the window (deleted, cancelled, moved out), plus anything
        # of this calendar deleted or changed outside the window since: Graph
        # reports those as removed too (event-delta.md).
        removed = set(since.seen - current)
        removed.update(t.id for t in mailbox.tombstones if t.calendar_id == calendar_id and t.seq > since.seq)
        removed.update(e.id for e in mailbox.events.values() if e.calendar_id == calendar_id and e.seq > since.seq)
        items.extend(_removed(item_id) for item_id in sorted(removed - current))
    return items, current


def _delta_page(ctx, calendar_id: str, window_start: datetime, window_end: datetime, seq: int,
                seen: frozenset[str], items: list[dict], offset: int = 0, round_page_size: int = 0,
                top: int | None = None):
    """Answer the page of a round's ``items`` at ``offset`` and register the
    token that follows it.

    A page holds ``$top`` items (from the request that began the sync: Graph
    encodes query parameters in its tokens, delta-query-events.md) bounded by
    ``Prefer: odata.maxpagesize``, ten when neither is given. A nextLink
    followed without the Prefer header keeps the page size the round began
    with, as the SDKs' page iterators expect (UNCONFIRMED whether Graph keeps
    it or falls back to its default).
    """
    preferred = odata.max_page_size_preference(ctx) or round_page_size or None
    if preferred is not None and top is not None:
        size = min(preferred, top)
    else:
        size = preferred or top or DELTA_PAGE_SIZE
    size = max(size, 1)  # $top=0 must not chain empty pages forever
    state = delta.SyncState(ctx.mailbox.id, calendar_id, window_start, window_end, 0, seq, seen,
                            page_size=preferred or 0, top=top)
    path = ctx.raw_path.split("?", 1)[0]
    if path.lower().startswith("/v1.0"):
        path = path[len("/v1.0"):]
    body = {"@odata.context": f"{ctx.base_url}/$metadata#Collection(event)"}
    if len(items) > offset + size:
        state.round_items, state.offset = items, offset + size
        token = delta.issue(ctx.world, ctx.mailbox, state, skip=True)
        body["@odata.nextLink"] = f"{ctx.base_url}{path}?$skiptoken={token}"
    else:
        # The next round keeps $top, not the Prefer header (a header is the client's to resend).
        state.page_size = 0
        token = delta.issue(ctx.world, ctx.mailbox, state, skip=False)
        body["@odata.deltaLink"] = f"{ctx.base_url}{path}?$deltatoken={token}"
    body["value"] = items[offset:offset + size]
    ctx.applied_max_page_size = preferred
    apply_preferences(ctx)
    applied = [p for p in [ctx.response_headers.get("Preference-Applied")] if p]
    applied.append("odata.track-changes")
    return reply(200, body, {"Preference-Applied": ", ".join(applied)})


def _delta(ctx, calendar_id: str | None):
    calendar_scope(ctx)
    calendar = get_calendar(ctx, calendar_id)
    unsupported = [k for k in ctx.query if ("$" + k.lower().lstrip("$")) in _DELTA_UNSUPPORTED]
    if unsupported:
        # Graph's wording for change tracking (UNCONFIRMED for calendarView).
        raise GraphError(400, "ErrorInvalidUrlQuery", "The following parameters are not supported with change "
                         f"tracking over the 'CalendarView' resource: '{', '.join(unsupported)}'.")
    skip_token, delta_token = _query_value(ctx, "$skiptoken"), _query_value(ctx, "$deltatoken")
    if skip_token is not None:
        state = delta.resolve(ctx.world, ctx.mailbox, skip_token, skip=True)
        if state.calendar_id != calendar.id:
            raise delta.invalid_token(skip_token, "$skipToken")
        return _delta_page(ctx, calendar.id, state.window_start, state.window_end, state.seq, state.seen,
                           state.round_items, state.offset, state.page_size, state.top)
    if delta_token is not None:
        since = delta.resolve(ctx.world, ctx.mailbox, delta_token, skip=False)
        if since.calendar_id != calendar.id:
            raise delta.invalid_token(delta_token, "$deltaToken")
        window_start, window_end, top = since.window_start, since.window_end, since.top
    else:
        since = None
        window_start, window_end = parse_window(ctx)  # the 1825-day cap is assumed for delta too
        top = odata.parse_top(ctx.query)
    seq = ctx.mailbox.seq
    items, seen = _round(ctx, calendar.id, window_start, window_end, since)
    return _delta_page(ctx, calendar.id, window_start, window_end, seq, seen, items, top=top)


# Kiota-generated SDKs (msgraph-sdk) call the function as "delta()".
for _suffix in ("delta", "delta()"):
    graph_route("GET", f"/me/calendarView/{_suffix}")(lambda ctx: _delta(ctx, None))
    graph_route("GET", f"/me/calendar/calendarView/{_suffix}")(lambda ctx: _delta(ctx, None))
    graph_route("GET", f"/me/calendars/{{calendar_id}}/calendarView/{_suffix}")(
        lambda ctx, calendar_id: _delta(ctx, calendar_id))
