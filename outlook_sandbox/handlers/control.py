"""The sandbox control API under ``/_sandbox`` (not part of Graph): what tests,
demos and benchmarks use to set up and inspect the world. JSON in and out;
errors in Graph's envelope. ``GET /_sandbox/`` lists every control route.

Routes here: reset, seed, mailboxes (list, add, delete, inspect stored events), app
registrations, test tokens, fault rules, throttling limits, settings, the
clock (time travel) and request statistics. Other modules append their own
routes (token expiry, consent, delta eviction, sent mail, notifications,
subscriptions) at the end of this file.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from .. import faults, notifications, throttling
from ..app import reply
from ..errors import GraphError
from ..routing import CONTROL, ROUTES, control_route
from ..seed import load_seed_data
from ..store import Mailbox, StoredEvent


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _mailbox_or_404(ctx, key: str) -> Mailbox:
    mailbox = ctx.world.mailbox_by_id_or_address(key or "")
    if mailbox is None:
        raise GraphError(404, "ErrorInvalidUser", f"No sandbox mailbox {key!r}.")
    return mailbox


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@control_route("GET", "/")
def index(ctx):
    """This list of control routes."""
    routes = [{"method": r.method, "path": "/_sandbox/" + "/".join(r.segments),
               "description": " ".join((r.handler.__doc__ or "").strip().split("\n\n")[0].split())}
              for r in ROUTES if r.kind == CONTROL]
    return reply(200, {"routes": routes})


@control_route("POST", "/reset")
def reset(ctx):
    """Empty the world (no tenants, apps, mailboxes, tokens or rules)."""
    ctx.world.reset()
    return reply(204)


@control_route("POST", "/seed")
def seed(ctx):
    """Add seed data (the format of ``outlook_sandbox.seed``); ``?reset=true`` empties the world first."""
    data = ctx.json()
    if ctx.query.get("reset", "false").lower() not in ("true", "false"):
        raise _bad("'reset' must be true or false.")
    with ctx.world.lock:
        if ctx.query.get("reset", "").lower() == "true":
            ctx.world.reset()
        load_seed_data(ctx.world, data)
        return reply(200, {"mailboxes": [_mailbox_json(m) for m in ctx.world.mailboxes.values()]})


def _mailbox_json(mailbox: Mailbox) -> dict:
    counts: dict[str, int] = {}
    for event in mailbox.events.values():
        counts[event.calendar_id] = counts.get(event.calendar_id, 0) + 1
    return {"id": mailbox.id, "address": mailbox.address, "display_name": mailbox.display_name,
            "tenant_id": mailbox.tenant_id, "personal": mailbox.personal, "time_zone": mailbox.time_zone,
            "aliases": list(mailbox.aliases),
            "event_count": len(mailbox.events),
            "calendars": [{"id": c.id, "name": c.name, "is_default": c.is_default,
                           "event_count": counts.get(c.id, 0)} for c in mailbox.calendars.values()]}


@control_route("GET", "/mailboxes")
def list_mailboxes(ctx):
    """Every mailbox with its tenant, calendars and event counts."""
    with ctx.world.lock:
        values = []
        for mailbox in ctx.world.mailboxes.values():
            tenant = ctx.world.tenants.get(mailbox.tenant_id)
            values.append({**_mailbox_json(mailbox), "tenant": tenant.domain if tenant else None})
        return reply(200, {"value": values})


@control_route("POST", "/mailboxes")
def add_mailbox(ctx):
    """Add one mailbox: ``{"address", "display_name"?, "personal"?, "time_zone"?, "aliases"?}``."""
    spec = ctx.json()
    unknown = set(spec) - {"address", "display_name", "personal", "time_zone", "aliases"}
    if unknown:
        raise _bad(f"Unknown mailbox fields: {', '.join(sorted(unknown))}.")
    address = spec.get("address")
    if not isinstance(address, str) or address.count("@") != 1 or not all(address.split("@")):
        raise _bad("'address' must be an e-mail address.")
    display_name = spec.get("display_name", "")
    if not isinstance(display_name, str):
        raise _bad("'display_name' must be a string.")
    personal = spec.get("personal", False)
    if not isinstance(personal, bool):
        raise _bad("'personal' must be true or false.")
    time_zone = spec.get("time_zone", "UTC")
    try:
        ZoneInfo(time_zone)
    except (TypeError, ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        raise _bad(f"'time_zone' must be an IANA time zone name, not {time_zone!r}.") from None
    aliases = spec.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.count("@") == 1 for a in aliases):
        raise _bad("'aliases' must be a list of e-mail addresses.")
    with ctx.world.lock:
        if any(ctx.world.mailbox_by_address(a) for a in [address, *aliases]):
            raise GraphError(409, "Conflict", f"A sandbox mailbox {address!r} (or one of its aliases) already exists.")
        mailbox = ctx.world.add_mailbox(address, display_name, personal=personal, time_zone=time_zone)
        mailbox.aliases.extend(aliases)
        return reply(201, _mailbox_json(mailbox))


@control_route("DELETE", "/mailboxes/{address}")
def delete_mailbox(ctx, address):
    """The mailbox goes away (deleted, or moved out of reach): its tokens stop
    working and its subscriptions are removed with ``subscriptionRemoved``."""
    with ctx.world.lock:
        mailbox = _mailbox_or_404(ctx, address)
        notifications.remove_subscriptions(ctx.world, mailbox.id)
        for tokens in (ctx.world.access_tokens, ctx.world.refresh_tokens):
            for token in tokens.values():
                if token.mailbox_id == mailbox.id:
                    token.revoked = True
        del ctx.world.mailboxes[mailbox.id]
    return reply(204)


def _event_json(mailbox: Mailbox, event: StoredEvent) -> dict:
    calendar = mailbox.calendars.get(event.calendar_id)
    data = event.data
    return {"id": event.id, "type": event.type, "calendar": calendar.name if calendar else None,
            "calendar_id": event.calendar_id, "iCalUId": event.ical_uid, "changeKey": event.change_key,
            "seq": event.seq, "subject": data.get("subject"),
            "start": _iso(event.start), "end": _iso(event.end),
            "start_time_zone": event.start_tz, "end_time_zone": event.end_tz,
            "isAllDay": data.get("isAllDay", False), "isCancelled": event.is_cancelled,
            "isOrganizer": event.is_organizer, "organizer": data.get("organizer"),
            "attendees": data.get("attendees", []), "responseStatus": event.response_status,
            "recurrence": data.get("recurrence"), "seriesMasterId": event.series_master_id,
            "originalStart": _iso(event.original_start),
            "cancelledOccurrences": sorted(_iso(s) for s in event.cancelled_occurrences),
            "transactionId": event.transaction_id, "extendedProperties": event.extended_properties,
            "created": _iso(event.created), "lastModified": _iso(event.last_modified)}


@control_route("GET", "/mailboxes/{address}/events")
def mailbox_events(ctx, address):
    """Every stored event of a mailbox (masters and exceptions, not plain occurrences), sorted by start."""
    with ctx.world.lock:
        mailbox = _mailbox_or_404(ctx, address)
        events = sorted(mailbox.events.values(), key=lambda e: (e.start, e.id))
        return reply(200, {"mailbox": mailbox.address, "value": [_event_json(mailbox, e) for e in events]})


@control_route("POST", "/apps")
def add_app(ctx):
    """Register an app: ``{"client_id", "client_secret", "redirect_uris", "secret_expires"?, "display_name"?}``."""
    spec = ctx.json()
    unknown = set(spec) - {"client_id", "client_secret", "redirect_uris", "secret_expires", "display_name",
                           "sign_in_audience", "tenant_id"}
    if unknown:
        raise _bad(f"Unknown app fields: {', '.join(sorted(unknown))}.")
    for name in ("client_id", "client_secret"):
        if not isinstance(spec.get(name), str) or not spec[name]:
            raise _bad(f"'{name}' must be a non-empty string.")
    redirect_uris = spec.get("redirect_uris", [])
    if not isinstance(redirect_uris, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in redirect_uris):
        raise _bad("'redirect_uris' must be a list of http(s) URLs.")
    expires = spec.get("secret_expires")
    try:
        expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None
    except (AttributeError, ValueError):
        raise _bad("'secret_expires' must be an ISO 8601 date-time.") from None
    if expires_at is not None and expires_at.tzinfo is None:
        raise _bad("'secret_expires' must carry a UTC offset (e.g. 2030-01-01T00:00:00Z).")
    with ctx.world.lock:
        if spec["client_id"] in ctx.world.apps:
            raise GraphError(409, "Conflict", f"An app with client id {spec['client_id']!r} already exists.")
        app = ctx.world.add_app(spec["client_id"], spec["client_secret"], redirect_uris,
                                display_name=spec.get("display_name", "Odoo"), tenant_id=spec.get("tenant_id"),
                                secret_expires_at=expires_at,
                                sign_in_audience=spec.get("sign_in_audience", "AzureADandPersonalMicrosoftAccount"))
        return reply(201, {"client_id": app.client_id, "display_name": app.display_name,
                           "redirect_uris": app.redirect_uris, "tenant_id": app.tenant_id,
                           "sign_in_audience": app.sign_in_audience, "secret_expires": _iso(expires_at)})


@control_route("POST", "/tokens")
def mint_token(ctx):
    """Mint an access token for a mailbox without signing in (tests only).

    Body: ``{"mailbox": "alice@contoso.com", "client_id": "...",
    "scopes": ["https://graph.microsoft.com/Calendars.ReadWrite"], "lifetime": 3599}``.
    """
    spec = ctx.json()
    mailbox = _mailbox_or_404(ctx, spec.get("mailbox", ""))
    scopes = spec.get("scopes") or ["https://graph.microsoft.com/Calendars.ReadWrite",
                                    "https://graph.microsoft.com/User.Read"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise _bad("'scopes' must be a list of strings.")
    lifetime = spec.get("lifetime", 3599)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool):
        raise _bad("'lifetime' must be a whole number of seconds.")
    with ctx.world.lock:
        token = ctx.world.issue_access_token(mailbox, spec.get("client_id", "sandbox-tests"), scopes, lifetime)
    return reply(201, {"access_token": token.value, "expires_at": token.expires_at.isoformat()})


@control_route("POST", "/faults")
def add_fault(ctx):
    """Install a fault rule; see :mod:`outlook_sandbox.faults` for the fields."""
    return reply(201, faults.add_rule(ctx.world, ctx.json()).to_json())


@control_route("GET", "/faults")
def list_faults(ctx):
    """The installed fault rules with their hit counts."""
    with ctx.world.lock:
        return reply(200, {"value": [rule.to_json() for rule in faults.rules(ctx.world)]})


@control_route("DELETE", "/faults")
def clear_faults(ctx):
    """Remove every fault rule."""
    faults.clear_rules(ctx.world)
    return reply(204)


def _throttling_json(ctx) -> dict:
    lim = throttling.limits(ctx.world)
    return {"enabled": ctx.world.throttling_enabled, "requests_per_window": lim.requests_per_window,
            "concurrent": lim.concurrent, "window_seconds": throttling.WINDOW_SECONDS}


@control_route("POST", "/throttling")
def set_throttling(ctx):
    """``{"enabled": true, "requests_per_window": 10000, "concurrent": 4}`` (per app and mailbox)."""
    spec = ctx.json()
    unknown = set(spec) - {"enabled", "requests_per_window", "concurrent"}
    if unknown:
        raise _bad(f"Unknown throttling fields: {', '.join(sorted(unknown))}.")
    if "enabled" in spec and not isinstance(spec["enabled"], bool):
        raise _bad("'enabled' must be true or false.")
    for name in ("requests_per_window", "concurrent"):
        value = spec.get(name, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _bad(f"'{name}' must be a positive integer.")
    with ctx.world.lock:
        if "enabled" in spec:
            ctx.world.throttling_enabled = spec["enabled"]
        lim = throttling.limits(ctx.world)
        for name in ("requests_per_window", "concurrent"):
            if name in spec:
                setattr(lim, name, spec[name])
        return reply(200, _throttling_json(ctx))


@control_route("GET", "/throttling")
def get_throttling(ctx):
    """The throttling switch and limits."""
    with ctx.world.lock:
        return reply(200, _throttling_json(ctx))


def _settings_json(ctx) -> dict:
    return {"auto_consent": ctx.world.auto_consent, "throttling": ctx.world.throttling_enabled}


@control_route("POST", "/settings")
def set_settings(ctx):
    """``{"auto_consent": bool, "throttling": bool}``: skip the consent page; switch throttling."""
    spec = ctx.json()
    unknown = set(spec) - {"auto_consent", "throttling"}
    if unknown:
        raise _bad(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if not all(isinstance(v, bool) for v in spec.values()):
        raise _bad("Settings take true or false.")
    with ctx.world.lock:
        if "auto_consent" in spec:
            ctx.world.auto_consent = spec["auto_consent"]
        if "throttling" in spec:
            ctx.world.throttling_enabled = spec["throttling"]
        return reply(200, _settings_json(ctx))


@control_route("GET", "/settings")
def get_settings(ctx):
    """The current settings."""
    with ctx.world.lock:
        return reply(200, _settings_json(ctx))


def _clock_json(ctx) -> dict:
    return {"now": _iso(ctx.world.clock.now()), "offset_seconds": ctx.world.clock.offset.total_seconds()}


@control_route("GET", "/clock")
def get_clock(ctx):
    """The sandbox's current time (real time plus the travelled offset)."""
    return reply(200, _clock_json(ctx))


