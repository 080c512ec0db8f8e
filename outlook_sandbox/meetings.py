"""Meetings across sandbox mailboxes, attendee responses, cancellation, and
the sent-mail log.

In Exchange a *meeting* is an event with attendees. The organizer's item is
the master copy; each attendee gets a meeting request by e-mail and the
attendee's mailbox keeps its own calendar item: same ``iCalUId``, its own
``id``, ``isOrganizer: false``, ``organizer`` = the organizer and its own
``responseStatus`` (``notResponded`` until the attendee answers). Attendees'
answers are e-mailed back and tallied into the organizer's
``attendees[i].status``.

The sandbox has no mail transport: a message that Outlook would have sent is
appended to ``world.sent_mail`` (one :class:`~outlook_sandbox.store.SentMail`
per message, with every recipient, sandbox mailbox or not) and, when the
recipient is a sandbox mailbox, its effect is applied to that mailbox at once.

What is mailed (and nothing else; tests count these):

- ``invitation``: creating an event that has attendees -> one to all of them;
  attendees added later -> one to the added ones only.
- ``update``: the organizer changes a meeting property (anything except the
  organizer's own view: ``categories``, ``isReminderOn``,
  ``reminderMinutesBeforeStart``, ``showAs``, extensions and extended
  properties) -> one to all attendees that remain. When only ``attendees``
  changed (reference §2.3: "attendees-only update sends update mail only to
  changed attendees"): invitations to added ones, cancellations to removed
  ones, and an update to those whose attendee ``type`` changed; nobody else.
- ``cancellation``: ``POST .../cancel`` or DELETE by the organizer of a meeting
  that is not cancelled yet -> one to all attendees (a series' exceptions are
  not mailed separately); removed attendees -> one to those.
- ``response``: accept / tentativelyAccept / decline with ``sendResponse``
  (default true) on a meeting whose ``responseRequested`` is not false -> one
  to the organizer.

An event without attendees never sends mail, and neither does anything an
attendee does to their own copy except responding. Mail goes to attendee
addresses other than the organizer's own.

Effects on attendee copies follow the mail: an attendee's copy is created or
refreshed only when a message reaches them, so a copy that got no message
(e.g. an attendees-only change that did not involve them) keeps its old data,
as in Exchange. A refreshed copy keeps the attendee's response and personal
fields (categories, reminder, showAs). Cancelled copies get ``isCancelled:
true`` and the subject prefix ``"Canceled: "``, which is what Exchange writes
into the attendee's item when it processes a cancellation. Exchange may
reset responses when the organizer moves a meeting; the sandbox keeps them
(Graph documents neither behaviour). Extended properties and extensions stay
on the organizer's item: an id a sync engine stamps there is not copied to
attendees (UNCONFIRMED: Exchange can carry some named properties inside one
organization).

Recurring meetings: the series master is propagated with its recurrence,
cancelled occurrences and exceptions (the attendee's exceptions are made to
match the organizer's whenever the master reaches the attendee). Editing one
occurrence (an exception) sends one ``update`` to all attendees; ``cancel`` on
an occurrence id sends one ``cancellation`` (:func:`after_occurrence_cancelled`).
Attendees answer whole meetings or series only.
"""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from .errors import GraphError
from .recurrence import occurrence_id
from .store import Mailbox, SentMail, StoredEvent, World, new_graph_id

# Properties that are the calendar owner's own view of an item: changing them
# sends nothing and they are never copied between mailboxes.
PERSONAL_FIELDS = frozenset({
    "categories", "isReminderOn", "reminderMinutesBeforeStart", "showAs", "transactionId",
    "singleValueExtendedProperties", "multiValueExtendedProperties", "extensions",
})

# world.extra key: (organizer mailbox id, event id) -> {address (lower): attendee dict}
# as last delivered, so an update can tell added, removed and changed attendees apart.
_DELIVERED = "meetings.delivered"

