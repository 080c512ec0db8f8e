"""``/subscriptions``: change-notification subscriptions on a mailbox's events
(reference §5), plus control routes to inspect deliveries and to fire
lifecycle notifications. Storage, matching, delivery and the lifecycle
notifications that happen on their own are in
:mod:`outlook_sandbox.notifications`. Creating a subscription counts against
the (app, mailbox) throttling limits and fault rules like any Graph request.

Creating a subscription runs Graph's validation handshake against the
client's URLs. That is network I/O, so the create handler manages the world
lock itself (``manages_lock``) and holds it only around state changes.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from dateutil.parser import isoparse

from .. import notifications
from ..app import reply
from ..errors import GraphError
from ..notifications import Subscription, graph_time
from ..routing import control_route, graph_route
from .users import require_scope

CHANGE_TYPES = ("created", "updated", "deleted")
MAX_LIFETIME = timedelta(minutes=4230)   # Outlook events (reference §5.1)
MIN_LIFETIME = timedelta(minutes=45)     # shorter requests are raised to this
MAX_CLIENT_STATE = 128
MAX_PER_MAILBOX = 1000
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
# world.extra key. Graph requires HTTPS notification URLs; the sandbox also
# takes http:// by default so a test or a local Odoo can receive without TLS.
ALLOW_HTTP = "allow_http_webhooks"


def _subscription_scope(ctx) -> None:
    require_scope(ctx, "Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic")


def _extension_error(status: int, operation: str, reason: str) -> GraphError:
    # Outlook-backed subscription errors come wrapped this way; exact wording UNCONFIRMED.
    status_name = {400: "BadRequest", 403: "Forbidden", 404: "NotFound"}[status]
    return GraphError(status, "ExtensionError",
                      f"Operation: {operation}; Exception: [Status Code: {status_name}; Reason: {reason}]")


def _not_found() -> GraphError:
    # Graph's code for an unknown subscription id (UNCONFIRMED wording).
    return GraphError(404, "ResourceNotFound", "The object was not found.")


def _check_url(ctx, url, name: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise GraphError(400, "InvalidRequest", f"The '{name}' property is required.")
    parts = urlsplit(url.strip())
    allowed = {"https", "http"} if ctx.world.extra.get(ALLOW_HTTP, True) else {"https"}
    if parts.scheme.lower() not in allowed or not parts.hostname:
        raise GraphError(400, "InvalidRequest", f"The {name} must be an absolute URL that uses the HTTPS protocol.")
    return url.strip()


def _change_types(value) -> list[str]:
    if not isinstance(value, str) or not value.strip():
        raise GraphError(400, "InvalidRequest", "The 'changeType' property is required.")
    found = []
    for raw in value.split(","):
        name = raw.strip()
        if name not in CHANGE_TYPES:
            raise GraphError(400, "InvalidRequest", f"'{name}' is not a valid change type. "
                                                    "Valid values: created, updated, deleted.")
        if name not in found:
            found.append(name)
    return found


def _expiration(ctx, value, operation: str) -> datetime:
    """The requested expiry: Graph's limits applied (max 4230 minutes, min 45)."""
    if not isinstance(value, str) or not value.strip():
        raise GraphError(400, "InvalidRequest", "The 'expirationDateTime' property is required.")
    try:
        moment = isoparse(value.strip())
    except ValueError:
        raise GraphError(400, "BadRequest", f"The value '{value}' is not a valid DateTimeOffset.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = ctx.now
    if moment > now + MAX_LIFETIME:
        raise _extension_error(400, operation, "Subscription expiration can only be 4230 minutes in the future.")
    return max(moment, now + MIN_LIFETIME)


def _calendar_of_resource(ctx, resource) -> str | None:
    """Which calendar ``resource`` watches (None: all of the mailbox's); 400 if
    it is not an events collection of the signed-in user."""
    if not isinstance(resource, str) or not resource.strip():
        raise GraphError(400, "InvalidRequest", "The 'resource' property is required.")
    segments = resource.strip().strip("/").split("/")
    lowered = [s.lower() for s in segments]
    if len(segments) >= 2 and lowered[0] == "users":
        target = ctx.world.mailbox_by_id_or_address(segments[1])
        if target is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{segments[1]}' is invalid.")
        if target.id != ctx.mailbox.id:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        segments, lowered = ["me", *segments[2:]], ["me", *lowered[2:]]
    if lowered == ["me", "events"]:
        # UNCONFIRMED whether /me/events notifies for secondary calendars too;
        # Exchange watches the mailbox's events, so the sandbox does.
        return None
    if lowered == ["me", "calendar", "events"]:
        return ctx.mailbox.default_calendar.id
    if len(lowered) >= 4 and lowered[:2] == ["me", "calendars"] and lowered[-1] == "events":
        # The id may hold '/' (raw or percent-encoded): it is everything in between.
        calendar_id = unquote("/".join(segments[2:-1]))
        if calendar_id not in ctx.mailbox.calendars:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return calendar_id
    raise GraphError(400, "InvalidRequest",
                     f"The resource '{resource}' is not supported: the sandbox offers subscriptions to "
                     "/me/events, /me/calendar/events and /me/calendars/{id}/events (or /users/{id}/...).")


def subscription_json(ctx, sub: Subscription) -> dict:
    return {
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.client_id,
        "changeType": ",".join(sub.change_types),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": graph_time(sub.expires_at),
        "creatorId": sub.mailbox_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _own_subscription(ctx, subscription_id: str) -> Subscription:
    """Only the app and user that created a subscription see it."""
    sub = notifications.subscriptions(ctx.world).get(subscription_id)
    if sub is None or sub.client_id != ctx.client_id or sub.mailbox_id != ctx.mailbox.id:
        raise _not_found()
    return sub


def _check_quota(ctx) -> None:
    count = sum(1 for s in notifications.subscriptions(ctx.world).values() if s.mailbox_id == ctx.mailbox.id)
    if count >= MAX_PER_MAILBOX:
        raise _extension_error(403, "Create", f"The maximum number of subscriptions ({MAX_PER_MAILBOX}) "
                                              "for this mailbox has been reached.")


@graph_route("POST", "/subscriptions")
def create_subscription(ctx):
    with ctx.world.lock:
        _subscription_scope(ctx)
        data = ctx.json()
        if data.get("includeResourceData"):
            raise GraphError(400, "InvalidRequest",
                             "The sandbox does not offer notifications with resource data (includeResourceData).")
        change_types = _change_types(data.get("changeType"))
        notification_url = _check_url(ctx, data.get("notificationUrl"), "notificationUrl")
        lifecycle_url = data.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = _check_url(ctx, lifecycle_url, "lifecycleNotificationUrl")
        client_state = data.get("clientState")
        if client_state is not None and (not isinstance(client_state, str) or len(client_state) > MAX_CLIENT_STATE):
            raise GraphError(400, "InvalidRequest",
                             f"The 'clientState' property must be a string of at most {MAX_CLIENT_STATE} characters.")
        calendar_id = _calendar_of_resource(ctx, data.get("resource"))
        expires_at = _expiration(ctx, data.get("expirationDateTime"), "Create")
        _check_quota(ctx)
    # The handshake, outside the lock: Graph POSTs each URL and waits up to 10 s.
    for url in dict.fromkeys(u for u in (notification_url, lifecycle_url) if u):
        failure = notifications.validate_endpoint(url)
        if failure:
            raise GraphError(400, "InvalidRequest", failure)
    with ctx.world.lock:
        _check_quota(ctx)
        sub = Subscription(id=str(uuid.uuid4()), resource=data["resource"], change_types=change_types,
                           notification_url=notification_url, lifecycle_url=lifecycle_url,
                           client_state=client_state, expires_at=expires_at, client_id=ctx.client_id,
                           mailbox_id=ctx.mailbox.id, calendar_id=calendar_id)
        sub.authorize(ctx.access_token.expires_at)
        notifications.add_subscription(ctx.world, sub)
        return reply(201, {"@odata.context": f"{ctx.base_url}/$metadata#subscriptions/$entity",
                           **subscription_json(ctx, sub)})


create_subscription.manages_lock = True


@graph_route("GET", "/subscriptions")
def list_subscriptions(ctx):
    _subscription_scope(ctx)
    mine = [s for s in notifications.subscriptions(ctx.world).values()
            if s.client_id == ctx.client_id and s.mailbox_id == ctx.mailbox.id]
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#subscriptions",
                       "value": [subscription_json(ctx, s) for s in mine]})


