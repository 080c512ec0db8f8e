"""The WSGI application: one process serves Microsoft's sign-in (identity
platform v2.0), Graph v1.0's calendar surface and the sandbox control API.

Request pipeline for Graph: parse -> authenticate the bearer token -> fault
rules -> throttling (every request but ``$batch`` itself, whose items are
throttled one by one; ``POST /subscriptions`` included) -> route -> handler
-> Graph error envelope. No exception
ever leaves as a stack trace: unexpected ones become a 500 ``generalException``
and are logged on the server side only.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
import uuid
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from . import faults, throttling
from .errors import GraphError, IdentityError, graph_error_body, json_dumps
from .routing import CONTROL, GRAPH, IDENTITY, find_route, split_path, unknown_segment
from .store import Mailbox, World

_logger = logging.getLogger(__name__)

_PREFER_ITEM = re.compile(r'\s*([A-Za-z][\w.\-]*)\s*(?:=\s*("(?:[^"]*)"|[^,;]*))?')


def parse_prefer(header_values: list[str]) -> dict[str, str]:
    """``Prefer`` headers -> {name (lower-case): value without quotes}."""
    prefs: dict[str, str] = {}
    for value in header_values:
        for item in value.split(","):
            m = _PREFER_ITEM.match(item)
            if m and m.group(1):
                raw = (m.group(2) or "").strip()
                prefs[m.group(1).lower()] = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw
    return prefs


class Context:
    """What a handler gets: the request, the world and the caller.

    For Graph requests ``mailbox``, ``client_id`` and ``scopes`` are set from the
    bearer token; ``base_url`` is the scheme and host the client used plus
    ``/v1.0`` (links in responses point back to it). ``response_headers`` is
    merged into the reply (handlers add ``Preference-Applied`` there).
    """

    def __init__(self, world: World, request: Request, method: str, raw_path: str, query: dict,
                 headers: dict, body: bytes, request_id: str, base_url: str):
        self.world = world
        self.request = request
        self.method = method
        self.raw_path = raw_path
        self.query = query  # first value of each query parameter
        self.headers = headers  # case-insensitive (werkzeug Headers) or dict with lower-case keys
        self.body = body
        self.request_id = request_id
        self.base_url = base_url
        self.host_url = base_url.rsplit("/v1.0", 1)[0]
        self.app: "SandboxApp | None" = None  # set for Graph requests ($batch re-dispatches through it)
        self.mailbox: Mailbox | None = None
        self.client_id: str | None = None
        self.scopes: list[str] = []
        self.access_token = None  # the bearer token's AccessToken (Graph requests)
        self.prefer = parse_prefer(_header_list(headers, "Prefer"))
        self.response_headers: dict[str, str] = {}
        # The odata.maxpagesize a collection honoured (odata.page_size sets it).
        self.applied_max_page_size: int | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        return _header_get(self.headers, name, default)

    def json(self) -> dict:
        """The JSON request body as a dict; 400 with a clear message otherwise."""
        if not self.body:
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GraphError(400, "BadRequest", f"Unable to read JSON request payload: {exc.msg if hasattr(exc, 'msg') else exc}.")
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "Invalid request body: a JSON object is expected.")
        return data

    def form(self) -> dict:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def now(self):
        return self.world.clock.now()


def _header_list(headers, name: str) -> list[str]:
    if hasattr(headers, "getlist"):
        return headers.getlist(name)
    value = _header_get(headers, name)
    return [value] if value is not None else []


def _header_get(headers, name: str, default=None):
    if hasattr(headers, "getlist"):
        return headers.get(name, default)
    lname = name.lower()
    for key, value in headers.items():
        if key.lower() == lname:
            return value
    return default


def _is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def reply(status: int = 200, body=None, headers: dict | None = None, content_type: str = "application/json"):
    """Build a handler result. ``body`` dict/list -> JSON; str/bytes -> as is."""
    return (status, body, dict(headers or {}), content_type)


class SandboxApp:
    """WSGI callable over a :class:`World`."""

    def __init__(self, world: World | None = None, allow_remote_control: bool = False):
        # Handler modules register their routes on import.
        from . import handlers  # noqa: F401
        self.world = world or World()
        # Whether non-loopback clients may use the control API (see _refuse_control).
        self.allow_remote_control = allow_remote_control

    # -- WSGI -------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        raw_path = re.sub(r"^https?://[^/]+", "", raw_path)
        response = self.handle(request, raw_path)
        return response(environ, start_response)

    def handle(self, request: Request, raw_path: str) -> Response:
        parts = split_path(raw_path)
        request_id = str(uuid.uuid4())
        body = request.get_data(cache=True)
        query = {k: v for k, v in request.args.items()}
        host_url = request.host_url.rstrip("/")
        if parts and parts[0] == "_sandbox":
            refusal = self._refuse_control(request)
            if refusal is not None:
                return refusal
            ctx = Context(self.world, request, request.method, raw_path, query, request.headers, body,
                          request_id, host_url + "/v1.0")
            return self._run(CONTROL, ctx, parts[1:])
        if parts and parts[0].lower() == "v1.0":
            result = self.dispatch_graph(request.method, raw_path, request.headers, body,
                                         host_url + "/v1.0", request=request, request_id=request_id)
            return self._to_response(result, request_id)
        ctx = Context(self.world, request, request.method, raw_path, query, request.headers, body,
                      request_id, host_url + "/v1.0")
        return self._run(IDENTITY, ctx, parts)

    # -- identity and control ---------------------------------------------------

    def _refuse_control(self, request: Request) -> Response | None:
        """Guard the control API (a development tool that resets the world and
        mints tokens for any mailbox) against other machines and web pages.

        - Loopback clients only, unless ``allow_remote_control`` (CLI
          ``--allow-remote-control``) is set.
        - A request a browser marks as coming from another site
          (``Sec-Fetch-Site: cross-site``/``same-site``, or an ``Origin`` that is
          not this host) is refused whatever its method.
        - State-changing requests with a body (POST, PUT, PATCH) must be
          ``Content-Type: application/json``: a page can send ``text/plain``
          or a form cross-origin without a CORS preflight, never JSON. DELETE
          carries no body; a browser cannot send it cross-origin without a
          preflight, which this server never grants.
        """
        def refuse(status: int, code: str, message: str) -> Response:
            return Response(json_dumps({"error": {"code": code, "message": message}}), status=status,
                            content_type="application/json")

        if not self.allow_remote_control and not _is_loopback(request.remote_addr):
            return refuse(403, "ControlApiLoopbackOnly",
                          "The sandbox control API answers loopback clients only; start the sandbox with "
                          "--allow-remote-control to allow others.")
        fetch_site = (request.headers.get("Sec-Fetch-Site") or "").lower()
        origin = request.headers.get("Origin")
        if fetch_site in ("cross-site", "same-site") or (
                origin is not None and origin.rstrip("/") != request.host_url.rstrip("/")):
            return refuse(403, "ControlApiCrossOrigin",
                          "The sandbox control API refuses requests sent by a web page of another origin.")
        if request.method in ("POST", "PUT", "PATCH"):
            mimetype = (request.mimetype or "").lower()
            if mimetype != "application/json":
                return refuse(415, "ControlApiJsonOnly",
                              "Sandbox control requests that change state must be sent with "
                              f"Content-Type: application/json (got {mimetype or 'none'!r}).")
        return None

    def _run(self, kind: str, ctx: Context, parts: list[str]) -> Response:
        found = find_route(kind, ctx.method, parts)
        try:
            if not found or found[0] is None:
                return Response(json_dumps({"error": "not_found", "error_description":
                                            f"No {kind} endpoint {ctx.method} /{'/'.join(parts)}"}),
                                status=405 if found else 404, content_type="application/json")
            route, params = found
            self._count(route.name, None)
            return self._to_response(route.handler(ctx, **params), ctx.request_id)
        except IdentityError as err:
            return Response(json_dumps(err.body(ctx.now)), status=err.status, content_type="application/json")
        except GraphError as err:  # control API reuses Graph's envelope for its errors
            return self._to_response(self._graph_error(err, ctx.request_id, None), ctx.request_id)
        except Exception:  # never a stack trace on the wire
            _logger.exception("sandbox %s handler failed for %s %s", kind, ctx.method, ctx.raw_path)
            return Response(json_dumps({"error": "server_error", "error_description":
                                        "The sandbox hit an internal error; see its log."}),
                            status=500, content_type="application/json")

    # -- Graph ------------------------------------------------------------------

    def dispatch_graph(self, method: str, raw_path: str, headers, body: bytes, base_url: str,
                       request: Request | None = None, request_id: str | None = None):
        """Run one Graph request (also used for each ``$batch`` item).

        ``raw_path`` starts with ``/v1.0`` (or is relative to it when it does not)
        and may carry a query string. Returns ``(status, body, headers, content_type)``.
        """
        request_id = request_id or str(uuid.uuid4())
        path, _, query_string = raw_path.partition("?")
        parts = split_path(path)
        if parts and parts[0].lower() == "v1.0":
            parts = parts[1:]
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        ctx = Context(self.world, request, method.upper(), raw_path, query, headers, body, request_id, base_url)
        ctx.app = self
        client_request_id = ctx.header("client-request-id")
        slot = None
        try:
            token = self._authenticate(ctx)
            parts = self._resolve_user(ctx, parts)
            found = find_route(GRAPH, ctx.method, parts)
            route_name = found[0].name if found and found[0] else f"{ctx.method} /{'/'.join(parts)}"
            self._count(route_name, ctx.mailbox)
            fault = faults.match(self.world, ctx.method, "/" + "/".join(parts), ctx.mailbox)
            if fault is not None:
                ctx.response_headers.update(faults.apply(fault))
            # $batch is answered by Graph's front end, not Outlook: only its items are throttled.
            if not (found and found[0] and getattr(found[0].handler, "front_end", False)):
                slot = throttling.acquire(self.world, token.client_id, ctx.mailbox)
            if not found:
                # Graph's front end names the first segment no resource has,
                # e.g. the tail of an EWS id whose "/" split the path (ids.py).
                raise GraphError(400, "RequestBroker--ParseUri",
                                 f"Resource not found for the segment '{unknown_segment(GRAPH, parts)}'.")
            if found[0] is None:
                raise GraphError(405, "Request_BadRequest", f"The HTTP method '{ctx.method}' is not allowed for this resource.")
            route, params = found
            if getattr(route.handler, "manages_lock", False):
                # $batch dispatches its items itself and must not hold the lock meanwhile.
                status, rbody, rheaders, ctype = route.handler(ctx, **params)
            else:
                with self.world.lock:
                    status, rbody, rheaders, ctype = route.handler(ctx, **params)
            result = status, rbody, {**ctx.response_headers, **rheaders}, ctype
            if client_request_id:
                result[2].setdefault("client-request-id", client_request_id)
        except GraphError as err:
            err.headers = {**{k: v for k, v in ctx.response_headers.items() if k == "X-Sandbox-Delay"},
                           **err.headers}
            result = self._graph_error(err, request_id, client_request_id)
        except Exception:
            _logger.exception("sandbox Graph handler failed for %s %s", method, raw_path)
            result = self._graph_error(GraphError(500, "generalException", "An internal server error occurred."),
                                       request_id, client_request_id)
        try:
            # An injected delay keeps the request in flight (it holds its
            # throttling slot) but not the world lock.
            delay = result[2].pop("X-Sandbox-Delay", None)
            if delay:
                time.sleep(float(delay))
            return result
        finally:
            if slot is not None:
                throttling.release(self.world, slot)

    def _authenticate(self, ctx: Context):
        header = ctx.header("Authorization") or ""
        challenge = {"WWW-Authenticate": 'Bearer realm="", authorization_uri='
                     '"https://login.microsoftonline.com/common/oauth2/authorize", '
                     'client_id="00000003-0000-0000-c000-000000000000"'}
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.", challenge)
        token = self.world.access_tokens.get(header[7:].strip())
        if token is None:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "IDX14100: JWT is not well formed, there are no dots (.).", challenge)
        if token.revoked:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", challenge)
        if token.expires_at <= ctx.now:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "Access token has expired or is not yet valid.", challenge)
        mailbox = self.world.mailboxes.get(token.mailbox_id)
        if mailbox is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.", challenge)
        ctx.mailbox = mailbox
        ctx.client_id = token.client_id
        ctx.scopes = token.scopes
        ctx.access_token = token
        return token

    def _resolve_user(self, ctx: Context, parts: list[str]) -> list[str]:
        """``users/{id|upn}/...`` -> ``me/...`` when it is the signed-in user.

        Delegated tokens reach only their own mailbox here (no shared or
        delegated calendars in the sandbox): another user is access denied.
        """
        if len(parts) >= 2 and parts[0].lower() == "users":
            target = self.world.mailbox_by_id_or_address(parts[1])
            if target is None:
                raise GraphError(404, "ErrorInvalidUser",
                                 f"The requested user '{parts[1]}' is invalid.")
            if target.id != ctx.mailbox.id:
                raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            return ["me", *parts[2:]]
        return parts

    def _graph_error(self, err: GraphError, request_id: str, client_request_id: str | None):
        headers = {"request-id": request_id, **err.headers}
        if client_request_id:
            headers["client-request-id"] = client_request_id
        return (err.status, graph_error_body(err.code, err.message, request_id, client_request_id,
                                             self.world.clock.now()), headers, "application/json")

    def _count(self, route_name: str, mailbox: Mailbox | None) -> None:
        with self.world.lock:
            self.world.stats[(route_name, mailbox.address if mailbox else "")] += 1

    # -- responses --------------------------------------------------------------

    def _to_response(self, result, request_id: str) -> Response:
        if isinstance(result, Response):
            return result
        status, body, headers, content_type = result
        if body is None:
            payload = b""
        elif isinstance(body, (dict, list)):
            payload = json_dumps(body)
            if content_type == "application/json":
                content_type = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            payload = body
        response = Response(payload, status=status, content_type=content_type if payload else None)
        if not payload:
            response.headers.pop("Content-Type", None)
        response.headers.setdefault("request-id", request_id)
        for key, value in headers.items():
            response.headers[key] = value
        return response
