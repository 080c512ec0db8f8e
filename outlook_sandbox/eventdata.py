"""Graph's event resource: request payloads in, JSON out.

An Outlook calendar item travels as ``microsoft.graph.event`` (reference §1.1).
On the way in, a POST or PATCH body is checked the way Graph's OData reader
checks it (unknown properties, wrong JSON types, enum values, read-only
properties) and normalized to the shape Graph answers with, with Graph's
defaults filled in. On the way out, a :class:`StoredEvent` becomes the JSON
Graph returns: times in UTC or the ``Prefer: outlook.timezone`` zone with
seven fractional digits, the body as HTML unless ``Prefer:
outlook.body-content-type="text"``, ``@odata.etag`` = ``W/"<changeKey>"``,
extended properties only when ``$expand``-ed, and ``$select`` honoured.
"""
from __future__ import annotations

import html
import re
import secrets
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import quote

from . import odata
from .errors import GraphError
from .store import Mailbox, StoredEvent
from .timezones import date_time_time_zone, format_instant, is_supported, parse_local

ENTITY = "microsoft.graph.event"
MAX_ATTENDEES = 500
BODY_PREVIEW_LENGTH = 255
NO_TIME = "0001-01-01T00:00:00Z"

IMPORTANCE = ("low", "normal", "high")
SENSITIVITY = ("normal", "personal", "private", "confidential")
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
ATTENDEE_TYPES = ("required", "optional", "resource")
RESPONSES = ("none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded")
BODY_TYPES = ("text", "html")
LOCATION_TYPES = ("default", "conferenceRoom", "homeAddress", "businessAddress", "geoCoordinates",
                  "streetAddress", "hotel", "restaurant", "localBusiness", "postalAddress")
UNIQUE_ID_TYPES = ("unknown", "locationStore", "directory", "private", "bing")
ONLINE_MEETING_PROVIDERS = ("unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer")

# Extended property MAPI types for single values (extended-properties-overview.md).
EXTENDED_PROPERTY_TYPES = ("Binary", "Boolean", "Currency", "CLSID", "Double", "Float", "Integer",
                           "Long", "Short", "String", "SystemTime")
_EXTENDED_PROPERTY_ID = re.compile(
    r"^(?P<type>\w+) (?:\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\} "
    r"(?:Name \S.*|Id 0x[0-9A-Fa-f]{1,4})|0x[0-9A-Fa-f]{8})$")

# Properties a client may write (event-update.md plus create-only transactionId).
WRITABLE = {"subject", "body", "start", "end", "isAllDay", "location", "locations", "attendees",
            "categories", "importance", "sensitivity", "showAs", "isReminderOn",
            "reminderMinutesBeforeStart", "responseRequested", "allowNewTimeProposals",
            "hideAttendees", "isOnlineMeeting", "onlineMeetingProvider", "recurrence",
            "transactionId", "singleValueExtendedProperties"}
# Accepted and ignored: properties Graph's metadata lists as writable that are
# derived here (the organizer of an event created in a mailbox is that
# mailbox; the original zones follow start/end), and the read-only ones.
# Graph ignores read-only values in a body rather than failing: a PATCH with
# iCalUId leaves it unchanged without an error (microsoft-graph-docs #4547),
# and a whole fetched event PATCHed back fails only on a property the type
# lacks (msgraph-sdk-java #391).
READ_ONLY = {"id", "changeKey", "createdDateTime", "lastModifiedDateTime", "iCalUId", "type",
             "seriesMasterId", "originalStart", "bodyPreview", "isOrganizer", "responseStatus",
             "isCancelled", "isDraft", "hasAttachments", "webLink", "onlineMeeting", "onlineMeetingUrl",
             "cancelledOccurrences", "exceptionOccurrences"}
IGNORED_ON_WRITE = {"organizer", "originalStartTimeZone", "originalEndTimeZone"} | READ_ONLY
# Read-only properties the meetings module may set on an attendee's copy.
INTERNAL_WRITABLE = {"iCalUId", "organizer", "onlineMeeting", "responseStatus"}
NAVIGATION = {"singleValueExtendedProperties", "multiValueExtendedProperties", "extensions",
              "attachments", "instances", "calendar", "exceptionOccurrences"}

