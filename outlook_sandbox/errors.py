"""Error shapes of the two services the sandbox emulates.

Graph answers errors in its OData envelope::

    {"error": {"code": "ErrorItemNotFound", "message": "...",
               "innerError": {"date": "...", "request-id": "...", "client-request-id": "..."}}}

The identity platform answers token errors as flat JSON with an AADSTS code in
``error_codes`` and at the start of ``error_description``. Clients code against
``code`` / ``error`` only, so those must be exact; messages follow Microsoft's
wording where it is known (reference/graph-and-msal.md §6, §9.4).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone


class GraphError(Exception):
    """A Graph API error; raised anywhere inside a Graph handler."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed_id() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def graph_error_body(code: str, message: str, request_id: str, client_request_id: str | None,
                     now: datetime) -> dict:
    inner = {"date": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
             "request-id": request_id,
             "client-request-id": client_request_id or request_id}
    return {"error": {"code": code, "message": message, "innerError": inner}}


class IdentityError(Exception):
    """An OAuth2 error of the Microsoft identity platform (token endpoint)."""

    def __init__(self, error: str, aadsts: int, description: str, status: int = 400,
                 suberror: str | None = None):
        super().__init__(f"{error}: AADSTS{aadsts}: {description}")
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.status = status
        self.suberror = suberror  # e.g. consent_required; MSAL maps it to "classification"

    def body(self, now: datetime) -> dict:
        trace_id = str(uuid.uuid4())
        correlation_id = str(uuid.uuid4())
        stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (f"AADSTS{self.aadsts}: {self.description}\r\nTrace ID: {trace_id}"
                                  f"\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}"),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
            **({"suberror": self.suberror} if self.suberror else {}),
        }


def json_dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
