"""A small Microsoft Graph client for one mailbox, built for unattended sync.

One :class:`GraphClient` per connected account (and per run). It speaks Graph
JSON dicts, never the sync engine's event model, and takes care of what every
call needs:

- **where**: the base URL (Microsoft Graph or the sandbox) and the CA bundle are
  explicit; ``verify`` goes on *every* request because ``REQUESTS_CA_BUNDLE``
  silently overrides ``Session.verify``;
- **who**: an injected :class:`TokenProvider`; on a 401 the client asks it once
  for a fresh token and retries, a second 401 is :class:`AuthRequired`;
- **how often**: ``Retry-After`` (fractional) on 429/503, jittered exponential
  backoff on other 5xx, timeouts and connection errors; only requests that are
  safe to replay are replayed (a POST only when the caller says it is, e.g. an
  event create carrying a ``transactionId``);
- **how long**: a :class:`~outlook_sync.retry.Deadline` per run; once it passes,
  :class:`BudgetExhausted` is raised before anything more is sent;
- **how many at once**: at most 4 requests in flight per mailbox (Outlook's
  limit; a ``$batch`` counts as the 4 items Graph runs of it at once), shared
  by every client of that mailbox in the process;
- **how it went**: ``client.stats`` counts every request sent by kind
  (``"GET events"``, ``"POST events"``, ``"delta"``, ``"batch"``...); re-sends are
  counted as ``"retry"``, so ``sum(client.stats.values())`` is the traffic.

Times come back in UTC (``Prefer: outlook.timezone="UTC"``) and ids are
immutable (``Prefer: IdType="ImmutableId"``) unless the caller asks otherwise.

Example::

    client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path,
                         mailbox="alice@contoso.com", deadline=Deadline.after(240))
    for page in client.sync_delta(stored_link, DeltaWindow(start, end)):
        apply(page.items)
        stored_link = page.resume_link
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence
from urllib.parse import quote, urlencode, urlsplit

import requests

from .errors import (BudgetExhausted, GraphError, OutlookSyncError, PermanentError, SyncStateLost,
                     TransientError, error_from_answer)
from .retry import THROTTLED_STATUS, TRANSIENT_STATUSES, Deadline, RetryPolicy

_logger = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_PREFER = ('outlook.timezone="UTC"', 'IdType="ImmutableId"')
MAX_IN_FLIGHT = 4  # Outlook's concurrent-request limit per app and mailbox
BATCH_LIMIT = 20  # Graph's $batch maximum
BATCH_PARALLEL_ITEMS = 4  # Outlook items of one batch that Graph runs at once
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


class TokenProvider(Protocol):
    """Where the client gets its bearer tokens (the addon plugs its MSAL cache in).

    ``get_token(force_refresh=True)`` is called after a 401 and must go to the
    identity platform rather than return the cached token. It may raise
    :class:`~outlook_sync.errors.ReauthenticationRequired`.
    """

    def get_token(self, force_refresh: bool = False) -> str:
        ...


@dataclass(frozen=True)
class GraphResponse:
    """A successful Graph answer: ``body`` is the parsed JSON (``None`` when empty)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def request_id(self) -> str | None:
        return self.headers.get("request-id")


@dataclass(frozen=True)
class DeltaWindow:
    """Where a fresh delta round starts: a calendar (``None``: the default one)
    and a time window. Naive datetimes are taken as UTC."""

    start: datetime
    end: datetime
    calendar_id: str | None = None


@dataclass(frozen=True)
class DeltaPage:
    """One page of a delta round.

    :param items: events, occurrence stubs and ``@removed`` entries as Graph sent them.
    :param next_link: set on every page but the last.
    :param delta_link: set on the last page: the start of the next round.
    :param fresh_round: the round began from a :class:`DeltaWindow` (first
        sync, or a restart after the stored link was lost), so it lists every
        event of the window rather than changes.
    """

    items: list[dict]
    next_link: str | None
    delta_link: str | None
    fresh_round: bool

    @property
    def resume_link(self) -> str | None:
        """What to store after applying this page: where to continue from."""
        return self.next_link or self.delta_link


