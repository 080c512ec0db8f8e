"""Recurring series: pattern validation, expansion into occurrences,
occurrence ids, exceptions and cancelled occurrences.

INTERFACE (being written; handlers/events.py calls these):

- ``normalize_recurrence(value, start_local_date, event_tz) -> dict | None``:
  validate a patternedRecurrence from a request and return Graph's response
  form (zero-filled unused fields); raise GraphError 400 when invalid.
- ``get_occurrence_json(ctx, event_id) -> dict | None``,
  ``patch_occurrence(ctx, event_id, payload) -> dict | None`` (creates or
  updates an exception) and ``delete_occurrence(ctx, event_id) -> bool``
  (cancels one occurrence): each answers None/False when ``event_id`` is not
  an occurrence id, so the caller can answer 404.
"""
from __future__ import annotations


def normalize_recurrence(value, start_local_date, event_tz):
    if value is None:
        return None
    from .errors import GraphError
    raise GraphError(501, "NotImplemented", "Recurring events are not supported by the sandbox yet.")


def get_occurrence_json(ctx, event_id):
    return None


def patch_occurrence(ctx, event_id, payload):
    return None


def delete_occurrence(ctx, event_id):
    return False
