"""JSON batching: ``POST /$batch`` (reference §4.3).

A batch carries up to 20 Graph requests ``{"id", "method", "url", "headers"?,
"body"?, "dependsOn"?}`` with relative URLs. Graph answers 200 whenever the
batch itself is well formed and reports every item's own status, headers and
body in ``responses``; a malformed batch as a whole is a 400.

The batch's own bearer token is checked first, by Graph's front end: an
expired, revoked or missing token answers the whole ``$batch`` 401
``InvalidAuthenticationToken`` (with ``WWW-Authenticate``) and runs no item.
Decided by Microsoft's JSON batching page ("The status code on a batch
response is typically 200 or 4xx", concepts/json-batching.md in
microsoftgraph/microsoft-graph-docs-contrib) and a public report where a bad
token gave an Unauthorized batch response with no per-item responses
(microsoftgraph/msgraph-sdk-dotnet issue 2660); no report shows per-item 401s
for an expired token.

Each item is a full Graph request: it is authenticated with the batch's bearer
token (an item that starts after the token expired mid-batch gets its own 401), meets fault rules and the Outlook throttling limits on its own (so a
batch can come back with some items 429 and ``Retry-After`` in their headers)
and is counted in the request statistics. Items without ``dependsOn`` run in
parallel, at most four at a time as Outlook does within one batch; an item
runs only after the items it depends on, and gets 424 ``FailedDependency``
without running when one of them failed (non-2xx).
"""
from __future__ import annotations

import base64
import json
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from ..app import reply
from ..errors import GraphError, graph_error_body
from ..routing import graph_route, split_path

MAX_REQUESTS = 20
# Graph runs up to four Outlook requests of one batch at the same time.
PARALLEL_ITEMS = 4
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}
WRITE_METHODS = {"POST", "PATCH", "PUT"}
JSON_CONTENT_TYPE = ("application/json; odata.metadata=minimal; odata.streaming=true; "
                     "IEEE754Compatible=false; charset=utf-8")


@dataclass
class BatchItem:
    id: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    depends_on: list[str] = field(default_factory=list)


def _invalid(message: str = "Invalid batch payload format.") -> GraphError:
    # Whole-batch rejections are 400 BadRequest; the messages for the specific
    # cases are UNCONFIRMED except the two Graph is known to send.
    return GraphError(400, "BadRequest", message)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def parse_batch(payload: dict) -> list[BatchItem]:
    """Validate the batch body; any problem rejects the whole batch."""
    requests = payload.get("requests")
    if not isinstance(requests, list) or not requests:
        raise _invalid("Invalid batch payload format: 'requests' must be a non-empty array.")
    if len(requests) > MAX_REQUESTS:
        # UNCONFIRMED wording; Graph refuses the batch as a whole.
        raise _invalid(f"Number of requests exceeds the maximum allowed in a batch ({MAX_REQUESTS}).")
    items: list[BatchItem] = []
    for raw in requests:
        if not isinstance(raw, dict):
            raise _invalid()
        item_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
        if not isinstance(item_id, str) or not item_id:
            raise _invalid("Invalid batch payload format: every request needs a string 'id'.")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise _invalid(f"Invalid batch payload format: request id {item_id} has no valid 'method'.")
        if not isinstance(url, str) or not url:
            raise _invalid(f"Invalid batch payload format: request id {item_id} has no 'url'.")
        headers = raw.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise _invalid(f"Invalid batch payload format: headers of request id {item_id} must be an object of strings.")
        body = raw.get("body")
        method = method.upper()
        # Graph refuses the whole batch, running nothing, when a write item
        # lacks a body or a Content-Type, even for actions whose body is
        # optional outside a batch (msgraph-sdk-dotnet issue 2628 shows the message).
        if method in WRITE_METHODS or body is not None:
            if body is None or not _header(headers, "Content-Type"):
                raise _invalid(f"Write request id : {item_id} does not contain Content-Type header or body.")
        depends_on = raw.get("dependsOn") or []
        if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
            raise _invalid(f"Invalid batch payload format: 'dependsOn' of request id {item_id} must be an array of ids.")
        items.append(BatchItem(item_id, method, url, headers, _encode_body(body, headers, item_id), depends_on))
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise _invalid(f"Batch request ids must be unique; repeated: {', '.join(duplicates)}.")
    for item in items:
        unknown = [d for d in item.depends_on if d not in ids]
        if unknown:
            raise _invalid(f"Request id {item.id} depends on unknown request id(s): {', '.join(unknown)}.")
    _reject_cycles(items)
    return items