@graph_route("GET", "/subscriptions/{subscription_id}")
def get_subscription(ctx, subscription_id):
    _subscription_scope(ctx)
    sub = _own_subscription(ctx, subscription_id)
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#subscriptions/$entity",
                       **subscription_json(ctx, sub)})


@graph_route("PATCH", "/subscriptions/{subscription_id}")
def renew_subscription(ctx, subscription_id):
    """Renewal: only ``expirationDateTime`` may change here (Graph also lets
    ``notificationUrl`` change; the sandbox does not)."""
    _subscription_scope(ctx)
    sub = _own_subscription(ctx, subscription_id)
    data = ctx.json()
    unsupported = sorted(set(data) - {"expirationDateTime", "@odata.type"})
    if unsupported:
        raise GraphError(400, "InvalidRequest",
                         f"The sandbox can only renew subscriptions (expirationDateTime); got {', '.join(unsupported)}.")
    sub.expires_at = _expiration(ctx, data.get("expirationDateTime"), "Update")
    sub.authorize(ctx.access_token.expires_at)  # renewing also reauthorizes (lifecycle events page)
    return reply(200, {"@odata.context": f"{ctx.base_url}/$metadata#subscriptions/$entity",
                       **subscription_json(ctx, sub)})


@graph_route("POST", "/subscriptions/{subscription_id}/reauthorize")
def reauthorize_subscription(ctx, subscription_id):
    """Answer to ``reauthorizationRequired``: the subscription is authorized
    until the caller's token expires; its expiry does not move."""
    _subscription_scope(ctx)
    _own_subscription(ctx, subscription_id).authorize(ctx.access_token.expires_at)
    return reply(204)


