# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sync benchmark (not part of the standard tier; ``benchmarks/bench_sync.py``
runs it with ``--tags mcs_benchmark``). It prints figures and asserts only
correctness (no timing assertions).

N Outlook events and M Odoo events, a first sync, then an incremental sync with
C changes on each side, then a sync with no change. Sizes come from the
environment: MCS_BENCH_N, MCS_BENCH_M, MCS_BENCH_C (defaults 500, 500, 20).
"""

import json
import os
import time
import tracemalloc
from datetime import datetime, timedelta

from outlook_sync.client import BatchRequest, event_path

from odoo.tests import tagged

from .common import OutlookCase
from .sync_common import SyncCase


@tagged("-standard", "mcs_benchmark", "post_install", "-at_install")
class TestSyncBenchmark(OutlookCase):

    control = SyncCase.control
    outlook_events = SyncCase.outlook_events

    def measure(self, label, run):
        self.env.flush_all()
        self.control("DELETE", "/stats")
        cr = self.env.cr
        queries = cr.sql_log_count
        tracemalloc.start()
        started = time.perf_counter()
        counts = run()
        self.env.flush_all()  # the run's pending writes belong to its figures
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
