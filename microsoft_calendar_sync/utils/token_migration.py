# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.1.0: tokens move from the account row to microsoft.calendar.credential.

Run by migrations/19.0.1.1.0/post-migrate.py, when the new table and the
account's ``connection_key`` column exist. Each account that had tokens keeps
them (nobody has to sign in again); the old columns are dropped so no copy of
a token stays on the row a sync run holds.
"""

import secrets

OLD_COLUMNS = ("token_cache", "home_account_id")


def move_tokens_to_credentials(cr):
    cr.execute("""SELECT column_name FROM information_schema.columns
                   WHERE table_name = 'microsoft_calendar_account' AND column_name IN %s""", [OLD_COLUMNS])
    if len(cr.fetchall()) != len(OLD_COLUMNS):
        return 0
    cr.execute("SELECT id, user_id, token_cache, home_account_id FROM microsoft_calendar_account "
               "WHERE token_cache IS NOT NULL")
    moved = 0
    for account_id, user_id, token_cache, home_account_id in cr.fetchall():
        key = secrets.token_urlsafe(16)
        cr.execute("""INSERT INTO microsoft_calendar_credential
                      (user_id, connection_key, token_cache, home_account_id,
                       create_uid, write_uid, create_date, write_date)
                      VALUES (%s, %s, %s, %s, 1, 1, now() at time zone 'UTC', now() at time zone 'UTC')""",
                   [user_id, key, token_cache, home_account_id])
        cr.execute("UPDATE microsoft_calendar_account SET connection_key = %s WHERE id = %s", [key, account_id])
        moved += 1
    cr.execute("ALTER TABLE microsoft_calendar_account DROP COLUMN token_cache, DROP COLUMN home_account_id")
    return moved