@dataclass(frozen=True)
class BatchRequest:
    """One request inside a ``$batch``.

    :param url: relative to the version root, e.g. ``"/me/events/" + quote(id, safe="")``.
    :param idempotent: whether it may be replayed; ``None`` decides by method
        (a POST is replayed only when the caller says so, e.g. ``transactionId``).
    """

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool | None = None

    @property
    def replayable(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method.upper() in IDEMPOTENT_METHODS


@dataclass(frozen=True)
class BatchResponse:
    """The final answer to one :class:`BatchRequest` (after per-item retries)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    method: str = ""
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> GraphError | None:
        """The typed error for a failed item (not raised), else ``None``."""
        if self.ok:
            return None
        return error_from_answer(self.status, self.headers, self.body, self.method, self.url)


class InFlightLimit:
    """At most ``limit`` requests of one mailbox in flight, counted in slots:
    a plain request takes one, a ``$batch`` as many as Graph runs of it at
    once (Outlook evaluates batch items one by one against the same limit)."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self._in_use = 0
        self._changed = threading.Condition()

    def acquire(self, slots: int, timeout: float | None) -> int:
        """Wait until ``slots`` (at most the limit) are free and take them;
        returns how many were taken, 0 when ``timeout`` passed first."""
        slots = max(1, min(slots, self.limit))
        with self._changed:
            if not self._changed.wait_for(lambda: self._in_use + slots <= self.limit, timeout):
                return 0
            self._in_use += slots
            return slots

    def release(self, slots: int) -> None:
        with self._changed:
            self._in_use -= slots
            self._changed.notify_all()


_limits_lock = threading.Lock()
_mailbox_limits: dict[tuple[str, str], InFlightLimit] = {}


def _mailbox_limit(base_url: str, mailbox: str | None, limit: int) -> InFlightLimit:
    """The process-wide in-flight limit of one mailbox, so that several
    clients of the same account (threads, overlapping crons) share it."""
    if mailbox is None:
        return InFlightLimit(limit)
    key = (urlsplit(base_url).netloc.lower(), mailbox.lower())
    with _limits_lock:
        return _mailbox_limits.setdefault(key, InFlightLimit(limit))


def event_path(event_id: str) -> str:
    """``/me/events/{id}`` with the id URL-encoded (Exchange ids hold ``/``, ``+``, ``=``)."""
    return "/me/events/" + quote(event_id, safe="")


def instances_path(master_id: str, start: datetime, end: datetime, select: str | None = None) -> str:
    """``/me/events/{id}/instances`` of a series between two instants (naive = UTC), optionally ``$select``-ed."""
    query = {"startDateTime": _utc_iso(start), "endDateTime": _utc_iso(end)}
    if select:
        query["$select"] = select
    return f"{event_path(master_id)}/instances?{urlencode(query)}"


def request_kind(method: str, path: str) -> str:
    """The statistics key of a request: ``"delta"``, ``"batch"``, or the method
    and the last named segment of the path (``"GET events"`` for
    ``/me/events/{id}``, ``"POST accept"`` for ``/me/events/{id}/accept``)."""
    segments = [s for s in urlsplit(path).path.split("/") if s]
    if any(s.lower() == "delta" for s in segments):
        return "delta"
    if any(s.lower() == "$batch" for s in segments):
        return "batch"
    # Ids are long base64 or GUIDs; resource names are short and letters only.
    names = [s for s in segments if s.isalpha() and len(s) <= 40]
    return f"{method.upper()} {names[-1] if names else '/'}"


class GraphClient:
    """Graph v1.0 for one mailbox: typed errors, retries, budget, in-flight limit.

    :param token_provider: gives bearer tokens; see :class:`TokenProvider`.
    :param base_url: ``https://graph.microsoft.com/v1.0`` or the sandbox's ``graph_url``.
    :param verify: CA bundle path (or ``True`` for the system store), passed on
        every request.
    :param mailbox: the account's mailbox address; clients of the same mailbox
        (and Graph host) share one in-flight limit, sized by the first of them.
        ``None``: this client has a limit of its own.
    :param timeout: ``(connect, read)`` seconds; also cut to the time left in
        the budget.
    :param deadline: the run's time budget; ``None``: unbounded. Settable.
    :param sleep: how to wait between retries (inject a recorder in tests).
    :param prefer: ``Prefer`` values sent with every request.
    """

    def __init__(self, token_provider: TokenProvider, *, base_url: str = GRAPH_URL, verify: bool | str = True,
                 mailbox: str | None = None, timeout: tuple[float, float] = (5.0, 30.0),
                 retry: RetryPolicy | None = None, deadline: Deadline | None = None,
                 max_in_flight: int = MAX_IN_FLIGHT, sleep: Callable[[float], None] = time.sleep,
                 prefer: Sequence[str] = DEFAULT_PREFER, session: requests.Session | None = None):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an absolute http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        self.mailbox = mailbox
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.deadline = deadline
        self.prefer = tuple(prefer)
        self.stats: Counter[str] = Counter()
        self._token_provider = token_provider
        self._sleep = sleep
        self._session = session or requests.Session()
        self._in_flight = _mailbox_limit(self.base_url, mailbox, max_in_flight)
        self._stats_lock = threading.Lock()
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc.lower())

    def __repr__(self) -> str:
        return f"<GraphClient {self.mailbox or 'mailbox?'} at {self.base_url}>"

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def __enter__(self) -> "GraphClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the one place requests are sent --------------------------------------

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                headers: Mapping[str, str] | None = None, prefer: Sequence[str] = (), kind: str | None = None,
                idempotent: bool | None = None, slots: int = 1) -> GraphResponse:
        """Send one Graph request with auth, retries and the budget; return the
        answer or raise its typed :class:`~outlook_sync.errors.GraphError`.

        :param url: a path below the base URL (``"/me/events"``) or an absolute
            link Graph gave (nextLink, deltaLink) on the same host.
        :param prefer: extra ``Prefer`` values (``"odata.maxpagesize=50"``).
        :param kind: the statistics key; derived from the path by default.
        :param idempotent: whether a failed send may be replayed; by default
            GET, PUT, PATCH and DELETE are, POST is not. A 429 or a 401 is
            replayed regardless: Graph did not process the request.
        :param slots: in-flight slots the request occupies (see :class:`InFlightLimit`).
        """
        method = method.upper()
        target = self._absolute(url)
        replayable = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        send_headers = {"client-request-id": str(uuid.uuid4()), "Accept": "application/json",
                        "Prefer": ", ".join((*self.prefer, *prefer)), **(headers or {})}
        counted_as = kind or request_kind(method, urlsplit(target).path[len(urlsplit(self.base_url).path):])
        retry_number = 0
        refreshed = False
        force_refresh = False
        while True:
            outcome = self._send(method, target, params, json, send_headers, force_refresh, counted_as, slots)
            force_refresh = False
            counted_as = "retry"  # every later send of this request is a re-send
            if isinstance(outcome, requests.Response):
                if outcome.status_code < 400:
                    return GraphResponse(outcome.status_code, outcome.headers, _body(outcome))
                error = error_from_answer(outcome.status_code, outcome.headers, _body(outcome), method, target)
                if outcome.status_code == 401 and not refreshed:
                    _logger.info("Graph refused the access token for %s %s; refreshing it once",
                                 method, error.path)
                    refreshed = force_refresh = True
                    continue
                retryable = outcome.status_code == THROTTLED_STATUS or (
                    replayable and outcome.status_code in TRANSIENT_STATUSES)
            else:
                error, retryable = _transport_error(outcome, method, target, replayable)
            retry_number += 1
            if not retryable or retry_number >= self.retry.max_attempts:
                raise error
            delay = self.retry.delay(retry_number, error.retry_after)
            if delay is None:
                raise error  # Graph wants a longer pause than a run should sit through
            self._pause(delay, error)

    def _send(self, method: str, url: str, params, json, headers: dict, force_refresh: bool, counted_as: str,
              slots: int) -> requests.Response | requests.RequestException:
        """One HTTP exchange inside the budget and the in-flight limit."""
        self._check_budget()
        headers = {**headers, "Authorization": "Bearer " + self._token_provider.get_token(force_refresh)}
        deadline = self.deadline
        taken = self._in_flight.acquire(slots, deadline.remaining() if deadline else None)
        if not taken:
            raise BudgetExhausted("The run's time budget ran out waiting for a free request slot.")
        try:
            # The token refresh or the wait for a slot may have used the budget up.
            timeout = self._timeout_within_budget()
            with self._stats_lock:
                self.stats[counted_as] += 1
            started = time.monotonic()
            try:
                response = self._session.request(method, url, params=params, json=json, headers=headers,
                                                 timeout=timeout, verify=self.verify, allow_redirects=False)
            except requests.RequestException as exc:
                _logger.debug("%s %s failed: %s", method, urlsplit(url).path, type(exc).__name__)
                return exc
            _logger.debug("%s %s -> %s in %.0f ms (request-id %s)", method, urlsplit(url).path,
                          response.status_code, (time.monotonic() - started) * 1000,
                          response.headers.get("request-id"))
            return response
        finally:
            self._in_flight.release(taken)

    def _pause(self, delay: float, error: GraphError) -> None:
        """Wait ``delay`` seconds before retrying after ``error``, unless the
        wait would outlast the run's budget."""
        if self.deadline is not None and delay >= self.deadline.remaining():
            raise BudgetExhausted(f"The run's time budget ends before the {delay:.2f} s wait for a retry.", error)
        _logger.info("Retrying %s %s in %.2f s after %s", error.method, error.path, delay,
                     error.code or error.status)
        self._sleep(delay)

    def _check_budget(self) -> None:
        if self.deadline is not None and self.deadline.expired:
            raise BudgetExhausted("The run's time budget is used up; no further request was sent.")

    def _timeout_within_budget(self) -> tuple[float, float]:
        """The ``(connect, read)`` timeouts, cut so no answer is awaited past the deadline."""
        connect, read = self.timeout
        if self.deadline is None:
            return connect, read
        left = self.deadline.remaining()
        if left <= 0.0:
            raise BudgetExhausted("The run's time budget is used up; no further request was sent.")
        return min(connect, left), min(read, left)

    def _is_own_link(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self._origin

    def _absolute(self, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            return self.base_url + ("" if url.startswith("/") else "/") + url
        if not self._is_own_link(url):
            # Never hand the bearer token to another host, whatever a link says.
            parts = urlsplit(url)
            raise ValueError(f"Refusing a link outside {self.base_url}: {parts.scheme}://{parts.netloc}")
        return url

    # -- convenience verbs -----------------------------------------------------

    def get(self, url: str, params: Mapping[str, Any] | None = None, **kwargs) -> Any:
        """GET and return the JSON body."""
        return self.request("GET", url, params=params, **kwargs).body

    def post(self, url: str, json: Any = None, *, idempotent: bool = False, **kwargs) -> Any:
        """POST and return the JSON body (``None`` for 202/204)."""
        return self.request("POST", url, json=json, idempotent=idempotent, **kwargs).body

    def patch(self, url: str, json: Any, **kwargs) -> Any:
        """PATCH and return the JSON body."""
        return self.request("PATCH", url, json=json, **kwargs).body

    def delete(self, url: str, **kwargs) -> None:
        """DELETE (204)."""
        self.request("DELETE", url, **kwargs)

    # -- paging ----------------------------------------------------------------

    def iter_pages(self, url: str, params: Mapping[str, Any] | None = None, *, prefer: Sequence[str] = (),
                   kind: str | None = None) -> Iterator[list[dict]]:
        """Yield each page's ``value`` list, following ``@odata.nextLink``."""
        while url:
            body = self.request("GET", url, params=params, prefer=prefer, kind=kind).body or {}
            yield body.get("value", [])
            url, params = body.get("@odata.nextLink"), None  # the link carries the query

    def iter_items(self, url: str, params: Mapping[str, Any] | None = None, **kwargs) -> Iterator[dict]:
        """Yield every item of a collection across its pages."""
        for page in self.iter_pages(url, params, **kwargs):
            yield from page

    # -- mailbox and events ----------------------------------------------------

    def get_me(self, select: str | None = None) -> dict:
        """``GET /me``: ``id``, ``mail``, ``userPrincipalName``, ``displayName``... (``select``: a
        ``$select``, e.g. for ``proxyAddresses``, which Graph returns only when selected)."""
        return self.get("/me", params={"$select": select} if select else None)

    def list_calendars(self) -> list[dict]:
        """Every calendar of the mailbox."""
        return list(self.iter_items("/me/calendars"))

    def get_event(self, event_id: str, params: Mapping[str, Any] | None = None) -> dict:
        """One event by id (``$select``/``$expand`` through ``params``)."""
        return self.get(event_path(event_id), params)

    def create_event(self, event: Mapping[str, Any], *, calendar_id: str | None = None,
                     transaction_id: str | None = None) -> dict:
        """Create an event; returns Graph's copy (with ``id`` and ``changeKey``).

        With a ``transaction_id`` the create is idempotent on Graph's side, so
        the client may replay it after a timeout without making a duplicate;
        without one it is sent once.
        """
        body = dict(event)
        if transaction_id:
            body["transactionId"] = transaction_id
        url = f"/me/calendars/{quote(calendar_id, safe='')}/events" if calendar_id else "/me/events"
        return self.post(url, body, idempotent=bool(transaction_id), kind="POST events")

    def update_event(self, event_id: str, changes: Mapping[str, Any]) -> dict:
        """PATCH the given properties; returns the updated event."""
        return self.patch(event_path(event_id), dict(changes))

    def delete_event(self, event_id: str) -> None:
        """Delete an event (raises :class:`~outlook_sync.errors.NotFound` when already gone)."""
        self.delete(event_path(event_id))

    def respond_to_event(self, event_id: str, response: str, *, comment: str = "",
                         send_response: bool = True) -> None:
        """``response``: ``"accept"``, ``"decline"`` or ``"tentativelyAccept"`` (202)."""
        if response not in ("accept", "decline", "tentativelyAccept"):
            raise ValueError(f"Unknown meeting response {response!r}")
        self.post(f"{event_path(event_id)}/{response}", {"comment": comment, "sendResponse": send_response})

    def cancel_event(self, event_id: str, *, comment: str = "") -> None:
        """Cancel a meeting the mailbox organizes (attendees are told)."""
        self.post(f"{event_path(event_id)}/cancel", {"comment": comment})

    # -- delta -----------------------------------------------------------------

    def delta_round(self, start: str | DeltaWindow, *, page_size: int | None = None) -> Iterator[DeltaPage]:
        """Yield the pages of one calendarView delta round.

        ``start`` is a stored link (a nextLink or a deltaLink from an earlier
        page) or a :class:`DeltaWindow` for a fresh round. Save
        ``page.resume_link`` after applying each page. Raises
        :class:`~outlook_sync.errors.SyncStateLost` when Graph no longer knows
        the link (410): start again from a window (see :meth:`sync_delta`).
        """
        fresh_round = isinstance(start, DeltaWindow)
        url, params = self._delta_start(start) if fresh_round else (start, None)
        prefer = (f"odata.maxpagesize={page_size}",) if page_size else ()
        while True:
            body = self.request("GET", url, params=params, prefer=prefer, kind="delta").body or {}
            page = DeltaPage(items=body.get("value", []), next_link=body.get("@odata.nextLink"),
                             delta_link=body.get("@odata.deltaLink"), fresh_round=fresh_round)
            if page.resume_link is None:
                raise PermanentError("A delta page carried neither a nextLink nor a deltaLink.",
                                     code="InvalidDeltaResponse", method="GET", url=url)
            yield page
            if page.next_link is None:
                return
            url, params = page.next_link, None

    def sync_delta(self, resume_link: str | None, window: DeltaWindow, *,
                   page_size: int | None = None) -> Iterator[DeltaPage]:
        """Continue from ``resume_link`` (or start from ``window`` when there is
        none); if Graph lost the link's sync state, start a fresh round from
        ``window`` once. Pages of a fresh round have ``fresh_round=True``: they
        list the whole window, so the caller matches by its bindings and must
        not create duplicates. A link to another host (the account moved
        between the sandbox and Microsoft) is treated as lost too."""
        if resume_link is not None and not self._is_own_link(resume_link):
            _logger.warning("The stored delta link is not on %s; starting a fresh round", self.base_url)
            resume_link = None
        if resume_link is None:
            yield from self.delta_round(window, page_size=page_size)
            return
        try:
            yield from self.delta_round(resume_link, page_size=page_size)
        except SyncStateLost as lost:
            _logger.info("Delta sync state lost (%s, request-id %s); starting a fresh round",
                         lost.code, lost.request_id)
            yield from self.delta_round(window, page_size=page_size)

    @staticmethod
    def _delta_start(window: DeltaWindow) -> tuple[str, dict]:
        base = f"/me/calendars/{quote(window.calendar_id, safe='')}" if window.calendar_id else "/me"
        return base + "/calendarView/delta", {"startDateTime": _utc_iso(window.start),
                                               "endDateTime": _utc_iso(window.end)}

    # -- $batch ----------------------------------------------------------------

    def batch(self, requests_: Sequence[BatchRequest]) -> list[BatchResponse]:
        """Run requests through ``$batch``, 20 per call, and return one
        :class:`BatchResponse` per request, in input order.

        Items answered 429 (or 5xx, when replayable) are retried in a new
        batch after the longest ``Retry-After`` among them (or a backoff); an
        item that still fails keeps its last answer; nothing is raised for it.
        A failure of the batch call itself raises its typed error (likewise
        :class:`BudgetExhausted`), with ``partial_results`` holding what was
        already known. ``dependsOn`` is not supported.
        """
        results: list[BatchResponse | None] = [None] * len(requests_)
        try:
            for first in range(0, len(requests_), BATCH_LIMIT):
                self._run_batch_chunk(requests_, range(first, min(first + BATCH_LIMIT, len(requests_))), results)
        except OutlookSyncError as failure:
            failure.partial_results = list(results)
            raise
        return results  # type: ignore[return-value]  # every slot is filled on success

    def _run_batch_chunk(self, requests_: Sequence[BatchRequest], indexes: range,
                         results: list[BatchResponse | None]) -> None:
        pending = list(indexes)
        retry_number = 0
        while True:
            payload = {"requests": [self._batch_item(str(i), requests_[i]) for i in pending]}
            body = self.request("POST", "/$batch", json=payload, kind="batch" if retry_number == 0 else "retry",
                                idempotent=all(requests_[i].replayable for i in pending),
                                slots=min(len(pending), BATCH_PARALLEL_ITEMS)).body or {}
            answers = {str(item.get("id")): item for item in body.get("responses", [])}
            again: list[int] = []
            for i in pending:
                results[i] = response = _batch_response(answers.get(str(i)), requests_[i])
                if response.status == THROTTLED_STATUS or (
                        response.status in TRANSIENT_STATUSES and requests_[i].replayable):
                    again.append(i)
            retry_number += 1
            if not again or retry_number >= self.retry.max_attempts:
                return
            # Wait as long as the most demanding item asked (or back off).
            errors = [results[i].error for i in again]  # type: ignore[union-attr]
            slowest = max(errors, key=lambda e: -1.0 if e.retry_after is None else e.retry_after)
            delay = self.retry.delay(retry_number, slowest.retry_after)
            if delay is None:
                return  # the items keep their 429; the caller reschedules them
            self._pause(delay, slowest)
            pending = again

    def _batch_item(self, item_id: str, item: BatchRequest) -> dict:
        url = item.url
        if url.startswith(("https://", "http://")):
            url = self._absolute(url)[len(self.base_url):]
        headers = {"Prefer": ", ".join(self.prefer), **item.headers}
        entry: dict[str, Any] = {"id": item_id, "method": item.method.upper(), "url": url}
        body = item.body
        if body is None and entry["method"] in ("POST", "PATCH", "PUT"):
            # Graph refuses the whole batch when a write item has no body and
            # Content-Type (e.g. a bodiless cancel or decline).
            body = {}
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
            entry["body"] = body
        entry["headers"] = headers
        return entry


def _batch_response(answer: dict | None, request: BatchRequest) -> BatchResponse:
    if answer is None:  # Graph must answer every id; treat a gap as a server fault
        return BatchResponse(502, {}, {"error": {"code": "MissingBatchResponse",
                                                 "message": "The batch answer had no entry for this request."}},
                             request.method.upper(), request.url)
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    return BatchResponse(int(answer.get("status", 0)), headers, answer.get("body"), request.method.upper(),
                         request.url)


def _transport_error(exc: requests.RequestException, method: str, url: str,
                     replayable: bool) -> tuple[GraphError, bool]:
    """No (complete) answer: the typed error and whether a replay is safe.
    A connect timeout never reached Graph, so even a POST may be replayed."""
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentError("TLS verification failed.", code="SSLError", method=method, url=url), False
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TransientError("Connecting to Graph timed out.", code="ConnectTimeout", method=method,
                              url=url), True
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientError("Graph did not answer in time.", code="Timeout", method=method, url=url), replayable
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return TransientError("The connection to Graph failed.", code="ConnectionError", method=method,
                              url=url), replayable
    return PermanentError(f"The request could not be sent ({type(exc).__name__}).", code=type(exc).__name__,
                          method=method, url=url), False


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