# Every property of the resource in the order Graph serializes them
# (user-post-events.md response sample).
PROPERTY_ORDER = (
    "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "transactionId",
    "originalStartTimeZone", "originalEndTimeZone", "iCalUId", "reminderMinutesBeforeStart",
    "isReminderOn", "hasAttachments", "subject", "bodyPreview", "importance", "sensitivity",
    "isAllDay", "isCancelled", "isOrganizer", "responseRequested", "seriesMasterId", "showAs",
    "type", "webLink", "onlineMeetingUrl", "isOnlineMeeting", "onlineMeetingProvider",
    "allowNewTimeProposals", "isDraft", "hideAttendees", "originalStart", "responseStatus", "body",
    "start", "end", "location", "locations", "recurrence", "attendees", "organizer", "onlineMeeting")
# Names $select, $filter and $orderby accept.
PROPERTIES = set(PROPERTY_ORDER) | NAVIGATION | {"cancelledOccurrences"}


# -- request checking helpers ---------------------------------------------------------

def unknown_property(name: str, type_name: str = ENTITY) -> GraphError:
    return GraphError(400, "RequestBodyRead",
                      f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
                      "property names that are defined by the type or mark the type as open type.")


def _wrong_type(value: object, edm_type: str) -> GraphError:
    if isinstance(value, (dict, list)):
        return GraphError(400, "RequestBodyRead",
                          f"An unexpected '{'StartObject' if isinstance(value, dict) else 'StartArray'}' "
                          f"node was found when reading from the JSON reader. A '{edm_type}' value was expected.")
    return GraphError(400, "RequestBodyRead",
                      f"Cannot convert the literal '{value}' to the expected type '{edm_type}'.")


def _check_keys(value: dict, allowed: set[str], type_name: str) -> None:
    for key in value:
        if key not in allowed and not key.startswith("@odata."):
            raise unknown_property(key, type_name)


