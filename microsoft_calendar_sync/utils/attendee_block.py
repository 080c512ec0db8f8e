# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A meeting sent to Outlook without its attendees: their list goes in the body.

An existing meeting the first sync sends "without attendees" (models/first_sync.py)
becomes an Outlook event that invites nobody: Outlook e-mails no one, now or on
later edits. Its Odoo attendees are listed in a block appended to the body, so
the Outlook event still says who takes part:

    <div class="odoo-attendees"><p>Attendees (in Odoo, not invited from Outlook):</p>
    <ul><li>Bob Stone &lt;bob@contoso.com&gt;</li>...</ul></div>

The block is a function of the Odoo attendees only (sorted by address, as the
core keeps them), so a run that changed nothing writes nothing; adding an
attendee in Odoo changes the body (one PATCH of an event without attendees: no
e-mail). Outlook's sanitized copy of the body loses the class; the block is
then recognised by its shape at the end of the body (a paragraph and a list
whose every item names an address), which is where it always is.
"""

import html
import re

BLOCK_CLASS = "odoo-attendees"

_BY_CLASS = re.compile(
    r"<div[^>]*\bclass=\"[^\"]*\b" + BLOCK_CLASS + r"\b[^\"]*\"[^>]*>.*?</ul>\s*</div>", re.DOTALL | re.IGNORECASE)
# The class dropped (Outlook's body, sanitized on the way in): the same shape, at the very end.
_BY_SHAPE = re.compile(
    r"<div[^>]*>\s*<p[^>]*>[^<]*</p>\s*<ul[^>]*>(?:\s*<li[^>]*>[^<]*@[^<]*</li>)+\s*</ul>\s*</div>\s*$",
    re.DOTALL | re.IGNORECASE)


def split_attendees_block(body_html):
    """``(body without the attendees block, whether there was one)``."""
    body_html = body_html or ""
    stripped, count = _BY_CLASS.subn("", body_html)
    if not count:
        stripped, count = _BY_SHAPE.subn("", body_html)
    return (stripped.rstrip() if count else body_html), bool(count)


def attendees_block(header, attendees):
    """The block listing ``attendees`` (core :class:`~outlook_sync.model.Attendee`), "" if none."""
    if not attendees:
        return ""
    items = "".join(
        f"<li>{html.escape(attendee.name, quote=False)} &lt;{html.escape(attendee.email, quote=False)}&gt;</li>"
        if attendee.name and attendee.name.strip().lower() != attendee.email
        else f"<li>{html.escape(attendee.email, quote=False)}</li>"
        for attendee in attendees)
    return f'<div class="{BLOCK_CLASS}"><p>{html.escape(header, quote=False)}</p><ul>{items}</ul></div>'


def withhold_attendees(core, base, header):
    """``core`` (the Odoo side of a meeting sent without attendees) as Outlook holds it.

    Outlook keeps the attendees it has (``base``: none, unless someone added
    some in Outlook), never Odoo's; the Odoo attendees it does not have are
    listed in the body instead."""
    outlook = base.attendees if base is not None else ()
    known = {attendee.email for attendee in outlook}
    listed = [attendee for attendee in core.attendees if attendee.email not in known]
    body, _found = split_attendees_block(core.body_html)
    return core.replace(attendees=outlook, body_html=body + attendees_block(header, listed))
