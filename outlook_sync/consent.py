# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Whose changes may make an organizer's mailbox send e-mail.

A push to Outlook acts *as the organizer*: Outlook sends the invitations,
updates and cancellations of the organizer's meetings from the organizer's
own mailbox. In Odoo, colleagues may edit each other's events, so a change
made by someone else must not make that mailbox e-mail anyone the policy does
not allow without the organizer's approval.

Policies (``OthersChanges``):

* ``ORGANIZER_ONLY`` -- every change made by someone else waits for the
  organizer's approval, renames and deletions included;
* ``NO_OUTSIDE_MAIL`` (the default) -- a change made by someone else waits if
  Outlook would e-mail an address outside the organization for it (an
  attendee of the event before or after the change that is not one of the
  organization's addresses); other changes by others are sent;
* ``EVERYONE`` -- every change is sent at once, as Odoo's own Outlook module does.

Changes by the organizer, and by the system itself (the first sync, the
inbound sync), are always sent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class OthersChanges(enum.Enum):
    ORGANIZER_ONLY = "organizer_only"
    NO_OUTSIDE_MAIL = "no_outside_mail"
    EVERYONE = "everyone"


def outside_addresses(addresses: Iterable[str], organization: Iterable[str]) -> list[str]:
    """The addresses (case-insensitive, sorted, once each) not among ``organization``'s."""
    known = {address.strip().lower() for address in organization if address}
    return sorted({address.strip().lower() for address in addresses if address} - known)


def hold_reason(policy: OthersChanges, *, by_organizer: bool, outside: list[str]) -> str | None:
    """Why this change must wait for the organizer (a code), or None to send it.

    ``outside``: what :func:`outside_addresses` found among the attendees the
    change would make Outlook e-mail.
    """
    if by_organizer or policy is OthersChanges.EVERYONE:
        return None
    if policy is OthersChanges.ORGANIZER_ONLY:
        return "changed_by_other"
    return "mails_outside" if outside else None