@graph_route("DELETE", "/subscriptions/{subscription_id}")
def delete_subscription(ctx, subscription_id):
    _subscription_scope(ctx)
    sub = _own_subscription(ctx, subscription_id)
    del notifications.subscriptions(ctx.world)[sub.id]
    return reply(204)


# -- control API -------------------------------------------------------------------

@control_route("GET", "/subscriptions")
def control_list_subscriptions(ctx):
    with ctx.world.lock:
        return reply(200, {"value": [subscription_json(ctx, s)
                                     for s in notifications.subscriptions(ctx.world).values()]})


@control_route("POST", "/subscriptions/{subscription_id}/lifecycle")
def control_fire_lifecycle(ctx, subscription_id):
    """``{"event": "missed" | "subscriptionRemoved" | "reauthorizationRequired"}``:
    deliver that lifecycle notification; ``subscriptionRemoved`` also removes
    the subscription, as Graph does when it sends it."""
    spec = ctx.json()
    event = spec.get("event")
    if event not in LIFECYCLE_EVENTS:
        raise GraphError(400, "BadRequest", f"'event' must be one of {', '.join(LIFECYCLE_EVENTS)}.")
    with ctx.world.lock:
        sub = notifications.subscriptions(ctx.world).get(subscription_id)
        if sub is None:
            raise _not_found()
        if not sub.lifecycle_url:
            raise GraphError(400, "BadRequest", "The subscription has no lifecycleNotificationUrl.")
        notifications.send_lifecycle(ctx.world, sub, event)
        if event == "subscriptionRemoved":
            del notifications.subscriptions(ctx.world)[sub.id]
    return reply(202)


def _webhook_settings_json(ctx) -> dict:
    return {"allow_http": bool(ctx.world.extra.get(ALLOW_HTTP, True)),
            "retry_window_seconds": float(ctx.world.extra.get(notifications.RETRY_WINDOW,
                                                              notifications.DEFAULT_RETRY_WINDOW))}


@control_route("POST", "/notifications/settings")
def control_set_webhook_settings(ctx):
    """``{"allow_http": bool, "retry_window_seconds": number}``: accept http://
    notification URLs (Graph: HTTPS only); how long failed deliveries are retried."""
    spec = ctx.json()
    unknown = set(spec) - {"allow_http", "retry_window_seconds"}
    if unknown:
        raise GraphError(400, "BadRequest", f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "allow_http" in spec and not isinstance(spec["allow_http"], bool):
        raise GraphError(400, "BadRequest", "'allow_http' takes true or false.")
    window = spec.get("retry_window_seconds", 0)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window < 0:
        raise GraphError(400, "BadRequest", "'retry_window_seconds' must be a number of seconds >= 0.")
    with ctx.world.lock:
        if "allow_http" in spec:
            ctx.world.extra[ALLOW_HTTP] = spec["allow_http"]
        if "retry_window_seconds" in spec:
            ctx.world.extra[notifications.RETRY_WINDOW] = float(window)
        return reply(200, _webhook_settings_json(ctx))


@control_route("GET", "/notifications/settings")
def control_get_webhook_settings(ctx):
    with ctx.world.lock:
        return reply(200, _webhook_settings_json(ctx))


@control_route("GET", "/notifications")
def control_delivery_log(ctx):
    """Every delivery attempt (notifications and lifecycle), oldest first."""
    return reply(200, {"value": notifications.delivery_log(ctx.world)})


@control_route("POST", "/notifications/wait")
def control_wait_idle(ctx):
    """``{"timeout": 10}``: wait until no delivery is pending; 200 ``{"idle": bool}``."""
    spec = ctx.json() if ctx.body.strip() else {}
    timeout = spec.get("timeout", 10)
    if not isinstance(timeout, (int, float)) or not 0 <= timeout <= 60:
        raise GraphError(400, "BadRequest", "'timeout' must be a number of seconds between 0 and 60.")
    return reply(200, {"idle": notifications.wait_idle(ctx.world, float(timeout))})
