"""Outlook item ids in the form Graph's REST API issues them.

Exchange ids are standard base64 (EWS form, may hold ``+`` ``/`` ``=``). Graph
hands out the *REST* form of the same bytes: ``+`` and ``/`` replaced by URL-safe
characters, ``=`` padding kept, so an id can go in a URL path as is. Observed
mapping ``+`` -> ``_`` and ``/`` -> ``-``: microsoftgraph/microsoft-graph-docs
issue 6069 shows one item as EWS ``...Xm+jXRIyi/JP8...`` and as Graph
``...Xm_jXRIyi-JP8...`` (also microsoft-graph-docs-contrib issue 2924; reference
§1.1). An EWS id with ``/`` put in a path is not an id to Graph's front end: it
splits the path and answers 400 ``RequestBroker--ParseUri`` "Resource not found
for the segment ..." (issues 6069 and 3598); see :func:`ews_id_in_path`.
``POST /me/translateExchangeIds`` converts between ``ewsId`` and ``restId``
(learn.microsoft.com/graph/api/user-translateexchangeids).
"""
from __future__ import annotations

import base64
import binascii
import secrets

PREFIX = "AAMkAG"
_TO_REST = str.maketrans({"+": "_", "/": "-"})
_TO_EWS = str.maketrans({"_": "+", "-": "/"})


def encode(raw: bytes) -> str:
    """Bytes -> a REST id (``PREFIX`` + URL-safe base64 with padding)."""
    return PREFIX + base64.b64encode(raw).decode("ascii").translate(_TO_REST)


def decode(value: str) -> bytes | None:
    """The bytes of a REST id, or None when ``value`` is not one (EWS form included)."""
    if not value.startswith(PREFIX) or len(value) <= len(PREFIX):
        return None
    body = value[len(PREFIX):]
    if "+" in body or "/" in body:
        return None
    try:
        return base64.b64decode(body.translate(_TO_EWS), validate=True)
    except (binascii.Error, ValueError):
        return None


def new_id(prefix: bytes = b"\x00\x00\x00\x00") -> str:
    return encode(prefix + secrets.token_bytes(33))


def rest_to_ews(value: str) -> str:
    return value.translate(_TO_EWS)


def ews_to_rest(value: str) -> str:
    return value.translate(_TO_REST)


def is_ews_form(value: str) -> bool:
    return value.startswith(PREFIX) and ("+" in value or "/" in value)
