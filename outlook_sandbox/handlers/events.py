"""Events: list, get, create, update and delete calendar items.

Graph exposes a mailbox's events under three path families: ``/me/events``
(the default calendar for lists and creates; any calendar of the mailbox for
an id), ``/me/calendar/events`` (the default calendar) and
``/me/calendars/{id}/events``. Lists hold single instances and series masters
only; occurrences come from calendarView and instances. Each change gives the
event a new ``changeKey`` (and so a new ``@odata.etag``) through
``world.record_change``, which also feeds delta and subscriptions.

Other modules call :func:`create_event`, :func:`update_event`,
:func:`delete_event`, :func:`find_event` and :func:`create_seed_event`.
"""
from __future__ import annotations

import copy

from .. import eventdata, ids, meetings, odata, recurrence
from ..app import reply
from ..errors import GraphError, bad_request, malformed_id, not_found
from ..routing import graph_route
from ..store import Calendar, Mailbox, StoredEvent, World, new_change_key, new_graph_id, new_ical_uid
from ..timezones import to_local, windows_name
from .users import calendar_scope, get_calendar

def is_well_formed_id(event_id: str) -> bool:
    """Whether ``event_id`` has the REST id form Graph issues."""
    return ids.decode(event_id) is not None


def find_event(mailbox: Mailbox, event_id: str, calendar_id: str | None = None) -> StoredEvent:
    """The stored event ``event_id`` (in ``calendar_id`` when given).

    400 ``ErrorInvalidIdMalformed`` for an id that is not of our form, 404
    ``ErrorItemNotFound`` for an unknown one or one in another calendar.
    """
    event = mailbox.events.get(event_id)
    if event is None:
        if not is_well_formed_id(event_id):
            raise malformed_id()
        raise not_found()
    if calendar_id is not None and event.calendar_id != calendar_id:
        raise not_found()
    return event


# -- state changes (also used by meetings, recurrence, batch and seeding) -------------

def _apply_changes(mailbox: Mailbox, event: StoredEvent, changes: dict) -> None:
    """Write normalized ``changes`` into ``event`` and check the result."""
    data = event.data
    for name in ("start", "end"):
        if name in changes:
            instant, zone_name = changes[name]
            setattr(event, name, instant)
            setattr(event, f"{name}_tz", zone_name)
            # Exchange keeps the Windows definition of the zone the client
            # used; a later change of zone replaces it.
            data[f"original{name.title()}TimeZone"] = windows_name(zone_name)
    if "locations" in changes:
        data["locations"] = changes["locations"]
        data["location"] = changes["location"] if "location" in changes \
            else eventdata.location_from_locations(changes["locations"])
    elif "location" in changes:
        # Updating location replaces locations (event.md).
        location = changes["location"]
        data["location"] = location
        data["locations"] = [dict(location)] if location["displayName"] else []
    for name in ("subject", "body", "isAllDay", "attendees", "categories", "importance", "sensitivity",
                 "showAs", "isReminderOn", "reminderMinutesBeforeStart", "responseRequested",
                 "allowNewTimeProposals", "hideAttendees", "organizer", "onlineMeeting"):
        if name in changes:
            data[name] = changes[name]
    if "responseStatus" in changes:
        event.response_status = changes["responseStatus"]
    if "iCalUId" in changes:
        event.ical_uid = changes["iCalUId"]
    if "singleValueExtendedProperties" in changes:
        # Writing an id that exists replaces its value; others are kept.
        event.extended_properties.update(changes["singleValueExtendedProperties"])
    _apply_online_meeting(mailbox, event, changes)
    if "recurrence" in changes:
        _apply_recurrence(event, changes["recurrence"])
    _check_times(event)


def _apply_online_meeting(mailbox: Mailbox, event: StoredEvent, changes: dict) -> None:
    data = event.data
    if data["isOnlineMeeting"]:
        # "once true, Graph initializes onlineMeeting; further changes ignored",
        # and the provider "cannot be changed once set" (event.md).
        return
    if "onlineMeetingProvider" in changes:
        data["onlineMeetingProvider"] = changes["onlineMeetingProvider"]
    if changes.get("isOnlineMeeting"):
        data["isOnlineMeeting"] = True
        if data["onlineMeeting"] is None:
            # The mailbox's own provider; another requested one is replaced
            # (UNCONFIRMED: Graph may reject providers the calendar lacks).
            # An attendee's copy arrives with the organizer's onlineMeeting.
            data["onlineMeetingProvider"], data["onlineMeeting"] = eventdata.new_online_meeting(mailbox)


