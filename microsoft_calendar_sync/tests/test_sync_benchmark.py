# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync benchmark (not part of the standard tier; ``benchmarks/bench_sync.py``
runs it with ``--tags mcs_benchmark``, one method at a time). It prints figures and
asserts only correctness (no timing assertions).

``test_benchmark``: N Outlook events and M Odoo events, a first sync, then an
incremental sync with C changes on each side, then a sync with no change. Sizes
come from the environment: MCS_BENCH_N, MCS_BENCH_M, MCS_BENCH_C (defaults 500,
500, 20).

``test_benchmark_recurring``: a mailbox with R weekly series of 52 occurrences (X
of them with 2 changed occurrences and 1 cancelled one) and S single events, and
P weekly Odoo series of 10 events; a first sync, an incremental sync after E
series were renamed on each side, then a sync with no change. Sizes come from the
environment: MCS_BENCH_R, MCS_BENCH_S, MCS_BENCH_P, MCS_BENCH_X, MCS_BENCH_E
(defaults 100, 500, 50, 10, 5).
"""

import json
import math
import os
import time
import tracemalloc
from collections import Counter
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from unittest.mock import patch
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from outlook_sync.client import BatchRequest, GraphClient, event_path

from odoo.tests import tagged

from .common import OutlookCase
from .sync_common import SyncCase

BRUSSELS = ZoneInfo("Europe/Brussels")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: What the recurring benchmark compares between two snapshots of Alice's Odoo events.
SNAPSHOT_FIELDS = ("name", "start", "stop", "allday", "active", "follow_recurrence", "recurrence_id", "location",
                   "description", "show_as", "privacy")


def _batch_item_kind(request):
    """What a ``$batch`` item is, for the figures: series master reads and /instances apart."""
    url = urlsplit(request.url)
    method = request.method.upper()
    if "/instances" in url.path:
        return f"{method} instances"
    if method == "GET" and "exceptionOccurrences" in url.query:
        return "GET series master"
    if url.path.rstrip("/").endswith("/events"):
        return f"{method} events"
    return f"{method} event"


class RecurringProbe:
    """What the recurring benchmark measures besides the common figures: the ``$batch`` items
    the run sent by kind (series master GETs, /instances) and the Odoo occurrences it created,
    updated or removed (from snapshots of Alice's events taken outside the measured run)."""

    def __init__(self, case, series_with_exceptions):
        self.case = case
        self.series_with_exceptions = series_with_exceptions
        self.items = Counter()
        self.stack = None
        self.before = None

    def snapshot(self):
        env = self.case.env
        events = env["calendar.event"].sudo().with_context(active_test=False).search_read(
            [("user_id", "=", self.case.alice.id)], ["recurrency", *SNAPSHOT_FIELDS])
        env.invalidate_all()  # the run starts with an empty cache, as a cron run does
        return {event["id"]: event for event in events}

    def start(self):
        self.before = self.snapshot()
        original = GraphClient.batch
        items = self.items

        def recording_batch(client, requests_):
            items.update(_batch_item_kind(request) for request in requests_)
            return original(client, requests_)

        self.stack = ExitStack()
        self.stack.enter_context(patch.object(GraphClient, "batch", recording_batch))

    def finish(self, counts, figures):
        self.stack.close()
        after = self.snapshot()
        created = [i for i in after if i not in self.before]
        updated = [i for i in after if i in self.before and after[i] != self.before[i]
                   and after[i]["active"] == self.before[i]["active"]]
        removed = [i for i in self.before if i not in after or (self.before[i]["active"] and not after[i]["active"])]
        occurrences = len(created) + len(updated)
        instances = figures["sandbox_requests"].get("GET /me/events/{event_id}/instances", 0)
        goal = counts["pages"] + self.series_with_exceptions + math.ceil(counts["outlook_created"] / 20)
        return {
            "batch_items": dict(sorted(self.items.items())),
            "series_master_gets": self.items["GET series master"],
            "instances_requests": instances,
            "odoo_occurrences": {
                "created": len(created), "updated": len(updated), "removed": len(removed),
                "created_recurring": sum(1 for i in created if after[i]["recurrency"]),
                "updated_recurring": sum(1 for i in updated if after[i]["recurrency"])},
            "synced_occurrences": occurrences,
            "sql_per_synced_occurrence": round(figures["sql_queries"] / (occurrences or 1), 1),
            "goal": {"delta_pages": counts["pages"], "series_with_exceptions": self.series_with_exceptions,
                     "outlook_creates": counts["outlook_created"],
                     "create_batches": math.ceil(counts["outlook_created"] / 20), "requests": goal},
        }


@tagged("-standard", "mcs_benchmark", "post_install", "-at_install")
class TestSyncBenchmark(OutlookCase):

    control = SyncCase.control
    outlook_events = SyncCase.outlook_events
    sent_mail = SyncCase.sent_mail

    def measure(self, label, run, probe=None):
        self.env.flush_all()
        self.control("DELETE", "/stats")
        if probe is not None:
            probe.start()
        cr = self.env.cr
        queries = cr.sql_log_count
        tracemalloc.start()
        started = time.perf_counter()
        try:
            counts = run()
            self.env.flush_all()  # the run's pending writes belong to its figures
        finally:
            wall = time.perf_counter() - started
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        queries = cr.sql_log_count - queries
        sandbox = self.control("GET", "/stats")["by_endpoint"]
        graph = {k[len("graph "):]: v for k, v in counts.items() if k.startswith("graph ")}
        synced = counts["synced"] or 1
        figures = {
            "run": label, "wall_s": round(wall, 2), "peak_mb": round(peak / 2**20, 1),
            "graph_requests": graph, "graph_total": sum(graph.values()),
            "sandbox_requests": sandbox, "sql_queries": queries, "synced_items": counts["synced"],
            "sql_per_synced_item": round(queries / synced, 1),
            "counts": {k: v for k, v in counts.items() if not k.startswith("graph ")},
        }
        if probe is not None:
            figures.update(probe.finish(counts, figures))
        print("MCS_BENCH " + json.dumps(figures, sort_keys=True))
        return counts, figures

    def test_benchmark(self):
        n = int(os.environ.get("MCS_BENCH_N", 500))
        m = int(os.environ.get("MCS_BENCH_M", 500))
        c = int(os.environ.get("MCS_BENCH_C", 20))
        start = datetime.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        Event = self.env["calendar.event"].with_user(self.alice)
        odoo_events = Event.create([{
            "name": f"Odoo {i}", "user_id": self.alice.id, "start": start + timedelta(hours=3 * i),
            "stop": start + timedelta(hours=3 * i + 1), "location": f"Room {i % 7}"} for i in range(m)])
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        with settings.graph_client(account._mcs_sign_in()) as client:
            answers = client.batch([BatchRequest("POST", "/me/events", {
                "subject": f"Outlook {i}",
                "start": {"dateTime": (start + timedelta(hours=3 * i + 1)).strftime("%Y-%m-%dT%H:%M:%S"),
                          "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=3 * i + 2)).strftime("%Y-%m-%dT%H:%M:%S"),
                        "timeZone": "UTC"}}) for i in range(n)])
        outlook_ids = [answer.body["id"] for answer in answers]

        counts, first = self.measure("first sync", account._mcs_sync)
        self.assertEqual(account.state, "connected", account.last_error)
        self.assertEqual(len(self.outlook_events()), n + m)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("user_id", "=", self.alice.id)]), n + m)

        # C changes on each side
        odoo_events[:c].write({"location": "Changed in Odoo"})
        with settings.graph_client(account._mcs_sign_in()) as client:
            client.batch([BatchRequest("PATCH", event_path(graph_id), {"subject": "Changed in Outlook"})
                          for graph_id in outlook_ids[:c]])
        counts, incremental = self.measure("incremental sync", account._mcs_sync)
        # (the round also lists every event the first sync wrote to Outlook: Graph reports our own
        # writes; they reconcile to no change)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Changed in Outlook")]), c)

        counts, idle = self.measure("no change", account._mcs_sync)
        self.assertEqual(idle["graph_total"], 1)

    # -- recurring series ----------------------------------------------------------

    def test_benchmark_recurring(self):
        r = int(os.environ.get("MCS_BENCH_R", 100))  # Outlook weekly series of 52 occurrences
        s = int(os.environ.get("MCS_BENCH_S", 500))  # Outlook single events
        p = int(os.environ.get("MCS_BENCH_P", 50))  # Odoo weekly series of 10 events
        x = min(int(os.environ.get("MCS_BENCH_X", 10)), r)  # Outlook series with changed/cancelled occurrences
        e = int(os.environ.get("MCS_BENCH_E", 5))  # series renamed on each side before the incremental run
        tomorrow = date.today() + timedelta(days=1)
        exceptional = set(range(0, r, r // x)[:x]) if x else set()
        edited_outlook = [i for i in range(r) if i not in exceptional][:e]

        # Odoo: P weekly series of 10 events, 07:00-16:00 in Brussels, Monday to Friday
        def odoo_start(i):
            day = tomorrow + timedelta(days=i % 5)
            local = datetime(day.year, day.month, day.day, 7 + (i // 5) % 10, 30, tzinfo=BRUSSELS)
            return day, local.astimezone(timezone.utc).replace(tzinfo=None)

        values = []
        for i in range(p):
            day, start = odoo_start(i)
            values.append({
                "name": f"Odoo series {i}", "user_id": self.alice.id, "start": start,
                "stop": start + timedelta(minutes=30), "recurrency": True, "rrule_type": "weekly", "interval": 1,
                WEEKDAYS[day.weekday()][:3]: True, "end_type": "count", "count": 10,
                "event_tz": "Europe/Brussels"})
        Event = self.env["calendar.event"].with_user(self.alice)
        Event.create(values)
        odoo_recurrences = self.env["calendar.recurrence"].sudo().search(
            [("base_event_id.user_id", "=", self.alice.id)], order="id")
        self.assertEqual(len(odoo_recurrences), p)
        account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        settings = self.env["microsoft.calendar.config"]._mcs_settings()

        # Outlook: R weekly series of 52 occurrences and S single events, through Graph in $batch
        zone = "Romance Standard Time"
        series = []
        for i in range(r):
            day, hour = tomorrow + timedelta(days=i % 5), 8 + (i // 5) % 10
            series.append({
                "subject": f"Outlook series {i}",
                "start": {"dateTime": f"{day}T{hour:02d}:00:00", "timeZone": zone},
                "end": {"dateTime": f"{day}T{hour:02d}:45:00", "timeZone": zone},
                "location": {"displayName": f"Room {i % 7}"},
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [WEEKDAYS[day.weekday()]]},
                    "range": {"type": "numbered", "startDate": day.isoformat(), "numberOfOccurrences": 52,
                              "recurrenceTimeZone": zone}}})
        first = datetime.combine(tomorrow, datetime.min.time(), timezone.utc)
        singles = [{
            "subject": f"Outlook {i}",
            "start": {"dateTime": (first + timedelta(hours=3 * i + 7)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (first + timedelta(hours=3 * i + 8)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        } for i in range(s)]
        with settings.graph_client(account._mcs_sign_in()) as client:
            answers = client.batch([BatchRequest("POST", "/me/events", body) for body in series + singles])
            self.assertTrue(all(answer.ok for answer in answers), [a.status for a in answers if not a.ok][:5])
            masters = [answer.body["id"] for answer in answers[:r]]
            # X series: the 2nd and 3rd occurrences changed, the 4th cancelled (ids from /instances)
            exceptional = sorted(exceptional)
            lookups = client.batch([BatchRequest("GET", f"{event_path(masters[i])}/instances?" + urlencode({
                "startDateTime": (first - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": (first + timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$top": 50})) for i in exceptional])
            changes, cancelled = [], {}
            for i, lookup in zip(exceptional, lookups):
                self.assertTrue(lookup.ok, lookup.body)
                found = sorted(lookup.body["value"], key=lambda item: item["start"]["dateTime"])
                self.assertGreaterEqual(len(found), 4, f"series {i}: {len(found)} occurrences in 5 weeks")
                moved = datetime.fromisoformat(found[2]["start"]["dateTime"][:19]) + timedelta(hours=2)
                changes += [
                    BatchRequest("PATCH", event_path(found[1]["id"]), {
                        "subject": f"Outlook series {i} (changed 1)", "location": {"displayName": "Elsewhere"}}),
                    BatchRequest("PATCH", event_path(found[2]["id"]), {
                        "subject": f"Outlook series {i} (changed 2)",
                        "start": {"dateTime": moved.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                        "end": {"dateTime": (moved + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%S"),
                                "timeZone": "UTC"}}),
                    BatchRequest("DELETE", event_path(found[3]["id"]))]
                original = datetime.fromisoformat(found[3]["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
                cancelled[i] = original.astimezone(BRUSSELS).date()
            answers = client.batch(changes)
            self.assertTrue(all(answer.ok for answer in answers), [(a.status, a.body) for a in answers if not a.ok][:5])
        self.control("DELETE", "/mail")

        def check_sides():
            recurrences = self.env["calendar.recurrence"].sudo().search_count(
                [("base_event_id.user_id", "=", self.alice.id)])
            outlook = Counter(event.get("type") for event in self.outlook_events())
            odoo_singles = self.env["calendar.event"].sudo().search_count(
                [("user_id", "=", self.alice.id), ("recurrency", "=", False)])
            self.assertEqual((recurrences, outlook["seriesMaster"]), (r + p, r + p),
                             "one Odoo recurrence and one Outlook series master per series")
            self.assertEqual((odoo_singles, outlook["singleInstance"]), (s, s), "the single events, on both sides")
            self.assertEqual(self.sent_mail(), [], "the sync sent no e-mail")

        def odoo_series_of(graph_id):
            row = self.env["microsoft.calendar.binding"].sudo().search(
                [("account_id", "=", account.id), ("graph_id", "=", graph_id)])
            self.assertEqual(row.kind, "series", graph_id)
            return row.recurrence_id.calendar_event_ids  # the active ones

        # (1) the first sync
        counts, first_run = self.measure("first sync", account._mcs_sync, RecurringProbe(self, x))
        self.assertEqual(account.state, "connected", account.last_error)
        self.assertFalse(account.last_error)
        check_sides()
        for i in exceptional:
            events = odoo_series_of(masters[i])
            self.assertEqual(len(events), 51, f"series {i}: 52 occurrences, one cancelled")
            changed = events.filtered(lambda event: not event.follow_recurrence)
            self.assertEqual(sorted(changed.mapped("name")),
                             [f"Outlook series {i} (changed 1)", f"Outlook series {i} (changed 2)"], f"series {i}")
            days = {event.start.replace(tzinfo=timezone.utc).astimezone(BRUSSELS).date() for event in events}
            self.assertNotIn(cancelled[i], days, f"series {i}: the cancelled occurrence left Odoo")
        for i in edited_outlook[:1]:
            self.assertEqual(len(odoo_series_of(masters[i])), 52)

        # (2) E series renamed on each side
        with settings.graph_client(account._mcs_sign_in()) as client:
            answers = client.batch([BatchRequest("PATCH", event_path(masters[i]), {
                "subject": f"Outlook series {i} (renamed)"}) for i in edited_outlook])
            self.assertTrue(all(answer.ok for answer in answers))
        renamed_in_odoo = set()
        for recurrence in odoo_recurrences[:e]:
            event = recurrence.calendar_event_ids.sorted("start")[1]
            renamed_in_odoo.add(f"{event.name} (renamed)")
            event.with_user(self.alice).write({"name": f"{event.name} (renamed)", "recurrence_update": "all_events"})
        counts, incremental = self.measure("incremental sync", account._mcs_sync, RecurringProbe(self, 0))
        self.assertEqual(account.state, "connected", account.last_error)
        check_sides()
        for i in edited_outlook:
            self.assertEqual(set(odoo_series_of(masters[i]).mapped("name")), {f"Outlook series {i} (renamed)"})
        renamed = {event["subject"] for event in self.outlook_events() if event.get("type") == "seriesMaster"
                   and event["subject"].endswith("(renamed)") and event["subject"].startswith("Odoo series ")}
        self.assertEqual(renamed, renamed_in_odoo, "the series renamed in Odoo, renamed in Outlook")

        # (3) nothing changed
        counts, idle = self.measure("no change", account._mcs_sync, RecurringProbe(self, 0))
        self.assertEqual(account.state, "connected", account.last_error)
        self.assertFalse(idle["counts"].get("received") or idle["counts"].get("sent"), idle["counts"])
        check_sides()
