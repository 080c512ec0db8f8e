"""Typed errors of the Graph client and the sign-in layer.

Callers decide what to do from the *type* (retry later, ask the user to sign in
again, restart a delta round, give up on one item), and show or log the
``code`` and ``request_id`` for support. Graph's own ``code`` is kept exactly
as sent (``ErrorItemNotFound``, ``SyncStateNotFound``...); code against it,
never against ``message``.

Hierarchy::

    OutlookSyncError
    ├── GraphError                  an answer (or no answer) from Graph
    │   ├── AuthRequired            401 even after one token refresh
    │   ├── NotFound                404
    │   ├── Conflict                409, 412 (stale changeKey)
    │   ├── SyncStateLost           410 SyncStateNotFound: restart the delta round
    │   ├── PermanentError          any other 4xx, TLS failures
    │   └── TransientError          5xx, timeouts, connection errors
    │       └── Throttled           429
    ├── BudgetExhausted             the run's deadline passed; nothing more was sent
    └── SignInError                 the identity platform refused
        └── ReauthenticationRequired  refresh token expired or revoked

No exception text ever holds a token, a secret or a query string: messages are
built from the method, the URL path, the status and Graph's error fields only.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping
from urllib.parse import urlsplit

_AADSTS = re.compile(r"AADSTS(\d+)")

# Codes with which Graph says a delta link can no longer be used.
SYNC_STATE_LOST_CODES = frozenset({"syncstatenotfound", "resyncrequired", "invaliddeltatoken"})


class OutlookSyncError(Exception):
    """Base of every error raised by :mod:`outlook_sync`'s client and sign-in.

    ``partial_results`` is set by :meth:`GraphClient.batch` when a batch stops
    part-way: the per-item results known so far, in input order, ``None`` for
    items without a final answer.
    """

    partial_results: list | None = None


class GraphError(OutlookSyncError):
    """A failed Graph request.

    :param status: HTTP status, or ``None`` when no answer came (timeout,
        connection error).
    :param code: Graph's ``error.code`` (or a client-side code such as
        ``"Timeout"`` when there was no answer).
    :param request_id: Graph's ``request-id`` (header or ``innerError``).
    :param retry_after: seconds Graph asked to wait, when it said so.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str = "", request_id: str | None = None,
                 client_request_id: str | None = None, method: str = "", url: str = "",
                 retry_after: float | None = None):
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.method = method
        self.path = urlsplit(url).path if url else ""  # never the query: it may carry opaque tokens
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        head = " ".join(str(part) for part in (self.status, self.code) if part)
        where = f"{self.method} {self.path}".strip()
        trail = "; ".join(part for part in (where, self.request_id and f"request-id {self.request_id}") if part)
        return f"{head}: {self.message}" + (f" ({trail})" if trail else "")


class AuthRequired(GraphError):
    """Graph refused the access token even after one forced refresh."""


class NotFound(GraphError):
    """The item does not exist (any more) in the mailbox."""


class Conflict(GraphError):
    """409, or 412 ``ErrorIrresolvableConflict``: the item changed meanwhile."""


class SyncStateLost(GraphError):
    """The delta link expired or was evicted: start a fresh round from the window."""


class PermanentError(GraphError):
    """A request Graph will keep refusing as sent (other 4xx, TLS failure)."""


class TransientError(GraphError):
    """Try again later: 5xx, timeout or connection failure, after our retries."""


class Throttled(TransientError):
    """429 after our retries; ``retry_after`` says how long Graph wants us to wait."""


class BudgetExhausted(OutlookSyncError):
    """The run's :class:`~outlook_sync.retry.Deadline` passed: no request was
    sent after it. ``last_error`` is the failure we were about to retry, if any."""

    def __init__(self, message: str, last_error: GraphError | None = None):
        self.last_error = last_error
        super().__init__(message)


class SignInError(OutlookSyncError):
    """The identity platform (through MSAL) refused a sign-in or token request.

    :param error: the OAuth2 ``error`` (``invalid_grant``, ``access_denied``...)
        or a client-side code (``state_mismatch``).
    :param error_codes: AADSTS numbers from ``error_codes``.
    :param description: the first line of ``error_description`` (the rest is
        trace and correlation ids).
    """

    def __init__(self, error: str, description: str = "", error_codes: tuple[int, ...] = ()):
        self.error = error
        self.error_codes = tuple(error_codes)
        self.description = description
        codes = ", ".join(f"AADSTS{code}" for code in self.error_codes)
        super().__init__(f"{error}" + (f" ({codes})" if codes else "") + (f": {description}" if description else ""))

    @classmethod
    def from_result(cls, result: Mapping[str, Any]) -> "SignInError":
        """Build from an MSAL error dict (``error``, ``error_description``,
        ``error_codes``). A redirect's error carries no ``error_codes``: the
        AADSTS numbers are then read from the description."""
        lines = (result.get("error_description") or "").splitlines()
        description = lines[0].strip() if lines else ""
        codes = tuple(int(code) for code in result.get("error_codes") or () if str(code).isdigit()) \
            or tuple(int(number) for number in _AADSTS.findall(description))
        return cls(str(result.get("error") or "unknown_error"), description, codes)


class ReauthenticationRequired(SignInError):
    """The user must sign in again: no refresh token, or it expired or was
    revoked (``invalid_grant`` with AADSTS700082, AADSTS50173, ...)."""


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (Graph sends fractional ones, e.g. ``2.128``).

    An HTTP-date is accepted too. ``None`` when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_from_answer(status: int, headers: Mapping[str, str], body: Any, method: str, url: str) -> GraphError:
    """The typed error for a non-2xx Graph answer (a whole request or one batch item).

    ``headers`` must be case-insensitive or use Graph's lower-case names.
    """
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    code = str(error.get("code") or "")
    message = str(error.get("message") or f"HTTP {status}")
    fields = dict(status=status, code=code,
                  request_id=_header(headers, "request-id") or inner.get("request-id"),
                  client_request_id=_header(headers, "client-request-id") or inner.get("client-request-id"),
                  method=method, url=url, retry_after=parse_retry_after(_header(headers, "Retry-After")))
    if status == 410 or code.lower() in SYNC_STATE_LOST_CODES:
        return SyncStateLost(message, **fields)
    if status == 401:
        return AuthRequired(message, **fields)
    if status == 404:
        return NotFound(message, **fields)
    if status in (409, 412):
        return Conflict(message, **fields)
    if status == 429:
        return Throttled(message, **fields)
    if status >= 500:
        return TransientError(message, **fields)
    return PermanentError(message, **fields)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