@control_route("POST", "/clock")
def advance_clock(ctx):
    """``{"advance_seconds": N}``: move the clock forward (tokens expire, throttling windows pass)."""
    spec = ctx.json()
    seconds = spec.get("advance_seconds")
    if set(spec) != {"advance_seconds"} or not _is_number(seconds) or seconds < 0:
        raise _bad("Body must be {\"advance_seconds\": N} with N >= 0; the clock never goes back.")
    with ctx.world.lock:
        ctx.world.clock.advance(seconds)
        notifications.subscriptions(ctx.world)  # lifecycle notifications now due go out
    return reply(200, _clock_json(ctx))


@control_route("GET", "/stats")
def get_stats(ctx):
    """Request counts per endpoint and mailbox (Graph and sign-in; not this control API)."""
    control_names = {r.name for r in ROUTES if r.kind == CONTROL}
    with ctx.world.lock:
        counted = sorted((key, n) for key, n in ctx.world.stats.items() if key[0] not in control_names)
    by_endpoint: dict[str, int] = {}
    by_mailbox: dict[str, int] = {}
    for (endpoint, mailbox), count in counted:
        by_endpoint[endpoint] = by_endpoint.get(endpoint, 0) + count
        if mailbox:
            by_mailbox[mailbox] = by_mailbox.get(mailbox, 0) + count
    return reply(200, {"total": sum(n for _, n in counted), "by_endpoint": by_endpoint, "by_mailbox": by_mailbox,
                       "rows": [{"endpoint": e, "mailbox": m or None, "count": n} for (e, m), n in counted]})