NEVER = "0001-01-01T00:00:00Z"
CANCELED_PREFIX = "Canceled: "
RESPONSE_SUBJECT_PREFIX = {"accepted": "Accepted: ", "tentativelyAccepted": "Tentative: ",
                           "declined": "Declined: "}
# EWS ResponseCodeType names, which Outlook's Graph surface passes through for
# other calendar errors. Whether these exact codes reach Graph clients is
# UNCONFIRMED (reference §2.6); the status 400 is what clients should rely on.
_ORGANIZER_CANNOT_RESPOND = {"accepted": "ErrorCalendarIsOrganizerForAccept",
                             "tentativelyAccepted": "ErrorCalendarIsOrganizerForTentative",
                             "declined": "ErrorCalendarIsOrganizerForDecline"}
_CANCELLED_CANNOT_RESPOND = {"accepted": "ErrorCalendarIsCancelledForAccept",
                             "tentativelyAccepted": "ErrorCalendarIsCancelledForTentative",
                             "declined": "ErrorCalendarIsCancelledForDecline"}


def graph_time(moment: datetime) -> str:
    """Graph's DateTimeOffset form with seven fractional digits, in UTC."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


# -- hooks called by handlers/events.py (under world.lock) ---------------------

def after_create(world: World, mailbox: Mailbox, event: StoredEvent) -> None:
    """An organizer created ``event`` (a single instance or series master)."""
    if not event.is_organizer or event.type == "exception":
        return
    attendees = attendees_by_address(mailbox, event)
    _delivered(world)[(mailbox.id, event.id)] = copy.deepcopy(attendees)
    if attendees:
        _send(world, "invitation", mailbox, list(attendees), event.data.get("subject") or "", event)
        for address in attendees:
            _deliver(world, mailbox, event, address)


def after_update(world: World, mailbox: Mailbox, event: StoredEvent, changed_fields: set[str]) -> None:
    """``event`` in ``mailbox`` was updated; ``changed_fields`` are Graph property names."""
    if not event.is_organizer or event.is_cancelled:
        return  # an attendee's edits of their own copy stay in their mailbox
    if event.type == "exception":
        master = mailbox.events.get(event.series_master_id or "")
        if master is not None and set(changed_fields) - PERSONAL_FIELDS:
            after_update(world, mailbox, master, {"exceptionOccurrences"})
        return
    key = (mailbox.id, event.id)
    current = attendees_by_address(mailbox, event)
    before = _delivered(world).get(key, current)
    if "attendees" in changed_fields:
        _keep_tallied_responses(event, before)
        current = attendees_by_address(mailbox, event)
    added = [a for a in current if a not in before]
    removed = [a for a in before if a not in current]
    kept = [a for a in current if a in before]
    if set(changed_fields) - PERSONAL_FIELDS - {"attendees"}:
        updated = kept
    else:
        updated = [a for a in kept if current[a].get("type") != before[a].get("type")]
    subject = event.data.get("subject") or ""
    _send(world, "invitation", mailbox, added, subject, event)
    _send(world, "update", mailbox, updated, subject, event)
    _send(world, "cancellation", mailbox, removed, CANCELED_PREFIX + subject, event)
    for address in added + updated:
        _deliver(world, mailbox, event, address)
    for address in removed:
        _cancel_copy(world, address, event.ical_uid)
    _delivered(world)[key] = copy.deepcopy(current)


def after_delete(world: World, mailbox: Mailbox, event: StoredEvent) -> None:
    """``event`` was deleted from ``mailbox`` (already removed from ``mailbox.events``).

    Only the organizer's delete is a cancellation. An attendee deleting their
    copy through Graph sends nothing (Graph's DELETE does not decline; the
    organizer keeps the attendee's last response).
    """
    delivered = _delivered(world).pop((mailbox.id, event.id), None)
    if not event.is_organizer or event.is_cancelled or event.type == "exception":
        return
    attendees = attendees_by_address(mailbox, event) or delivered or {}
    cancel_meeting(world, mailbox, event, list(attendees), comment=None)


# -- actions (handlers/meetings.py) ----------------------------------------------

def cancel_meeting(world: World, organizer: Mailbox, event: StoredEvent, recipients: list[str],
                   comment: str | None) -> None:
    """Mail a cancellation to ``recipients`` and cancel their copies; marks the
    organizer's event cancelled (the caller deletes it)."""
    event.is_cancelled = True
    _delivered(world).pop((organizer.id, event.id), None)
    subject = CANCELED_PREFIX + (event.data.get("subject") or "")
    _send(world, "cancellation", organizer, recipients, subject, event, comment=comment)
    for address in recipients:
        _cancel_copy(world, address, event.ical_uid)


def after_occurrence_cancelled(world: World, mailbox: Mailbox, master: StoredEvent, comment: str | None) -> None:
    """The organizer cancelled one occurrence of ``master`` (already recorded in
    ``master.cancelled_occurrences``): mail the cancellation and mirror the
    series into the attendees' copies."""
    attendees = attendees_by_address(mailbox, master)
    if not master.is_organizer or not attendees:
        return
    subject = CANCELED_PREFIX + (master.data.get("subject") or "")
    _send(world, "cancellation", mailbox, list(attendees), subject, master, comment=comment)
    for address in attendees:
        attendee = world.mailbox_by_address(address)
        if attendee is not None and _attendee_copy(attendee, master.ical_uid) is not None:
            _deliver(world, mailbox, master, address)


def remove_item(world: World, mailbox: Mailbox, event: StoredEvent) -> None:
    """Delete ``event`` and, for a series master, its exceptions (Deleted Items)."""
    for item in [*(e for e in mailbox.events.values() if e.series_master_id == event.id), event]:
        mailbox.events.pop(item.id, None)
        world.record_change(mailbox, item, "deleted")


def respond(world: World, mailbox: Mailbox, event: StoredEvent, response: str,
            comment: str | None, send_response: bool) -> bool:
    """The attendee ``mailbox`` answers the meeting ``event`` (its own copy).

    Returns True when the copy must now be removed from the attendee's
    calendar (a decline: Exchange moves declined meetings to Deleted Items).
    The organizer's tally changes only when a response message is sent, as
    Exchange updates it by processing that message.
    """
    if event.is_organizer:
        raise GraphError(400, _ORGANIZER_CANNOT_RESPOND[response],
                         "Your request can't be completed. You can't respond to a meeting you organized.")
    if event.is_cancelled:
        raise GraphError(400, _CANCELLED_CANNOT_RESPOND[response],
                         "Your request can't be completed. The meeting has been canceled.")
    now = world.clock.now()
    event.response_status = {"response": response, "time": graph_time(now)}
    if response != "declined":
        organizer_show_as = _organizer_event_field(world, event, "showAs") or "busy"
        event.data["showAs"] = "tentative" if response == "tentativelyAccepted" else organizer_show_as
        world.record_change(mailbox, event, "updated")
    if send_response and event.data.get("responseRequested", True) is not False:
        organizer_address = _organizer_address(event)
        prefix = RESPONSE_SUBJECT_PREFIX[response]
        world.sent_mail.append(SentMail(kind="response", sender=mailbox.address, recipients=[organizer_address],
                                        subject=prefix + (event.data.get("subject") or ""),
                                        event_ical_uid=event.ical_uid, at=now, response=response,
                                        comment=comment or None))
        _tally_response(world, mailbox.address, event, response, now)
    return response == "declined"


# -- the sent-mail log ---------------------------------------------------------------

def mail_log_json(world: World, mailbox: str | None = None) -> list[dict]:
    """The sent-mail log, oldest first; ``mailbox`` keeps messages from or to that address."""
    wanted = (mailbox or "").strip().lower()
    entries = []
    for mail in world.sent_mail:
        if wanted and wanted != mail.sender.lower() and wanted not in (r.lower() for r in mail.recipients):
            continue
        entry = {"kind": mail.kind, "from": mail.sender, "to": list(mail.recipients),
                 "subject": mail.subject, "iCalUId": mail.event_ical_uid, "sentDateTime": graph_time(mail.at)}
        if mail.response:
            entry["response"] = mail.response
        if mail.comment:
            entry["comment"] = mail.comment
        entries.append(entry)
    return entries


# -- internals ----------------------------------------------------------------------

def _delivered(world: World) -> dict:
    return world.extra.setdefault(_DELIVERED, {})


def attendees_by_address(organizer: Mailbox, event: StoredEvent) -> dict[str, dict]:
    """The event's attendees by lower-case address, without the organizer."""
    result = {}
    for attendee in event.data.get("attendees") or []:
        address = ((attendee.get("emailAddress") or {}).get("address") or "").strip().lower()
        if address and address != organizer.address.lower():
            result[address] = attendee
    return result


def _organizer_address(event: StoredEvent) -> str:
    return ((event.data.get("organizer") or {}).get("emailAddress") or {}).get("address") or ""


def _send(world: World, kind: str, sender: Mailbox, recipients: list[str], subject: str,
          event: StoredEvent, comment: str | None = None) -> None:
    if recipients:
        world.sent_mail.append(SentMail(kind=kind, sender=sender.address, recipients=list(recipients),
                                        subject=subject, event_ical_uid=event.ical_uid,
                                        at=world.clock.now(), comment=comment or None))


def _keep_tallied_responses(event: StoredEvent, before: dict[str, dict]) -> None:
    """A PATCH of ``attendees`` must not wipe responses already tallied."""
    for attendee in event.data.get("attendees") or []:
        address = ((attendee.get("emailAddress") or {}).get("address") or "").strip().lower()
        previous = before.get(address)
        if previous and (attendee.get("status") or {}).get("response", "none") == "none":
            attendee["status"] = copy.deepcopy(previous.get("status") or {"response": "none", "time": NEVER})


def _attendee_copy(mailbox: Mailbox, ical_uid: str) -> StoredEvent | None:
    return next((e for e in mailbox.events.values()
                 if e.ical_uid == ical_uid and not e.is_organizer and e.type != "exception"), None)


def _meeting_data(organizer: Mailbox, source: StoredEvent, own: dict | None) -> dict:
    """``source``'s meeting properties with the attendee's personal ones from ``own``."""
    data = {k: copy.deepcopy(v) for k, v in source.data.items() if k not in PERSONAL_FIELDS}
    data["organizer"] = copy.deepcopy(source.data.get("organizer")) or {
        "emailAddress": {"name": organizer.display_name, "address": organizer.address}}
    # A meeting request lands as tentative with the default reminder (Outlook).
    defaults = {"categories": [], "isReminderOn": True, "reminderMinutesBeforeStart": 15, "showAs": "tentative"}
    for name, value in defaults.items():
        data[name] = copy.deepcopy((own or {}).get(name, value))
    return data


def _copy_item(attendee: Mailbox, calendar_id: str, organizer: Mailbox, source: StoredEvent,
               existing: StoredEvent | None, series_master_id: str | None) -> tuple[StoredEvent, str]:
    """Create or refresh the attendee's item mirroring ``source``."""
    data = _meeting_data(organizer, source, existing.data if existing else None)
    if existing is None:
        # An exception's id is its occurrence's id (recurrence.py), derived from the master's.
        item_id = (occurrence_id(series_master_id, source.original_start)
                   if series_master_id and source.original_start else new_graph_id())
        item = StoredEvent(id=item_id, calendar_id=calendar_id, ical_uid=source.ical_uid, data=data,
                           start=source.start, end=source.end, start_tz=source.start_tz, end_tz=source.end_tz,
                           created=source.created, last_modified=source.last_modified,
                           change_key=source.change_key, seq=0, type=source.type,
                           series_master_id=series_master_id, original_start=source.original_start,
                           cancelled_occurrences=set(source.cancelled_occurrences), is_organizer=False,
                           response_status={"response": "notResponded", "time": NEVER})
        attendee.events[item.id] = item
        return item, "created"
    existing.data = data
    existing.start, existing.end = source.start, source.end
    existing.start_tz, existing.end_tz = source.start_tz, source.end_tz
    existing.type = source.type
    existing.cancelled_occurrences = set(source.cancelled_occurrences)
    existing.is_cancelled = False
    return existing, "updated"


def _deliver(world: World, organizer: Mailbox, event: StoredEvent, address: str) -> None:
    """A meeting request or update reached ``address``: create or refresh the copy."""
    attendee = world.mailbox_by_address(address)
    if attendee is None or attendee.id == organizer.id:
        return
    existing = _attendee_copy(attendee, event.ical_uid)
    calendar_id = existing.calendar_id if existing else attendee.default_calendar.id
    item, change = _copy_item(attendee, calendar_id, organizer, event, existing, None)
    world.record_change(attendee, item, change)
    if event.type == "seriesMaster" or existing is not None:
        _mirror_exceptions(world, organizer, event, attendee, item)


def _mirror_exceptions(world: World, organizer: Mailbox, master: StoredEvent, attendee: Mailbox,
                       master_copy: StoredEvent) -> None:
    """Make the attendee's exceptions of ``master_copy`` match the organizer's."""
    wanted = {e.original_start: e for e in organizer.events.values()
              if e.series_master_id == master.id and e.type == "exception"}
    have = {e.original_start: e for e in attendee.events.values() if e.series_master_id == master_copy.id}
    for original_start, stale in have.items():
        if original_start not in wanted:
            del attendee.events[stale.id]
            world.record_change(attendee, stale, "deleted")
    for original_start, exception in wanted.items():
        item, change = _copy_item(attendee, master_copy.calendar_id, organizer, exception,
                                  have.get(original_start), master_copy.id)
        world.record_change(attendee, item, change)


def _cancel_copy(world: World, address: str, ical_uid: str) -> None:
    attendee = world.mailbox_by_address(address)
    item = _attendee_copy(attendee, ical_uid) if attendee else None
    if item is None or item.is_cancelled:
        return
    for cancelled in [item, *(e for e in attendee.events.values() if e.series_master_id == item.id)]:
        cancelled.is_cancelled = True
        subject = cancelled.data.get("subject") or ""
        if not subject.startswith(CANCELED_PREFIX):
            cancelled.data["subject"] = CANCELED_PREFIX + subject
        world.record_change(attendee, cancelled, "updated")


def _organizer_event(world: World, event: StoredEvent) -> tuple[Mailbox, StoredEvent] | tuple[None, None]:
    organizer = world.mailbox_by_address(_organizer_address(event))
    if organizer is None:
        return None, None
    master = next((e for e in organizer.events.values()
                   if e.ical_uid == event.ical_uid and e.is_organizer and e.type != "exception"), None)
    return (organizer, master) if master else (None, None)


def _organizer_event_field(world: World, event: StoredEvent, name: str):
    _, master = _organizer_event(world, event)
    return master.data.get(name) if master else None


def _tally_response(world: World, address: str, event: StoredEvent, response: str, when: datetime) -> None:
    """Record ``address``'s response in the organizer's ``attendees[i].status``."""
    organizer, master = _organizer_event(world, event)
    if master is None:
        return  # an organizer outside the sandbox: the mail log is all there is
    status = {"response": response, "time": graph_time(when)}
    for attendee in master.data.get("attendees") or []:
        if ((attendee.get("emailAddress") or {}).get("address") or "").lower() == address.lower():
            attendee["status"] = dict(status)
            world.record_change(organizer, master, "updated")
            delivered = _delivered(world).get((organizer.id, master.id), {})
            if address.lower() in delivered:
                delivered[address.lower()]["status"] = dict(status)
            return