def _encode_body(body, headers: dict[str, str], item_id: str) -> bytes:
    if body is None:
        return b""
    content_type = (_header(headers, "Content-Type") or "").lower()
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8")
    if isinstance(body, str):
        if "json" in content_type:
            return body.encode("utf-8")
        # Non-JSON bodies travel base64-encoded inside the batch.
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise _invalid(f"The body of request id {item_id} is not valid base64.") from None
    raise _invalid(f"Invalid batch payload format: body of request id {item_id}.")


def _reject_cycles(items: list[BatchItem]) -> None:
    deps = {item.id: item.depends_on for item in items}
    done: set[str] = set()

    def visit(item_id: str, path: tuple[str, ...]) -> None:
        if item_id in path:
            raise _invalid(f"Batch requests have circular dependencies: {' -> '.join((*path, item_id))}.")
        if item_id in done:
            return
        for dep in deps[item_id]:
            visit(dep, (*path, item_id))
        done.add(item_id)

    for item in items:
        visit(item.id, ())


def _item_response(item: BatchItem, result) -> dict:
    status, body, headers, content_type = result
    out_headers = {k: v for k, v in headers.items() if not k.lower().startswith("x-sandbox-")}
    response = {"id": item.id, "status": status, "headers": out_headers}
    if body is None or body == b"" or body == "":
        return response
    if isinstance(body, (dict, list)):
        out_headers["Content-Type"] = JSON_CONTENT_TYPE if content_type == "application/json" else content_type
        response["body"] = body
        return response
    raw = body.encode("utf-8") if isinstance(body, str) else body
    out_headers["Content-Type"] = content_type
    if "json" in content_type:
        response["body"] = json.loads(raw)
    else:  # non-JSON payloads are base64-encoded in a batch response
        response["body"] = base64.b64encode(raw).decode("ascii")
    return response


def _failed_dependency(ctx, item: BatchItem, failed: str) -> dict:
    body = graph_error_body("FailedDependency", f"Request {item.id} depends on request {failed}, which failed.",
                            ctx.request_id, ctx.header("client-request-id"), ctx.now)
    return {"id": item.id, "status": 424, "headers": {"Content-Type": "application/json"}, "body": body}


def _bad_item(ctx, item: BatchItem, message: str) -> dict:
    body = graph_error_body("BadRequest", message, ctx.request_id, ctx.header("client-request-id"), ctx.now)
    return {"id": item.id, "status": 400, "headers": {"Content-Type": "application/json"}, "body": body}


def _run_item(ctx, item: BatchItem) -> dict:
    if "://" in item.url.split("?", 1)[0]:
        return _bad_item(ctx, item, "Absolute URLs are not supported in batch requests; use a URL relative to the version.")
    url = item.url if item.url.startswith("/") else "/" + item.url
    if any(part.lower() == "$batch" for part in split_path(url)):
        return _bad_item(ctx, item, "Batch requests cannot contain other batch requests.")
    # The item is authorized by the batch's token, whatever its own headers say.
    headers = {k: v for k, v in item.headers.items() if k.lower() != "authorization"}
    authorization = ctx.header("Authorization")
    if authorization:
        headers["Authorization"] = authorization
    result = ctx.app.dispatch_graph(item.method, "/v1.0" + url, headers, item.body, ctx.base_url)
    return _item_response(item, result)


@graph_route("POST", "/$batch")
def batch(ctx):
    content_type = (ctx.header("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        # UNCONFIRMED: Graph's exact status for a non-JSON batch; 400 like any malformed batch.
        raise _invalid("Invalid batch payload format: Content-Type must be application/json.")
    items = parse_batch(ctx.json())
    results: dict[str, dict] = {}
    pending = list(items)
    running: dict[Future, BatchItem] = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_ITEMS, thread_name_prefix="sandbox-batch") as pool:
        while pending or running:
            for item in list(pending):
                if any(d not in results for d in item.depends_on):
                    continue
                pending.remove(item)
                failed = next((d for d in item.depends_on if not 200 <= results[d]["status"] < 300), None)
                if failed is not None:
                    results[item.id] = _failed_dependency(ctx, item, failed)
                else:
                    running[pool.submit(_run_item, ctx, item)] = item
            if not running:
                continue  # a 424 above may have unblocked more items
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                results[running.pop(future).id] = future.result()
    # Graph gives no order guarantee; request order keeps tests and demos deterministic.
    return reply(200, {"responses": [results[item.id] for item in items]})


batch.manages_lock = True
batch.front_end = True  # not throttled itself: its items are
