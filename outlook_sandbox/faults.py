"""Fault injection: rules the control API installs to make Graph misbehave.

A rule matches on HTTP method, a path pattern (``fnmatch`` style, against the
``/me/...`` form of the path, without ``/v1.0``) and optionally a mailbox; it
fires ``times`` times (``None``: until removed) and answers with a Graph error
(status, code, message, ``Retry-After``), or delays the answer by ``delay``
seconds first (a delay longer than the client's timeout is a timeout).

A rule with method ``NOTIFY`` matches no request: it drops the change
notifications it matches (path ``/me/events/{id}``, mailbox), which makes
the sandbox send ``missed`` lifecycle notifications
(:mod:`outlook_sandbox.notifications`). ``*`` never matches notifications.
"""
from __future__ import annotations

import fnmatch
import itertools
from dataclasses import asdict, dataclass

from .errors import GraphError
from .store import Mailbox, World

_ids = itertools.count(1)
NOTIFY = "NOTIFY"  # the method of rules that drop change notifications

DEFAULT_CODES = {
    429: ("TooManyRequests", "Please retry again later."),
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    410: ("SyncStateNotFound", "The sync state generation is not found."),
    412: ("ErrorIrresolvableConflict", "The send or update operation could not be performed because the "
          "change key passed in the request does not match the current change key for the item."),
}


@dataclass
class FaultRule:
    id: int
    method: str = "*"
    path: str = "*"
    mailbox: str | None = None  # address; None: any mailbox
    status: int | None = 503  # None with a delay: answer normally, only late
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = 1
    hits: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def rules(world: World) -> list[FaultRule]:
    return world.extra.setdefault("faults", [])


def add_rule(world: World, spec: dict) -> FaultRule:
    """Validate a JSON rule spec from the control API and install it."""
    allowed = {"method", "path", "mailbox", "status", "code", "message", "retry_after", "delay", "times"}
    unknown = set(spec) - allowed
    if unknown:
        raise GraphError(400, "BadRequest", f"Unknown fault rule fields: {', '.join(sorted(unknown))}.")
    for name in ("method", "path"):
        if name in spec and (not isinstance(spec[name], str) or not spec[name]):
            raise GraphError(400, "BadRequest", f"Fault '{name}' must be a non-empty string.")
    for name in ("mailbox", "code", "message"):
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise GraphError(400, "BadRequest", f"Fault '{name}' must be a string or null.")
    for name in ("status", "times"):
        if spec.get(name) is not None and (not isinstance(spec[name], int) or isinstance(spec[name], bool)):
            raise GraphError(400, "BadRequest", f"Fault '{name}' must be a whole number or null.")
    for name in ("retry_after", "delay"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            raise GraphError(400, "BadRequest", f"Fault '{name}' must be a number of seconds >= 0.")
    rule = FaultRule(id=next(_ids), **spec)
    rule.method = rule.method.upper()
    rule.delay = rule.delay or 0.0
    if rule.status is not None and not (400 <= rule.status <= 599):
        raise GraphError(400, "BadRequest", "Fault status must be an HTTP error status (400-599).")
    if rule.status is None and not rule.delay:
        raise GraphError(400, "BadRequest", "A fault rule needs an error status, a delay, or both.")
    if rule.times is not None and rule.times < 1:
        raise GraphError(400, "BadRequest", "Fault 'times' must be a positive count or null.")
    with world.lock:
        rules(world).append(rule)
    return rule


def clear_rules(world: World) -> None:
    with world.lock:
        rules(world).clear()


def match(world: World, method: str, path: str, mailbox: Mailbox | None) -> FaultRule | None:
    """The first live rule for this request, counting the hit; else None."""
    with world.lock:
        for rule in rules(world):
            if NOTIFY in (rule.method, method.upper()):
                if rule.method != method.upper():
                    continue
            elif rule.method not in ("*", method.upper()):
                continue
            if not fnmatch.fnmatchcase(path.lower(), rule.path.lower()):
                continue
            if rule.mailbox and (mailbox is None or mailbox.address.lower() != rule.mailbox.lower()):
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            rule.hits += 1
            return rule
    return None


def apply(rule: FaultRule) -> dict:
    """Fire a rule: raise its Graph error, or for a delay-only rule (status
    None) return the headers that make the WSGI layer answer late."""
    headers = {}
    if rule.delay:
        headers["X-Sandbox-Delay"] = str(rule.delay)  # slept outside the world lock
    if rule.status is None:
        return headers
    if rule.retry_after is not None:
        headers["Retry-After"] = _format_seconds(rule.retry_after)
    code, message = DEFAULT_CODES.get(int(rule.status), ("generalException", "Injected fault."))
    raise GraphError(int(rule.status), rule.code or code, rule.message or message, headers)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
