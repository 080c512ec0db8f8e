# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Meetings: the rows of meetings a user is only invited to say so (``attendee_copy``), so they
are never pushed and leaving the meeting declines it. Such a row was synchronized from a copy
whose organizer is not the account's own mailbox (its base snapshot says who organizes it).
Rows that do not keep their meeting's iCalUId yet learn it from Outlook, a few hundred a day
(sync_meetings.py), so the other mailboxes' copies of their meetings find them."""


def migrate(cr, version):
    cr.execute("""
        UPDATE microsoft_calendar_binding binding
           SET attendee_copy = TRUE
          FROM microsoft_calendar_account account
         WHERE binding.account_id = account.id
           AND binding.graph_id IS NOT NULL
           AND binding.base IS NOT NULL
           AND account.mailbox IS NOT NULL
           AND NULLIF(lower(binding.base::json #>> '{organizer,email}'), '') IS NOT NULL
           AND lower(binding.base::json #>> '{organizer,email}') <> lower(account.mailbox)
    """)
