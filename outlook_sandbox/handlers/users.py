"""``/me`` and the mailbox's calendars (list, get, create), and
``translateExchangeIds``.

Known differences from Graph: calendars cannot be renamed or deleted
(no PATCH/DELETE), there are no ``calendarGroups`` or group calendars, and a
delegated token reaches its own mailbox only (no shared calendars).
"""
from __future__ import annotations

from .. import ids
from ..app import reply
from ..errors import GraphError, not_found
from ..routing import graph_route
from ..store import Calendar, Mailbox, new_graph_id

CALENDAR_COLORS = {"auto", "lightBlue", "lightGreen", "lightOrange", "lightGray", "lightYellow",
                   "lightTeal", "lightPink", "lightBrown", "lightRed", "maxColor"}


def require_scope(ctx, *accepted: str) -> None:
    """403 unless the token carries one of ``accepted`` (short names such as
    ``Calendars.ReadWrite``; full ``https://graph.microsoft.com/...`` forms count)."""
    granted = {s.rsplit("/", 1)[-1].lower() for s in ctx.scopes}
    if not granted & {a.lower() for a in accepted}:
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def calendar_scope(ctx) -> None:
    if ctx.method == "GET":
        require_scope(ctx, "Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")
    else:
        require_scope(ctx, "Calendars.ReadWrite")


def user_json(ctx, mailbox: Mailbox) -> dict:
    given, _, surname = mailbox.display_name.partition(" ")
    return {
        "@odata.context": f"{ctx.base_url}/$metadata#users/$entity",
        "businessPhones": [],
        "displayName": mailbox.display_name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": mailbox.address,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": mailbox.address,
        "id": mailbox.id,
    }


def calendar_json(ctx, mailbox: Mailbox, calendar: Calendar) -> dict:
    return {
        "@odata.etag": f'W/"{calendar.change_key}"',
        "id": calendar.id,
        "name": calendar.name,
        "color": calendar.color,
        "hexColor": calendar.hex_color,
        "isDefaultCalendar": calendar.is_default,
        "changeKey": calendar.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": calendar.can_edit,
        "isRemovable": not calendar.is_default,
        "isTallyingResponses": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"] if not mailbox.personal else ["skypeForConsumer"],
        "defaultOnlineMeetingProvider": "teamsForBusiness" if not mailbox.personal else "skypeForConsumer",
        "owner": {"name": mailbox.display_name, "address": mailbox.address},
    }


def get_calendar(ctx, calendar_id: str | None) -> Calendar:
    """The calendar named in the path (None: the default one), or 404."""
    if calendar_id is None:
        return ctx.mailbox.default_calendar
    calendar = ctx.mailbox.calendars.get(calendar_id)
    if calendar is None:
        raise not_found()
    return calendar


@graph_route("GET", "/me")
def get_me(ctx):
    require_scope(ctx, "User.Read", "User.ReadBasic.All", "User.Read.All")
    body = user_json(ctx, ctx.mailbox)
    selected = {name.strip().lower() for name in (ctx.query.get("$select") or "").split(",") if name.strip()}
    if "proxyaddresses" in selected:
        # "Returned only on $select" (user resource, proxyAddresses): the primary address with an
        # upper-case "SMTP:" prefix, the others "smtp:"; none for a personal Microsoft account.
        mailbox = ctx.mailbox
        body["proxyAddresses"] = [] if mailbox.personal else [f"SMTP:{mailbox.address}"] + [
            f"smtp:{alias}" for alias in mailbox.aliases]
    if selected:
        body = {key: value for key, value in body.items()
                if key.startswith("@odata") or key.lower() in selected or key == "id"}
    return reply(200, body)


@graph_route("GET", "/me/calendar")
def get_default_calendar(ctx):
    calendar_scope(ctx)
    body = calendar_json(ctx, ctx.mailbox, ctx.mailbox.default_calendar)
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#users('{ctx.mailbox.id}')/calendar/$entity", **body})


@graph_route("GET", "/me/calendars")
def list_calendars(ctx):
    calendar_scope(ctx)
    values = [calendar_json(ctx, ctx.mailbox, c) for c in ctx.mailbox.calendars.values()]
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#users('{ctx.mailbox.id}')/calendars",
                       "value": values})


@graph_route("GET", "/me/calendars/{calendar_id}")
def get_calendar_by_id(ctx, calendar_id):
    calendar_scope(ctx)
    return reply(200, calendar_json(ctx, ctx.mailbox, get_calendar(ctx, calendar_id)))


@graph_route("POST", "/me/calendars")
def create_calendar(ctx):
    calendar_scope(ctx)
    data = ctx.json()
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidRequest", "The calendar name is required.")
    if any(c.name.lower() == name.strip().lower() for c in ctx.mailbox.calendars.values()):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    color = data.get("color", "auto")
    if color not in CALENDAR_COLORS:
        raise GraphError(400, "BadRequest", f"Requested value '{color}' was not found.")
    calendar = Calendar(id=new_graph_id(b"\x00\x00\x00\x01"), name=name.strip(), color=color)
    ctx.mailbox.calendars[calendar.id] = calendar
    return reply(201, calendar_json(ctx, ctx.mailbox, calendar))


# translateExchangeIds (learn.microsoft.com/graph/api/user-translateexchangeids):
# restId <-> ewsId only; the binary entryId forms and immutable ids are not
# emulated (400). At most 1000 ids per call, as documented.
_TRANSLATABLE = ("restId", "ewsId")


@graph_route("POST", "/me/translateExchangeIds")
def translate_exchange_ids(ctx):
    body = ctx.json()
    source, target, inputs = body.get("sourceIdType"), body.get("targetIdType"), body.get("inputIds")
    if source not in _TRANSLATABLE or target not in _TRANSLATABLE:
        raise GraphError(400, "ErrorInvalidParameter", "The sandbox translates between 'restId' and 'ewsId' only.")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs) or len(inputs) > 1000:
        raise GraphError(400, "ErrorInvalidParameter", "inputIds must be a list of at most 1000 strings.")
    convert = {("restId", "ewsId"): ids.rest_to_ews, ("ewsId", "restId"): ids.ews_to_rest}.get(
        (source, target), lambda value: value)
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#Collection(microsoft.graph.convertIdResult)",
                       "value": [{"sourceId": i, "targetId": convert(i)} for i in inputs]})