@control_route("DELETE", "/stats")
def clear_stats(ctx):
    """Zero the request statistics."""
    with ctx.world.lock:
        ctx.world.stats.clear()
    return reply(204)


@control_route("GET", "/mail")
def list_sent_mail(ctx):
    """The sent-mail log (see :mod:`outlook_sandbox.meetings`); ``?mailbox=addr``
    keeps messages from or to that address."""
    from ..meetings import mail_log_json
    with ctx.world.lock:
        return reply(200, {"value": mail_log_json(ctx.world, ctx.query.get("mailbox"))})


@control_route("DELETE", "/mail")
def clear_sent_mail(ctx):
    with ctx.world.lock:
        ctx.world.sent_mail.clear()
    return reply(204)


# -- identity: token expiry and consent (outlook_sandbox.handlers.identity) ----


@control_route("POST", "/tokens/expire")
def expire_tokens(ctx):
    """``{"mailbox": addr?, "kind": "access"|"refresh"|"all", "revoke": false}``:
    expire (or revoke) the matching tokens; every mailbox's when ``mailbox`` is omitted."""
    spec = ctx.json()
    kind = spec.get("kind", "all")
    if kind not in ("access", "refresh", "all"):
        raise GraphError(400, "BadRequest", "'kind' must be 'access', 'refresh' or 'all'.")
    if not isinstance(spec.get("revoke", False), bool):
        raise GraphError(400, "BadRequest", "'revoke' must be true or false.")
    with ctx.world.lock:
        mailbox = None
        if spec.get("mailbox") is not None:
            mailbox = ctx.world.mailbox_by_id_or_address(str(spec["mailbox"]))
            if mailbox is None:
                raise GraphError(404, "ErrorInvalidUser", f"No sandbox mailbox {spec['mailbox']!r}.")
        stores = {"access": [ctx.world.access_tokens], "refresh": [ctx.world.refresh_tokens],
                  "all": [ctx.world.access_tokens, ctx.world.refresh_tokens]}[kind]
        changed, revoked = 0, set()
        for tokens in stores:
            for token in tokens.values():
                if mailbox is None or token.mailbox_id == mailbox.id:
                    if spec.get("revoke", False):
                        token.revoked = True
                        revoked.add((token.mailbox_id, token.client_id))
                    else:
                        token.expires_at = min(token.expires_at, ctx.world.clock.now())
                    changed += 1
        # Access revoked: Graph removes the app's subscriptions on the mailbox
        # and says so (subscriptionRemoved, lifecycle events page).
        for mailbox_id, client_id in revoked:
            notifications.remove_subscriptions(ctx.world, mailbox_id, client_id)
        return reply(200, {"changed": changed})


