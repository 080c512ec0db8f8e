"""Meeting actions: ``accept``, ``tentativelyAccept``, ``decline`` (attendees)
and ``cancel`` (organizer), each ``POST /me/events/{id}/<action>`` -> 202 with
an empty body (reference §2.5, §2.6). The meeting logic is in
:mod:`outlook_sandbox.meetings`. Known difference: a response to a single
occurrence of a series is refused (Graph accepts it and makes an exception).
"""
from __future__ import annotations

from .. import meetings, recurrence
from ..app import reply
from ..errors import GraphError, not_found
from ..routing import graph_route
from .users import require_scope

RESPONSES = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}


def _action_payload(ctx, action: str, allowed: set[str]) -> dict:
    """The optional JSON body of an action; unknown parameters are a 400 as in Graph."""
    payload = ctx.json() if ctx.body.strip() else {}
    for name in payload:
        if name not in allowed:
            raise GraphError(400, "BadRequest", f"The parameter '{name}' in the request payload is not a "
                                                f"valid parameter for the operation '{action}'.")
    if not isinstance(payload.get("comment", ""), (str, type(None))):
        raise GraphError(400, "BadRequest", "The parameter 'comment' must be a string.")
    if not isinstance(payload.get("sendResponse", True), bool):
        raise GraphError(400, "BadRequest", "The parameter 'sendResponse' must be a boolean.")
    return payload


def _respond(ctx, event_id: str, action: str):
    require_scope(ctx, "Calendars.ReadWrite")
    # decline/tentativelyAccept also take proposedNewTime (UNCONFIRMED, reference
    # §2.6): accepted and ignored, as the sandbox has no time-proposal flow.
    payload = _action_payload(ctx, action, {"comment", "sendResponse", "proposedNewTime"}
                              if action != "accept" else {"comment", "sendResponse"})
    if recurrence.find_occurrence(ctx.mailbox, event_id) is not None:
        # Exchange would turn the occurrence into an exception with its own
        # response; the sandbox only answers whole meetings or series.
        raise GraphError(400, "ErrorInvalidRequest",
                         "The sandbox does not support responding to a single occurrence; respond to the series.")
    event = ctx.mailbox.events.get(event_id)
    if event is None:
        raise not_found()
    remove = meetings.respond(ctx.world, ctx.mailbox, event, RESPONSES[action], payload.get("comment"),
                              payload.get("sendResponse", True))
    if remove:
        meetings.remove_item(ctx.world, ctx.mailbox, event)
    return reply(202)


@graph_route("POST", "/me/events/{event_id}/accept")
def accept(ctx, event_id):
    return _respond(ctx, event_id, "accept")


@graph_route("POST", "/me/events/{event_id}/tentativelyAccept")
def tentatively_accept(ctx, event_id):
    return _respond(ctx, event_id, "tentativelyAccept")


@graph_route("POST", "/me/events/{event_id}/decline")
def decline(ctx, event_id):
    return _respond(ctx, event_id, "decline")


@graph_route("POST", "/me/events/{event_id}/cancel")
def cancel(ctx, event_id):
    require_scope(ctx, "Calendars.ReadWrite")
    comment = _action_payload(ctx, "cancel", {"comment"}).get("comment")
    occurrence = recurrence.find_occurrence(ctx.mailbox, event_id)
    event = occurrence.master if occurrence else ctx.mailbox.events.get(event_id)
    if event is None:
        raise not_found()
    if not event.is_organizer:
        # Message from event-cancel.md; the code is UNCONFIRMED (reference §6):
        # the refusal is about the caller's rights, so Exchange's access code.
        raise GraphError(400, "ErrorAccessDenied",
                         "Your request can't be completed. You need to be an organizer to cancel a meeting.")
    if occurrence is not None:
        recurrence.cancel_occurrence(ctx.world, ctx.mailbox, occurrence)
        meetings.after_occurrence_cancelled(ctx.world, ctx.mailbox, event, comment)
        return reply(202)
    recipients = list(meetings.attendees_by_address(ctx.mailbox, event))
    meetings.cancel_meeting(ctx.world, ctx.mailbox, event, recipients, comment)
    meetings.remove_item(ctx.world, ctx.mailbox, event)
    return reply(202)