def _object(value: object, type_name: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise _wrong_type(value, type_name)
    _check_keys(value, allowed, type_name)
    return value


def _string(value: object, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _wrong_type(value, "Edm.String")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(value, "Edm.Boolean")
    return value


def _int32(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise _wrong_type(value, "Edm.Int32")
    return value


def enum_value(value: object, allowed: tuple[str, ...], enum_type: str) -> str:
    """Enum members are matched case-insensitively (Graph takes ``"HTML"``) and
    returned in their canonical spelling."""
    if not isinstance(value, str):
        raise _wrong_type(value, f"microsoft.graph.{enum_type}")
    for member in allowed:
        if member.lower() == value.strip().lower():
            return member
    raise GraphError(400, "RequestBodyRead", f"Requested value '{value}' was not found.")


def validation_failure() -> GraphError:
    # Graph's answer to inconsistent times (end before start, all-day not at
    # midnight): observed in microsoft-graph-docs issue #7919.
    return GraphError(400, "ErrorPropertyValidationFailure", "At least one property failed validation.")


# -- body ---------------------------------------------------------------------------

_HTML_DOCUMENT = ("<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
                  "\r\n</head>\r\n<body>\r\n{}\r\n</body>\r\n</html>\r\n")


class _TextExtractor(HTMLParser):
    """HTML -> plain text the way Outlook's preview reads it: tags dropped,
    entities decoded, block elements and <br> as line breaks."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}
    HIDDEN = {"head", "style", "script", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        elif tag in self.BLOCKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden_depth:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(content: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(content)
    extractor.close()
    lines = [line.strip() for line in "".join(extractor.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_to_html(content: str) -> str:
    return _HTML_DOCUMENT.format(html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n"))


def _body(value: object) -> dict:
    value = _object(value, "microsoft.graph.itemBody", {"contentType", "content"})
    content_type = enum_value(value.get("contentType", "text"), BODY_TYPES, "bodyType")
    content = _string(value.get("content")) or ""
    if content_type == "html" and content and not re.match(r"\s*<html", content, re.IGNORECASE):
        # Exchange stores HTML bodies as whole documents (user-post-events.md sample).
        content = _HTML_DOCUMENT.format(content)
    return {"contentType": content_type, "content": content}


def body_preview(body: dict) -> str:
    text = body["content"] if body["contentType"] == "text" else html_to_text(body["content"])
    return re.sub(r"\s+", " ", text).strip()[:BODY_PREVIEW_LENGTH]


def render_body(body: dict, wanted: str) -> dict:
    if wanted == body["contentType"] or not body["content"]:
        return {"contentType": wanted, "content": body["content"]}
    if wanted == "text":
        return {"contentType": "text", "content": html_to_text(body["content"])}
    return {"contentType": "html", "content": text_to_html(body["content"])}


# -- other complex values ---------------------------------------------------------------

def _email_address(value: object, type_name: str = "microsoft.graph.emailAddress") -> dict:
    value = _object(value, type_name, {"name", "address"})
    address = (_string(value.get("address")) or "").strip()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
        # UNCONFIRMED wording; Exchange rejects unresolvable SMTP addresses.
        raise GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
    return {"name": _string(value.get("name")) or address, "address": address}


def _response_status(value: object) -> dict:
    value = _object(value, "microsoft.graph.responseStatus", {"response", "time"})
    return {"response": enum_value(value.get("response", "none"), RESPONSES, "responseType"),
            "time": _string(value.get("time")) or NO_TIME}


def _attendees(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise _wrong_type(value, "Collection(microsoft.graph.attendee)")
    if len(value) > MAX_ATTENDEES:
        # The limit is documented (event.md); the error code is UNCONFIRMED.
        raise GraphError(400, "ErrorInvalidRequest",
                         f"Your request can't be completed. An event can have at most {MAX_ATTENDEES} attendees.")
    attendees = []
    for item in value:
        item = _object(item, "microsoft.graph.attendee", {"type", "status", "emailAddress", "proposedNewTime"})
        attendee = {"type": enum_value(item.get("type", "required"), ATTENDEE_TYPES, "attendeeType"),
                    "status": _response_status(item["status"]) if item.get("status") is not None
                    else {"response": "none", "time": NO_TIME},
                    "emailAddress": _email_address(item.get("emailAddress"))}
        attendees.append(attendee)
    return attendees


_LOCATION_KEYS = {"displayName", "locationType", "uniqueId", "uniqueIdType", "address", "coordinates",
                  "locationEmailAddress", "locationUri"}


_LOCATION_PARTS = {
    "address": ("microsoft.graph.physicalAddress", {"street", "city", "state", "countryOrRegion", "postalCode"}),
    "coordinates": ("microsoft.graph.outlookGeoCoordinates",
                    {"latitude", "longitude", "accuracy", "altitude", "altitudeAccuracy"}),
}


def _location(value: object) -> dict:
    if value is None:
        return empty_location()
    value = _object(value, "microsoft.graph.location", _LOCATION_KEYS)
    name = _string(value.get("displayName")) or ""
    location = {"displayName": name,
                "locationType": enum_value(value.get("locationType", "default"), LOCATION_TYPES, "locationType")}
    if name:
        # A plain display name becomes a 'private' location keyed by its name
        # (user-post-events.md response sample).
        location["uniqueId"] = _string(value.get("uniqueId")) or name
        location["uniqueIdType"] = enum_value(value.get("uniqueIdType", "private"), UNIQUE_ID_TYPES,
                                              "locationUniqueIdType")
    else:
        location.update(empty_location())
    for key, (type_name, keys) in _LOCATION_PARTS.items():
        if value.get(key) is not None:
            location[key] = _object(value[key], type_name, keys)
    for key in ("locationEmailAddress", "locationUri"):
        if value.get(key) is not None:
            location[key] = _string(value[key])
    return location


def empty_location() -> dict:
    return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {}}


def _locations(value: object) -> list[dict]:
    if not isinstance(value, list):
        raise _wrong_type(value, "Collection(microsoft.graph.location)")
    return [_location(item) for item in value]


def location_from_locations(locations: list[dict]) -> dict:
    """``location`` always corresponds to ``locations`` (event.md): one place is
    itself, several are joined by "; " (UNCONFIRMED separator)."""
    named = [loc for loc in locations if loc["displayName"]]
    if not named:
        return empty_location()
    if len(named) == 1:
        return dict(named[0])
    return {"displayName": "; ".join(loc["displayName"] for loc in named), "locationType": "default",
            "uniqueIdType": "unknown", "address": {}, "coordinates": {}}


def _categories(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise _wrong_type(value, "Collection(Edm.String)")
    return list(value)


def _date_time_time_zone(value: object) -> tuple[datetime, str]:
    value = _object(value, "microsoft.graph.dateTimeTimeZone", {"dateTime", "timeZone"})
    zone_name = value.get("timeZone")
    instant = parse_local(value.get("dateTime"), zone_name)
    return instant, zone_name.strip()


def extended_properties(value: object) -> dict[str, str]:
    """``[{"id": "String {guid} Name X", "value": "..."}]`` -> {id: value}."""
    if not isinstance(value, list):
        raise _wrong_type(value, "Collection(microsoft.graph.singleValueLegacyExtendedProperty)")
    properties = {}
    for item in value:
        item = _object(item, "microsoft.graph.singleValueLegacyExtendedProperty", {"id", "value"})
        property_id = _string(item.get("id"), nullable=False)
        match = _EXTENDED_PROPERTY_ID.match(property_id)
        if match is None or match.group("type") not in EXTENDED_PROPERTY_TYPES:
            # Graph's answer to a malformed id (msgraph-sdk-dotnet #1807).
            raise GraphError(400, "ErrorInvalidProperty",
                             "PropertyId values may only be in one of the following formats: 'MapiPropertyType "
                             "namespaceGuid Name propertyName', 'MapiPropertyType namespaceGuid Id propertyId' "
                             "or 'MapiPropertyType propertyTag'.")
        raw = item.get("value")
        property_value = raw if isinstance(raw, str) else None
        if property_value is None or not _extended_value_ok(match.group("type"), property_value):
            # EWS's ResponseCodeType name; that Graph passes it through is UNCONFIRMED.
            raise GraphError(400, "ErrorInvalidExtendedPropertyValue",
                             f"The extended property value '{raw}' is invalid for '{property_id}'.")
        properties[property_id] = property_value
    return properties


def _extended_value_ok(mapi_type: str, value: str) -> bool:
    try:
        if mapi_type in ("Integer", "Long", "Short"):
            int(value)
        elif mapi_type in ("Double", "Float", "Currency"):
            float(value)
        elif mapi_type == "Boolean":
            return value.lower() in ("true", "false")
        elif mapi_type == "SystemTime":
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# -- payload normalization -----------------------------------------------------------

_NORMALIZERS = {
    "subject": lambda v: _string(v) or "",
    "body": _body,
    "start": _date_time_time_zone,
    "end": _date_time_time_zone,
    "isAllDay": _boolean,
    "location": _location,
    "locations": _locations,
    "attendees": _attendees,
    "categories": _categories,
    "importance": lambda v: enum_value(v, IMPORTANCE, "importance"),
    "sensitivity": lambda v: enum_value(v, SENSITIVITY, "sensitivity"),
    "showAs": lambda v: enum_value(v, SHOW_AS, "freeBusyStatus"),
    "isReminderOn": _boolean,
    "reminderMinutesBeforeStart": _int32,
    "responseRequested": _boolean,
    "allowNewTimeProposals": _boolean,
    "hideAttendees": _boolean,
    "isOnlineMeeting": _boolean,
    "onlineMeetingProvider": lambda v: enum_value(v, ONLINE_MEETING_PROVIDERS, "onlineMeetingProviderType"),
    "recurrence": lambda v: v,  # checked by recurrence.normalize_recurrence, which needs the start
    "transactionId": lambda v: _string(v),
    "singleValueExtendedProperties": extended_properties,
    # Internal writes only (attendee copies made by the meetings module).
    "iCalUId": lambda v: _string(v, nullable=False),
    "organizer": lambda v: {"emailAddress": _email_address(
        _object(v, "microsoft.graph.recipient", {"emailAddress"}).get("emailAddress"))},
    "onlineMeeting": lambda v: v if v is None else _object(
        v, "microsoft.graph.onlineMeetingInfo",
        {"joinUrl", "conferenceId", "tollNumber", "tollFreeNumbers", "phones", "quickDial"}),
    "responseStatus": _response_status,
}


def normalize_payload(payload: dict, *, internal: bool = False) -> dict:
    """Check a POST/PATCH body and return its properties normalized.

    Keys are Graph property names; ``start``/``end`` become ``(utc, zone name)``
    and ``singleValueExtendedProperties`` a dict id -> value. ``internal``
    admits the read-only properties the meetings module sets on an attendee's
    copy (:data:`INTERNAL_WRITABLE`).
    """
    changes = {}
    for name, value in payload.items():
        if name.startswith("@odata."):
            continue
        if internal and name in INTERNAL_WRITABLE:
            changes[name] = _NORMALIZERS[name](value)
        elif name in WRITABLE:
            changes[name] = _NORMALIZERS[name](value)
        elif name in IGNORED_ON_WRITE:
            continue
        elif name in NAVIGATION:
            raise GraphError(501, "NotImplemented",
                             f"The sandbox does not support writing '{name}' inline with an event.")
        else:
            raise unknown_property(name)
    return changes


def default_data(mailbox: Mailbox) -> dict:
    """Graph's defaults for a new event (user-post-events.md response sample)."""
    return {
        "subject": "",
        "body": {"contentType": "html", "content": ""},
        "isAllDay": False,
        "location": empty_location(),
        "locations": [],
        "attendees": [],
        "categories": [],
        "importance": "normal",
        "sensitivity": "normal",
        "showAs": "busy",
        "isReminderOn": True,
        "reminderMinutesBeforeStart": 15,
        "responseRequested": True,
        "allowNewTimeProposals": True,
        "hideAttendees": False,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "onlineMeeting": None,
        "recurrence": None,
        "organizer": {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}},
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
    }


def new_online_meeting(mailbox: Mailbox) -> tuple[str, dict]:
    """Provider and join information Graph creates when ``isOnlineMeeting``
    turns true: Teams on work accounts, Skype on personal ones (the
    calendar's ``defaultOnlineMeetingProvider``)."""
    if mailbox.personal:
        return "skypeForConsumer", {"joinUrl": f"https://join.skype.com/{secrets.token_urlsafe(9)}",
                                    "conferenceId": None, "tollNumber": None, "tollFreeNumbers": [],
                                    "phones": [], "quickDial": None}
    thread = secrets.token_urlsafe(40).replace("-", "").replace("_", "")[:48]
    context = quote(f'{{"Tid":"{mailbox.tenant_id}","Oid":"{mailbox.id}"}}', safe="")
    return "teamsForBusiness", {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context={context}",
        "conferenceId": str(secrets.randbelow(10**9)).zfill(9),
        "tollNumber": None, "tollFreeNumbers": [], "phones": [], "quickDial": None}


def web_link(mailbox: Mailbox, event_id: str) -> str:
    host = "outlook.live.com" if mailbox.personal else "outlook.office365.com"
    return f"https://{host}/owa/?itemid={quote(event_id, safe='')}&exvsurl=1&path=/calendar/item"


# -- serialization -------------------------------------------------------------------

def output_zone(ctx) -> str:
    """The zone start/end are shown in: ``Prefer: outlook.timezone`` or UTC.

    An unsupported Prefer zone is ignored and not echoed (UNCONFIRMED).
    """
    wanted = ctx.prefer.get("outlook.timezone") if ctx is not None else None
    return wanted.strip() if wanted and is_supported(wanted) else "UTC"


def output_body_type(ctx) -> str:
    wanted = (ctx.prefer.get("outlook.body-content-type") or "").lower() if ctx is not None else ""
    return wanted if wanted in BODY_TYPES else "html"


def apply_preferences(ctx) -> None:
    """Echo the preferences the response honoured in ``Preference-Applied``."""
    if ctx is None:
        return
    applied = []
    wanted_zone = (ctx.prefer.get("outlook.timezone") or "").strip()
    if wanted_zone and is_supported(wanted_zone):
        applied.append(f'outlook.timezone="{wanted_zone}"')
    if (ctx.prefer.get("outlook.body-content-type") or "").lower() in BODY_TYPES:
        applied.append(f'outlook.body-content-type="{output_body_type(ctx)}"')
    if (ctx.prefer.get("idtype") or "").lower() == "immutableid":
        # Sandbox ids never change while an item stays in its mailbox, which
        # is what immutable ids promise (reference §2.8).
        applied.append('IdType="ImmutableId"')
    if ctx.applied_max_page_size is not None:
        applied.append(f"odata.maxpagesize={ctx.applied_max_page_size}")
    if applied:
        ctx.response_headers["Preference-Applied"] = ", ".join(applied)


def etag(event: StoredEvent) -> str:
    return f'W/"{event.change_key}"'


def event_to_json(ctx, mailbox: Mailbox, event: StoredEvent, *, select: list[str] | None = None,
                  overrides: dict | None = None, expand: dict[str, str | None] | None = None) -> dict:
    """The Graph JSON of ``event`` as ``mailbox`` sees it.

    ``ctx`` supplies the Prefer headers (None: UTC and HTML). ``select``:
    property names to keep (``id`` and ``@odata.etag`` always stay).
    ``overrides``: values replacing the serialized ones (the recurrence module
    renders occurrences from their master this way; ``start``/``end`` given
    as aware datetimes are formatted in the output zone). ``expand``: parsed
    ``$expand`` (name -> nested ``$filter`` text or None).
    """
    zone = output_zone(ctx)
    data = event.data
    apply_preferences(ctx)
    values = {
        "id": event.id,
        "createdDateTime": format_instant(event.created),
        "lastModifiedDateTime": format_instant(event.last_modified),
        "changeKey": event.change_key,
        "categories": list(data["categories"]),
        "originalStartTimeZone": data["originalStartTimeZone"],
        "originalEndTimeZone": data["originalEndTimeZone"],
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": data["reminderMinutesBeforeStart"],
        "isReminderOn": data["isReminderOn"],
        "hasAttachments": False,
        "subject": data["subject"],
        "bodyPreview": body_preview(data["body"]),
        "importance": data["importance"],
        "sensitivity": data["sensitivity"],
        "isAllDay": data["isAllDay"],
        "isCancelled": event.is_cancelled,
        "isOrganizer": event.is_organizer,
        "responseRequested": data["responseRequested"],
        "seriesMasterId": event.series_master_id,
        "showAs": data["showAs"],
        "type": event.type,
        "webLink": web_link(mailbox, event.id),
        "onlineMeetingUrl": None,
        "isOnlineMeeting": data["isOnlineMeeting"],
        "onlineMeetingProvider": data["onlineMeetingProvider"],
        "allowNewTimeProposals": data["allowNewTimeProposals"],
        "isDraft": False,
        "hideAttendees": data["hideAttendees"],
        "responseStatus": dict(event.response_status),
        "body": render_body(data["body"], output_body_type(ctx)),
        "start": date_time_time_zone(event.start, zone),
        "end": date_time_time_zone(event.end, zone),
        "location": dict(data["location"]),
        "locations": [dict(loc) for loc in data["locations"]],
        "recurrence": data["recurrence"],
        "attendees": [dict(a) for a in data["attendees"]],
        "organizer": data["organizer"],
        "onlineMeeting": data["onlineMeeting"],
    }
    if event.transaction_id is not None:
        values["transactionId"] = event.transaction_id
    if event.original_start is not None:
        values["originalStart"] = format_instant(event.original_start)
    for name, value in (overrides or {}).items():
        if name in ("start", "end") and isinstance(value, datetime):
            value = date_time_time_zone(value, zone)
        elif name == "originalStart" and isinstance(value, datetime):
            value = format_instant(value)
        values[name] = value
    ordered = [name for name in PROPERTY_ORDER if name in values]
    ordered += [name for name in values if name not in ordered]
    if select is not None:
        wanted = set(select) | {"id"}
        ordered = [name for name in ordered if name in wanted]
    result = {"@odata.etag": etag(event)}
    result.update((name, values[name]) for name in ordered)
    result.update(expanded_json(event, expand or {}))
    if (overrides or {}).get("type", event.type) == "seriesMaster":
        from .recurrence import series_extras  # recurrence imports this module
        result.update(series_extras(ctx, mailbox, event, select, expand or {}))
    return result


def expanded_json(event: StoredEvent, expand: dict[str, str | None]) -> dict:
    """The navigation properties named in ``$expand`` that the sandbox serves.

    ``singleValueExtendedProperties`` is omitted when no property matches, as
    Graph does for items that lack the property (observed behaviour).
    """
    result = {}
    for name, nested_filter in expand.items():
        key = name.lower()
        if key == "singlevalueextendedproperties":
            items = [{"id": pid, "value": value} for pid, value in event.extended_properties.items()]
            if nested_filter is not None:
                node = odata.parse_filter(nested_filter, {"id", "value"},
                                          "microsoft.graph.singleValueLegacyExtendedProperty")
                items = [item for item in items if odata.matches(node, item)]
            if items:
                result["singleValueExtendedProperties"] = items
        elif key in ("attachments", "extensions"):
            result[key] = []
        elif key == "exceptionoccurrences":
            continue  # a series master's, added by recurrence.series_extras
        elif key == "multivalueextendedproperties":
            continue  # never stored, so never present
        elif key in {n.lower() for n in NAVIGATION}:
            raise GraphError(501, "NotImplemented", f"The sandbox does not support $expand={name} on events.")
        else:
            raise GraphError(400, "BadRequest", "Parsing OData Select and Expand failed: Could not find a "
                             f"property named '{name}' on type '{ENTITY}'.")
    return result


def filter_record(mailbox: Mailbox, event: StoredEvent) -> dict:
    """What ``$filter``/``$orderby`` see: the UTC JSON plus every extended property."""
    record = event_to_json(None, mailbox, event)
    record["singleValueExtendedProperties"] = [{"id": pid, "value": value}
                                               for pid, value in event.extended_properties.items()]
    return record