def _apply_recurrence(event: StoredEvent, value) -> None:
    if event.type in ("exception", "occurrence"):
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. An occurrence of a series can't have a recurrence.")
    if value is None:
        event.data["recurrence"] = None
        event.type = "singleInstance"
        return
    start_local = to_local(event.start, event.start_tz)
    event.data["recurrence"] = recurrence.normalize_recurrence(value, start_local.date(), event.start_tz)
    event.type = "seriesMaster"


def _check_times(event: StoredEvent) -> None:
    if event.end < event.start:
        raise eventdata.validation_failure()
    if event.data["isAllDay"]:
        # Start and end at midnight in one zone (event.md), whole days, and
        # at least one day long.
        start_local, end_local = to_local(event.start, event.start_tz), to_local(event.end, event.end_tz)
        same_zone = windows_name(event.start_tz) == windows_name(event.end_tz)
        midnight = all(t.hour == t.minute == t.second == t.microsecond == 0 for t in (start_local, end_local))
        if not (same_zone and midnight and end_local.date() > start_local.date()):
            raise eventdata.validation_failure()


def create_event(world: World, mailbox: Mailbox, calendar: Calendar, payload: dict, *,
                 organizer_copy: bool = True) -> StoredEvent:
    """Validate, normalize and store a new event; returns it.

    ``organizer_copy=False`` is the meetings module creating an attendee's
    copy: the payload may then carry ``iCalUId``, ``organizer``,
    ``onlineMeeting`` and ``responseStatus``, the copy is not organized by the
    mailbox, and no meeting fan-out follows.

    A ``transactionId`` already used in the mailbox returns the event created
    with it instead of a second one.
    """
    changes = eventdata.normalize_payload(payload, internal=not organizer_copy)
    transaction_id = changes.get("transactionId")
    if transaction_id is not None:
        existing = next((e for e in mailbox.events.values() if e.transaction_id == transaction_id), None)
        if existing is not None:
            return existing
    if "start" not in changes or "end" not in changes:
        # Graph's code for a missing start or end is UNCONFIRMED.
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. The event's start and end must be specified.")
    now = world.clock.now()
    (start, start_tz), (end, end_tz) = changes["start"], changes["end"]
    event = StoredEvent(id=new_graph_id(), calendar_id=calendar.id, ical_uid=new_ical_uid(),
                        data=eventdata.default_data(mailbox), start=start, end=end, start_tz=start_tz,
                        end_tz=end_tz, created=now, last_modified=now, change_key=new_change_key(), seq=0,
                        transaction_id=transaction_id)
    if not organizer_copy:
        event.is_organizer = False
        event.response_status = {"response": "notResponded", "time": eventdata.NO_TIME}
    _apply_changes(mailbox, event, changes)
    mailbox.events[event.id] = event
    world.record_change(mailbox, event, "created")
    event.created = event.last_modified  # one save: both stamps equal, as in Graph's create sample
    if organizer_copy:
        meetings.after_create(world, mailbox, event)
    return event


_TRACKED = ("subject", "body", "isAllDay", "location", "locations", "attendees", "categories", "importance",
            "sensitivity", "showAs", "isReminderOn", "reminderMinutesBeforeStart", "responseRequested",
            "allowNewTimeProposals", "hideAttendees", "isOnlineMeeting", "onlineMeetingProvider",
            "onlineMeeting", "recurrence", "organizer", "originalStartTimeZone", "originalEndTimeZone")


def _snapshot(event: StoredEvent) -> dict:
    state = {name: copy.deepcopy(event.data.get(name)) for name in _TRACKED}
    state.update(start=(event.start, event.start_tz), end=(event.end, event.end_tz),
                 singleValueExtendedProperties=dict(event.extended_properties),
                 iCalUId=event.ical_uid, responseStatus=dict(event.response_status), type=event.type)
    return state


def update_event(world: World, mailbox: Mailbox, event: StoredEvent, payload: dict, *,
                 internal: bool = False) -> set[str]:
    """Apply a PATCH body to ``event``; returns the Graph names of the properties that changed.

    Nothing is written unless the whole body is valid. ``internal``: see
    :func:`create_event` (``organizer_copy=False``).
    """
    changes = eventdata.normalize_payload(payload, internal=internal)
    if "transactionId" in changes and changes["transactionId"] != event.transaction_id:
        # "can't change transactionId in a subsequent update" (event.md); the
        # code and message are Graph's (davmail issue #484). Re-sending the
        # same value is allowed (UNCONFIRMED).
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. ClientId/TransactionId is immutable and cannot be updated.")
    candidate = copy.deepcopy(event)
    _apply_changes(mailbox, candidate, changes)
    before, after = _snapshot(event), _snapshot(candidate)
    changed = {name for name in after if after[name] != before[name]}
    vars(event).update(vars(candidate))
    if before["type"] == "seriesMaster" and (event.type != "seriesMaster"
                                             or changed & {"recurrence", "start", "end"}):
        # A series that stops recurring, or whose pattern or times change,
        # loses its exceptions and cancelled occurrences, as Outlook warns it
        # will (UNCONFIRMED for Graph).
        _delete_exceptions(world, mailbox, event)
        event.cancelled_occurrences.clear()
    # Exchange saves (and re-stamps) the item even when no value changed.
    world.record_change(mailbox, event, "updated")
    meetings.after_update(world, mailbox, event, changed - {"type"})
    return changed - {"type"}


