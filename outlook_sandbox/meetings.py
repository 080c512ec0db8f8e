"""Meetings across sandbox mailboxes and the sent-mail log.

INTERFACE (called by handlers/events.py under ``world.lock``; being written):
an event whose attendees are sandbox mailboxes appears in each attendee's
calendar with the same iCalUId and its own id; the organizer's updates and
cancellations reach the attendees' copies; attendees' responses flow back to
the organizer's copy; every invitation/update/cancellation/response Outlook
would have e-mailed is appended to ``world.sent_mail``.
"""
from __future__ import annotations


def after_create(world, mailbox, event) -> None:
    """An organizer created ``event`` (a single instance or series master)."""


def after_update(world, mailbox, event, changed_fields: set[str]) -> None:
    """``event`` in ``mailbox`` was updated; ``changed_fields`` are Graph property names."""


def after_delete(world, mailbox, event) -> None:
    """``event`` was deleted from ``mailbox`` (already removed from ``mailbox.events``)."""
