"""A small router that matches on the *raw*, still percent-encoded path.

WSGI servers decode ``PATH_INFO``, which turns an encoded ``%2F`` inside an
Exchange id into a path separator. Graph accepts encoded ids, so routing here
splits the raw request path on ``/`` first and decodes each segment after.

Handler modules register themselves with the decorators below; ``app.py``
imports them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import unquote

GRAPH = "graph"        # /v1.0/...; bearer token required; throttled; counted
IDENTITY = "identity"  # /{tenant}/oauth2/v2.0/... and discovery
CONTROL = "control"    # /_sandbox/...


@dataclass(frozen=True)
class Route:
    kind: str
    method: str
    segments: tuple[str, ...]
    handler: Callable
    name: str  # e.g. "GET /me/events/{event_id}": the key of request statistics

    def match(self, method: str, parts: list[str]) -> dict | None:
        if method != self.method or len(parts) != len(self.segments):
            return None
        params = {}
        for pattern, part in zip(self.segments, parts):
            if pattern.startswith("{") and pattern.endswith("}"):
                if not part:
                    return None
                params[pattern[1:-1]] = part
            elif pattern.lower() != part.lower():
                return None
        return params


ROUTES: list[Route] = []


def _register(kind: str, method: str, pattern: str):
    def decorator(handler):
        segments = tuple(s for s in pattern.strip("/").split("/") if s)  # "/" -> no segments
        ROUTES.append(Route(kind, method.upper(), segments, handler, f"{method.upper()} {pattern}"))
        return handler
    return decorator


def graph_route(method: str, pattern: str):
    """Register a Graph handler. ``pattern`` is relative to ``/v1.0`` and written
    for ``/me``; ``/users/{id or UPN}/...`` is rewritten to ``/me/...`` before
    matching. The handler is called as ``handler(ctx, **params)``."""
    return _register(GRAPH, method, pattern)


def identity_route(method: str, pattern: str):
    """Register an identity-platform handler; ``pattern`` is the full path,
    e.g. ``/{tenant}/oauth2/v2.0/token``. Called as ``handler(ctx, **params)``."""
    return _register(IDENTITY, method, pattern)


def control_route(method: str, pattern: str):
    """Register a control-API handler under ``/_sandbox``; ``pattern`` excludes
    that prefix. Called as ``handler(ctx, **params)``."""
    return _register(CONTROL, method, pattern)


def split_path(raw_path: str) -> list[str]:
    """Raw path -> decoded segments, keeping encoded slashes inside a segment."""
    path = raw_path.split("?", 1)[0]
    return [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []


def find_route(kind: str, method: str, parts: list[str]) -> tuple[Route, dict] | None:
    allowed_other_method = False
    for route in ROUTES:
        if route.kind != kind:
            continue
        params = route.match(method, parts)
        if params is not None:
            return route, params
        if route.match(route.method, parts) is not None:
            allowed_other_method = True
    if allowed_other_method:
        return None, {"method_not_allowed": True}
    return None


def unknown_segment(kind: str, parts: list[str]) -> str:
    """The first of ``parts`` that no route of ``kind`` has at its place."""
    for index in range(len(parts)):
        prefix = parts[:index + 1]
        if not any(route.kind == kind and len(route.segments) > index
                   and all(p.startswith("{") or p.lower() == q.lower() for p, q in zip(route.segments, prefix))
                   for route in ROUTES):
            return parts[index]
    return parts[-1] if parts else ""