def _delete_exceptions(world: World, mailbox: Mailbox, master: StoredEvent) -> None:
    for exception in [e for e in mailbox.events.values() if e.series_master_id == master.id]:
        del mailbox.events[exception.id]
        world.record_change(mailbox, exception, "deleted")


def delete_event(world: World, mailbox: Mailbox, event: StoredEvent) -> None:
    """Remove ``event`` and, for a series master, its stored exceptions."""
    if event.type == "seriesMaster":
        _delete_exceptions(world, mailbox, event)
    mailbox.events.pop(event.id, None)
    world.record_change(mailbox, event, "deleted")
    meetings.after_delete(world, mailbox, event)


def create_seed_event(world: World, mailbox: Mailbox, payload: dict) -> StoredEvent:
    """Seed one event: a Graph create payload plus optional ``"calendar": "<name>"``."""
    payload = dict(payload)
    calendar_name = payload.pop("calendar", None)
    calendar = mailbox.default_calendar
    if calendar_name is not None:
        calendar = next((c for c in mailbox.calendars.values() if c.name.lower() == str(calendar_name).lower()),
                        None)
        if calendar is None:
            raise bad_request(f"Seed event for {mailbox.address}: no calendar named {calendar_name!r}.")
    with world.lock:
        return create_event(world, mailbox, calendar, payload)


# -- HTTP -------------------------------------------------------------------------------

def _entity_context(ctx) -> str:
    return f"{ctx.base_url}/$metadata#users('{ctx.mailbox.id}')/events/$entity"


def _check_if_match(ctx, event: StoredEvent) -> None:
    """412 when ``If-Match`` names another version (reference §2.8; whether
    Graph honours If-Match on events is UNCONFIRMED)."""
    wanted = ctx.header("If-Match")
    if wanted is None or wanted.strip() == "*":
        return
    current = eventdata.etag(event)
    accepted = {current, current[2:], event.change_key}
    if not any(tag.strip() in accepted for tag in wanted.split(",")):
        raise GraphError(412, "ErrorIrresolvableConflict",
                         "The send or update operation could not be performed because the change key passed "
                         "in the request does not match the current change key for the item.")


def _single_options(ctx) -> odata.QueryOptions:
    """$select and $expand of a request for one event (other options do not apply)."""
    return odata.parse_query({k: v for k, v in ctx.query.items() if k.lower().lstrip("$") in ("select", "expand")},
                             eventdata.PROPERTIES)


def _event_reply(ctx, status: int, event: StoredEvent) -> tuple:
    options = _single_options(ctx)
    body = eventdata.event_to_json(ctx, ctx.mailbox, event, select=options.select, expand=options.expand)
    return reply(status, {"@odata.context": _entity_context(ctx), **body})


def _list(ctx, calendar: Calendar):
    calendar_scope(ctx)
    options = odata.parse_query(ctx.query, eventdata.PROPERTIES)
    mailbox = ctx.mailbox
    items = [e for e in mailbox.events.values()
             if e.calendar_id == calendar.id and e.type in ("singleInstance", "seriesMaster")]
    records = {e.id: eventdata.filter_record(mailbox, e) for e in items} \
        if options.filter is not None or options.orderby else {}
    if options.filter is not None:
        items = [e for e in items if odata.matches(options.filter, records[e.id])]
    if options.orderby:
        items = odata.sort_items(items, options.orderby, lambda e: records[e.id])
    chunk, next_link = odata.page(ctx, items, options)
    body = {"@odata.context": f"{ctx.base_url}/$metadata#users('{mailbox.id}')/events"}
    if options.count:
        body["@odata.count"] = len(items)
    body["value"] = [eventdata.event_to_json(ctx, mailbox, e, select=options.select, expand=options.expand)
                     for e in chunk]
    eventdata.apply_preferences(ctx)
    if next_link:
        body["@odata.nextLink"] = next_link
    return reply(200, body)


