"""The sandbox control API under ``/_sandbox`` (not part of Graph): reset,
seeding, tokens for tests, and (more being written) fault rules, clock,
statistics and the sent-mail log."""
from __future__ import annotations

from .. import faults
from ..app import reply
from ..errors import GraphError
from ..routing import control_route


@control_route("POST", "/reset")
def reset(ctx):
    ctx.world.reset()
    return reply(204)


@control_route("POST", "/tokens")
def mint_token(ctx):
    """Mint an access token for a mailbox without signing in (tests only).

    Body: ``{"mailbox": "alice@contoso.com", "client_id": "...",
    "scopes": ["https://graph.microsoft.com/Calendars.ReadWrite"], "lifetime": 3599}``.
    """
    spec = ctx.json()
    mailbox = ctx.world.mailbox_by_id_or_address(spec.get("mailbox", ""))
    if mailbox is None:
        raise GraphError(404, "ErrorInvalidUser", f"No sandbox mailbox {spec.get('mailbox')!r}.")
    scopes = spec.get("scopes") or ["https://graph.microsoft.com/Calendars.ReadWrite",
                                    "https://graph.microsoft.com/User.Read"]
    with ctx.world.lock:
        token = ctx.world.issue_access_token(mailbox, spec.get("client_id", "sandbox-tests"), scopes,
                                             int(spec.get("lifetime", 3599)))
    return reply(201, {"access_token": token.value, "expires_at": token.expires_at.isoformat()})


@control_route("POST", "/faults")
def add_fault(ctx):
    """Install a fault rule; see :mod:`outlook_sandbox.faults` for the fields."""
    return reply(201, faults.add_rule(ctx.world, ctx.json()).to_json())


@control_route("GET", "/faults")
def list_faults(ctx):
    with ctx.world.lock:
        return reply(200, {"value": [rule.to_json() for rule in faults._rules(ctx.world)]})


@control_route("DELETE", "/faults")
def clear_faults(ctx):
    faults.clear_rules(ctx.world)
    return reply(204)


@control_route("POST", "/throttling")
def set_throttling(ctx):
    """``{"enabled": true, "requests_per_window": 10000, "concurrent": 4}``."""
    from ..throttling import limits
    spec = ctx.json()
    with ctx.world.lock:
        if "enabled" in spec:
            ctx.world.throttling_enabled = bool(spec["enabled"])
        lim = limits(ctx.world)
        for name in ("requests_per_window", "concurrent"):
            if name in spec:
                value = spec[name]
                if not isinstance(value, int) or value < 1:
                    raise GraphError(400, "BadRequest", f"'{name}' must be a positive integer.")
                setattr(lim, name, value)
        return reply(200, {"enabled": ctx.world.throttling_enabled,
                           "requests_per_window": lim.requests_per_window, "concurrent": lim.concurrent})