@control_route("POST", "/consent")
def set_auto_consent(ctx):
    """``{"auto_consent": bool}``: true skips the sign-in page whenever the account is known."""
    spec = ctx.json()
    if not isinstance(spec.get("auto_consent"), bool):
        raise GraphError(400, "BadRequest", "'auto_consent' must be true or false.")
    with ctx.world.lock:
        ctx.world.auto_consent = spec["auto_consent"]
    return reply(200, {"auto_consent": spec["auto_consent"]})


@control_route("DELETE", "/consents")
def forget_consents(ctx):
    """Forget every consent users gave to apps (the next sign-in asks again)."""
    with ctx.world.lock:
        ctx.world.consents.clear()
    return reply(204)


# -- delta tokens (outlook_sandbox.delta) -----------------------------------------------


@control_route("POST", "/delta/evict")
def evict_delta_tokens(ctx):
    """``{"mailbox": addr?}``: every outstanding delta/skip token of the mailbox (all
    mailboxes when omitted) answers 410 SyncStateNotFound from now on."""
    from ..delta import evict_tokens
    spec = ctx.json() if ctx.body else {}
    with ctx.world.lock:
        mailbox = None
        if spec.get("mailbox") is not None:
            mailbox = _mailbox_or_404(ctx, str(spec["mailbox"]))
        return reply(200, {"evicted": evict_tokens(ctx.world, mailbox)})