def _create(ctx, calendar: Calendar):
    calendar_scope(ctx)
    event = create_event(ctx.world, ctx.mailbox, calendar, ctx.json())
    # A retried POST with a known transactionId answers like the first one:
    # 201 and the event (UNCONFIRMED status; the docs only promise no duplicate).
    return _event_reply(ctx, 201, event)


def _get(ctx, event_id: str, calendar_id: str | None):
    calendar_scope(ctx)
    if event_id not in ctx.mailbox.events:
        occurrence = recurrence.get_occurrence_json(ctx, event_id)
        if occurrence is not None:
            return reply(200, {"@odata.context": _entity_context(ctx), **occurrence})
    return _event_reply(ctx, 200, find_event(ctx.mailbox, event_id, calendar_id))


def _is_instance_id(mailbox, event_id: str) -> bool:
    """An occurrence (not stored) or an exception: recurrence.py owns its
    PATCH (boundary checks) and DELETE (cancels the occurrence)."""
    stored = mailbox.events.get(event_id)
    return stored is None or stored.type == "exception"


def _patch(ctx, event_id: str, calendar_id: str | None):
    calendar_scope(ctx)
    payload = ctx.json()
    if _is_instance_id(ctx.mailbox, event_id):
        occurrence = recurrence.patch_occurrence(ctx, event_id, payload)
        if occurrence is not None:
            return reply(200, {"@odata.context": _entity_context(ctx), **occurrence})
    event = find_event(ctx.mailbox, event_id, calendar_id)
    _check_if_match(ctx, event)
    update_event(ctx.world, ctx.mailbox, event, payload)
    return _event_reply(ctx, 200, event)


def _delete(ctx, event_id: str, calendar_id: str | None):
    calendar_scope(ctx)
    if _is_instance_id(ctx.mailbox, event_id) and recurrence.delete_occurrence(ctx, event_id):
        return reply(204)
    event = find_event(ctx.mailbox, event_id, calendar_id)
    _check_if_match(ctx, event)
    delete_event(ctx.world, ctx.mailbox, event)
    return reply(204)


@graph_route("GET", "/me/events")
def list_events(ctx):
    return _list(ctx, ctx.mailbox.default_calendar)


@graph_route("POST", "/me/events")
def create_in_default(ctx):
    return _create(ctx, ctx.mailbox.default_calendar)


@graph_route("GET", "/me/events/{event_id}")
def get_event(ctx, event_id):
    return _get(ctx, event_id, None)


@graph_route("PATCH", "/me/events/{event_id}")
def patch_event(ctx, event_id):
    return _patch(ctx, event_id, None)


@graph_route("DELETE", "/me/events/{event_id}")
def delete_event_route(ctx, event_id):
    return _delete(ctx, event_id, None)


@graph_route("GET", "/me/calendar/events")
def list_default_calendar_events(ctx):
    return _list(ctx, ctx.mailbox.default_calendar)


@graph_route("POST", "/me/calendar/events")
def create_in_default_calendar(ctx):
    return _create(ctx, ctx.mailbox.default_calendar)


@graph_route("GET", "/me/calendar/events/{event_id}")
def get_default_calendar_event(ctx, event_id):
    return _get(ctx, event_id, ctx.mailbox.default_calendar.id)


@graph_route("PATCH", "/me/calendar/events/{event_id}")
def patch_default_calendar_event(ctx, event_id):
    return _patch(ctx, event_id, ctx.mailbox.default_calendar.id)


@graph_route("DELETE", "/me/calendar/events/{event_id}")
def delete_default_calendar_event(ctx, event_id):
    return _delete(ctx, event_id, ctx.mailbox.default_calendar.id)


@graph_route("GET", "/me/calendars/{calendar_id}/events")
def list_calendar_events(ctx, calendar_id):
    return _list(ctx, get_calendar(ctx, calendar_id))


@graph_route("POST", "/me/calendars/{calendar_id}/events")
def create_in_calendar(ctx, calendar_id):
    return _create(ctx, get_calendar(ctx, calendar_id))


@graph_route("GET", "/me/calendars/{calendar_id}/events/{event_id}")
def get_calendar_event(ctx, calendar_id, event_id):
    return _get(ctx, event_id, get_calendar(ctx, calendar_id).id)


@graph_route("PATCH", "/me/calendars/{calendar_id}/events/{event_id}")
def patch_calendar_event(ctx, calendar_id, event_id):
    return _patch(ctx, event_id, get_calendar(ctx, calendar_id).id)


@graph_route("DELETE", "/me/calendars/{calendar_id}/events/{event_id}")
def delete_calendar_event(ctx, calendar_id, event_id):
    return _delete(ctx, event_id, get_calendar(ctx, calendar_id).id)
