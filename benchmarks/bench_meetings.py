#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark of meetings shared by several connected mailboxes (issue #13).

Three Odoo users, each with their own sandbox mailbox (alice, bob and carol
@contoso.com), share MEETINGS meetings in Outlook (default 300: two thirds in
the past, one third ahead, all inside the addon's sync window; 40 % with an
outside attendee as well). Each meeting is organized by one of the three and
attended by the other two, so every mailbox holds every meeting once (the
organizer's item or an attendee's copy, with one iCalUId). The users connect
one after the other and run their first sync.

Printed per user and in total: Graph requests, Graph operations (each request
inside a ``$batch`` counted), SQL queries, wall seconds; then the Odoo events
created against the distinct meetings (a meeting is one Odoo event however many
connected mailboxes hold it) and the e-mails in the sandbox's sent-mail log
during the connect-and-sync phase (must be none: a sync sends nobody anything).
Each target says "met" or "NOT met"; the script exits 0 either way (figures are
reported, not asserted).

It reuses ``bench_vs_odoo``'s pieces: the sandbox in a child process, the HTTP
meter, the throwaway PostgreSQL cluster, the install and the real sign-in.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_meetings.py              # 300 meetings
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_meetings.py --meetings 30
"""

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import bench_vs_odoo as bench
from tools.run_odoo_tests import Cluster, find_pg_bindir

MODULE = "microsoft_calendar_sync"
MAILBOXES = [("alice@contoso.com", "Alice Martin"), ("bob@contoso.com", "Bob Stone"),
             ("carol@contoso.com", "Carol Jones")]
OUTSIDE_SHARE = 0.4


def say(message):
    print(f"bench_meetings: {message}", file=sys.stderr, flush=True)


def meetings_payload(count, now):
    """Seed events by organizer: ``count`` meetings, 2/3 in the past 25 days, 1/3 in the next 25 days."""
    past = count * 2 // 3
    future = count - past
    past_start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=25)
    future_start = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    by_organizer = {address: [] for address, _name in MAILBOXES}
    for number in range(count):
        if number < past:
            start = past_start + timedelta(minutes=(25 * 24 * 60 - 120) * number // past)
        else:
            start = future_start + timedelta(minutes=(25 * 24 * 60) * (number - past) // future)
        organizer = MAILBOXES[number % 3][0]
        attendees = [{"emailAddress": {"address": address, "name": name}, "type": "required"}
                     for address, name in MAILBOXES if address != organizer]
        if number % 5 < OUTSIDE_SHARE * 5:
            attendees.append({"emailAddress": {"address": f"guest{number}@fabrikam.com", "name": f"Guest {number}"},
                              "type": "required"})
        by_organizer[organizer].append({
            "subject": f"Meeting {number}", "start": bench.graph_time(start),
            "end": bench.graph_time(start + timedelta(minutes=45)), "attendees": attendees})
    return by_organizer


def expected_meetings(payload):
    """Subject -> (organizer address, every address of the meeting, organizer's included)."""
    return {event["subject"]: (organizer, frozenset(
        [organizer, *(attendee["emailAddress"]["address"] for attendee in event["attendees"])]))
        for organizer, events in payload.items() for event in events}


def odoo_events(side):
    """Every active Odoo event: (name, organizer's e-mail, attendees' e-mails), lower case."""
    with bench.environment(side.registry) as env:
        events = env["calendar.event"].search([])
        return [(event.name, (event.user_id.email or "").lower(),
                 frozenset(email.lower() for email in event.partner_ids.mapped("email") if email))
                for event in events]


def verdict(ok):
    return "met" if ok else "NOT met"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=300, help="meetings shared by the three (default 300)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    bindir, _version = find_pg_bindir()
    if not bindir:
        say("PostgreSQL server binaries not found (see tools/run_odoo_tests.py)")
        return 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-meetings-"))
    log_path = tmp / "odoo.log"
    try:
        with ExitStack() as stack:
            sandbox, meter = infrastructure(stack, bindir, tmp, log_path)
            run(args, sandbox, meter, log_path)
    except Exception:
        if log_path.exists():
            say("failed; the end of Odoo's log:\n" + "\n".join(log_path.read_text(errors="replace").splitlines()[-40:]))
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def infrastructure(stack, bindir, tmp, log_path):
    """PostgreSQL, the sandbox, the HTTP meter and Odoo in this process, undone by ``stack`` in reverse order."""
    cluster = Cluster(bindir)
    cluster.start()

    def drop_cluster():
        from odoo import sql_db  # noqa: PLC0415
        sql_db.close_all()
        cluster.stop()
        cluster.remove()

    stack.callback(drop_cluster)
    sandbox = bench.Sandbox(tmp / "sandbox")
    stack.callback(sandbox.stop)
    meter = bench.HttpMeter(sandbox)
    stack.callback(meter.uninstall)
    bench.start_odoo(cluster, log_path)
    return sandbox, meter


def run(args, sandbox, meter, log_path):
    """Seed, install, connect and sync the three users one after the other; print the report."""
    started = time.monotonic()
    sandbox.control("POST", "/seed", {
        "tenants": [{"domain": "contoso.com", "display_name": "Contoso"}],
        "mailboxes": [{"address": address, "display_name": name} for address, name in MAILBOXES]})
    say(f"installing {MODULE}")
    side = bench.OurSide("ours", bench.install("bench_meetings", MODULE), sandbox)
    for address, name in MAILBOXES:
        side.add_user(address, name)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    say(f"seeding {args.meetings} meetings ({time.monotonic() - started:.0f}s)")
    payload = meetings_payload(args.meetings, now)
    sandbox.control("POST", "/seed", {"mailboxes": [
        {"address": address, "events": events} for address, events in payload.items()]})
    seeded_mail = len(sandbox.control("GET", "/mail")["value"])
    sandbox.control("DELETE", "/mail")  # the seeding's invitations are Outlook's, before anyone syncs

    runs = {}
    for address, _name in MAILBOXES:
        say(f"{address}: connect and first sync ({time.monotonic() - started:.0f}s)")
        side.connect(address)
        runs[address] = bench.measure(meter, sandbox, lambda address=address: side.sync(address))
        runs[address]["status"] = side.errors(address)
    for address, _name in MAILBOXES:
        runs[address]["rows"] = side.status_rows(address)
    sync_mail = sandbox.control("GET", "/mail")["value"]

    window_start, window_end = side.window(MAILBOXES[0][0])
    stored = [event for address, _name in MAILBOXES for event in sandbox.events(address)]
    in_window = {event["iCalUId"] for event in stored
                 if window_start.replace(tzinfo=None) <= datetime.fromisoformat(event["start"][:19])
                 < window_end.replace(tzinfo=None)}
    report(args, runs, odoo_events(side), in_window, stored, expected_meetings(payload), seeded_mail, sync_mail,
           (window_start, window_end), log_path)


def report(args, runs, events, in_window, stored, expected, seeded_mail, sync_mail, window, log_path):
    outside = sum(1 for _organizer, people in expected.values() if len(people) > 3)
    print(f"# {args.meetings} meetings shared by three connected mailboxes ({outside} with an outside attendee), "
          "first syncs one after the other")
    print(f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {bench.machine()}")
    print(bench.versions())
    print(f"Sync window: {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d}; Outlook items in the three mailboxes: "
          f"{len(stored)} ({sum(1 for e in stored if e['isOrganizer'])} organizer items); seeding mailed "
          f"{seeded_mail} invitations (cleared before the first connect).")
    print("Counted in this process: HTTP requests reaching the sandbox's Graph (sign-in and connect not included), "
          "Graph operations (each $batch item counted), SQL queries of every cursor, wall seconds.\n")
    header = ["first sync of", "Graph requests", "Graph operations", "SQL queries", "wall s", "account after"]
    rows = [[address, str(run["http"]), str(run["ops"]), str(run["sql"]), f"{run['wall']:.2f}", run["status"]]
            for address, run in runs.items()]
    rows.append(["total", *(str(sum(run[key] for run in runs.values())) for key in ("http", "ops", "sql")),
                 f"{sum(run['wall'] for run in runs.values()):.2f}", ""])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("| " + " | ".join(value.ljust(width) for value, width in zip(row, widths)) + " |")
    for address, run in runs.items():
        kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(run["kinds"].items()))
        print(f"  {address}: {kinds or '-'}; status rows: {run['rows'] or '-'}")

    names = Counter(name for name, _organizer, _people in events)
    meeting_names = set(expected)
    right = sum(1 for name, organizer, people in events if names[name] == 1 and expected.get(name) == (organizer, people))
    distinct = len(in_window)
    created = len(events)
    in_odoo = len(set(names) & meeting_names)
    end = [("Odoo events created", created), ("distinct meetings (iCalUIds in the window)", distinct),
           ("meetings in Odoo (distinct subjects)", in_odoo),
           ("meetings with more than one Odoo event", f"{sum(1 for count in names.values() if count > 1)} "
                                                      f"(most: {max(names.values(), default=0)})"),
           ("meetings once in Odoo with Outlook's organizer and attendees", right),
           ("e-mails during connects and syncs",
            f"{len(sync_mail)} {Counter(entry['kind'] for entry in sync_mail).most_common() or ''}")]
    width = max(len(label) for label, _value in end)
    print("\nEnd state:")
    for label, value in end:
        print(f"  {label + ':':{width + 1}} {value}")
    for entry in sync_mail[:5]:
        print(f"    {entry['kind']} from {entry['from']} to {', '.join(entry['to'])}: {entry['subject']}")
    print("\nTargets:")
    print(f"  Odoo events created = distinct meetings: {created} vs {distinct}, {verdict(created == distinct)}")
    print(f"  every meeting in Odoo: {in_odoo} of {distinct}, {verdict(in_odoo == distinct)}")
    print(f"  every meeting once, with its organizer and attendees: {right} of {distinct}, {verdict(right == distinct)}")
    print(f"  no e-mail during the sync phase: {len(sync_mail)}, {verdict(not sync_mail)}")
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    problems = [line for line in lines if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
    print(f"\nOdoo log: {len(problems)} WARNING/ERROR record(s)" + "".join(f"\n  {line[:300]}" for line in problems[:10]))


if __name__ == "__main__":
    sys.exit(main())
