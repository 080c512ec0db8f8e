#!/bin/bash
# Entrypoint of the outlook-calendar-sync Odoo image.
#
#   1. waits for PostgreSQL;
#   2. first start: creates the database and installs microsoft_calendar_sync
#      (with demo data when MCS_DEMO=True);
#   3. every start: writes the addon's settings from the MCS_* variables
#      and ODOO_BASE_URL (apply_settings.py, through `odoo shell`);
#   4. execs Odoo (arguments after "odoo" are passed on).
# Any other command (e.g. `bash`) is run as is.
#
# Environment: HOST, PORT, USER, PASSWORD (PostgreSQL, as in the official
# image; defaults db, 5432, odoo, odoo), DB_NAME (odoo), MCS_DEMO (True),
# MCS_* and ODOO_BASE_URL (see apply_settings.py), MCS_WAIT_SECONDS (120).
set -euo pipefail

: "${HOST:=db}" "${PORT:=5432}" "${USER:=odoo}" "${PASSWORD:=odoo}"
: "${DB_NAME:=odoo}" "${MCS_DEMO:=True}" "${MCS_WAIT_SECONDS:=120}"
: "${ODOO_RC:=/etc/odoo/odoo.conf}"
MODULE=microsoft_calendar_sync
APPLY_SETTINGS=${MCS_APPLY_SETTINGS:-/opt/outlook-calendar-sync/apply_settings.py}

case "${1:-odoo}" in
    odoo) [ $# -gt 0 ] && shift ;;
    -*) ;;
    *) exec "$@" ;;
esac

say() { echo "outlook-calendar-sync: $*" >&2; }
DB_ARGS=(--db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD")
ODOO=(odoo -c "$ODOO_RC" "${DB_ARGS[@]}" -d "$DB_NAME")

say "waiting for PostgreSQL at $HOST:$PORT"
deadline=$((SECONDS + MCS_WAIT_SECONDS))
until PGPASSWORD="$PASSWORD" psql -h "$HOST" -p "$PORT" -U "$USER" -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then say "PostgreSQL did not answer in ${MCS_WAIT_SECONDS}s"; exit 1; fi
    sleep 1
done

state=$(PGPASSWORD="$PASSWORD" psql -h "$HOST" -p "$PORT" -U "$USER" -d "$DB_NAME" -tAc \
    "SELECT state FROM ir_module_module WHERE name = '$MODULE'" 2>/dev/null || true)
if [ "$state" != "installed" ]; then
    demo=()
    case "${MCS_DEMO,,}" in true|1|yes) demo=(--with-demo) ;; esac
    say "installing $MODULE in database $DB_NAME ${demo[*]:-without demo data} (first start: a minute or two)"
    "${ODOO[@]}" -i "$MODULE" "${demo[@]}" --stop-after-init --no-http
fi

case "${MCS_USE_SANDBOX:-}" in
    True|true|1|yes)
        if [ -n "${MCS_CA_FILE:-}" ]; then
            say "waiting for the Outlook sandbox's CA file $MCS_CA_FILE"
            deadline=$((SECONDS + MCS_WAIT_SECONDS))
            until [ -s "$MCS_CA_FILE" ]; do
                if [ $SECONDS -ge $deadline ]; then say "no $MCS_CA_FILE after ${MCS_WAIT_SECONDS}s: is the sandbox running?"; exit 1; fi
                sleep 1
            done
        fi ;;
esac

say "applying the Outlook Calendar settings"
odoo shell -c "$ODOO_RC" "${DB_ARGS[@]}" -d "$DB_NAME" --no-http --log-level=warn < "$APPLY_SETTINGS"

say "starting Odoo"
exec "${ODOO[@]}" "$@"
