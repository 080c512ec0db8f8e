#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark of the Odoo <-> Outlook sync engine against the in-process sandbox.

Seeds the sandbox with N Outlook events and Odoo with M events, runs the first
sync, an incremental sync with C changes on each side, and a sync with no
change; prints, per run, Graph requests by kind (the client's counts and the
sandbox's), SQL queries (and per synced item), wall seconds and the peak of
Python memory allocated during the run (tracemalloc).

With ``--recurring``: R weekly Outlook series of 52 occurrences (X of them with
two changed occurrences and a cancelled one) and S single Outlook events, and P
weekly Odoo series of 10 events; the first sync, an incremental sync after E
series were renamed on each side (Outlook: the master's subject; Odoo: "all
events"), and a sync with no change. Besides the figures above it prints the
``$batch`` items by kind (series master GETs among them), the ``/instances``
requests, the Odoo occurrences created/updated/removed with the SQL queries per
synced occurrence, and the goal: delta pages + at most one ``/instances`` per
series with exceptions + ceil(creates/20) ``$batch``.

It runs the Odoo test ``TestSyncBenchmark`` (tagged ``mcs_benchmark``, not in the
standard tier; ``test_benchmark`` or ``test_benchmark_recurring``) through
``tools/run_odoo_tests.py`` in a throwaway database. Nothing is timed-asserted;
the figures are printed. Sizes may also come from the environment (MCS_BENCH_N,
MCS_BENCH_R...).

    python3 benchmarks/bench_sync.py            # N=M=500, C=20
    python3 benchmarks/bench_sync.py -n 2000 -m 1000 -c 50
    python3 benchmarks/bench_sync.py --recurring            # R=100, S=500, P=50, X=10, E=5
    python3 benchmarks/bench_sync.py --recurring -r 10 -s 50 -p 5
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "mcs_benchmark/microsoft_calendar_sync:TestSyncBenchmark"


def _size(name, default):
    return int(os.environ.get(f"MCS_BENCH_{name}", default))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=_size("N", 500), help="Outlook events (default 500)")
    parser.add_argument("-m", type=int, default=_size("M", 500), help="Odoo events (default 500)")
    parser.add_argument("-c", type=int, default=_size("C", 20), help="changes per side in the incremental sync (default 20)")
    recurring = parser.add_argument_group("recurring workload")
    recurring.add_argument("--recurring", action="store_true",
                           help="run the recurring workload instead of the single-event one")
    recurring.add_argument("-r", type=int, default=_size("R", 100), help="Outlook weekly series of 52 (default 100)")
    recurring.add_argument("-s", type=int, default=_size("S", 500), help="Outlook single events (default 500)")
    recurring.add_argument("-p", type=int, default=_size("P", 50), help="Odoo weekly series of 10 (default 50)")
    recurring.add_argument("-x", type=int, default=_size("X", 10),
                           help="Outlook series with 2 changed and 1 cancelled occurrences (default 10)")
    recurring.add_argument("-e", type=int, default=_size("E", 5),
                           help="series renamed per side before the incremental sync (default 5)")
    args = parser.parse_args()
    if args.recurring:
        sizes = {"R": args.r, "S": args.s, "P": args.p, "X": args.x, "E": args.e}
        tags = f"{TEST}.test_benchmark_recurring"
    else:
        sizes = {"N": args.n, "M": args.m, "C": args.c}
        tags = f"{TEST}.test_benchmark"
    env = dict(os.environ, **{f"MCS_BENCH_{name}": str(value) for name, value in sizes.items()})
    process = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_odoo_tests.py"), "--tags", tags],
        env=env, capture_output=True, text=True, check=False)
    runs = []
    for line in (process.stdout + process.stderr).splitlines():
        if "MCS_BENCH " in line:
            runs.append(json.loads(line.split("MCS_BENCH ", 1)[1]))
    if not runs:
        print(process.stdout[-4000:], process.stderr[-4000:], sep="\n")
        print("bench_sync: no figures (the benchmark test failed)", file=sys.stderr)
        return 1
    if args.recurring:
        print(f"R={args.r} Outlook weekly series of 52 ({min(args.x, args.r)} with 2 changed and 1 cancelled "
              f"occurrences), S={args.s} Outlook single events, P={args.p} Odoo weekly series of 10, "
              f"E={args.e} series renamed per side")
        print("goal per run: delta pages + at most one /instances per series with exceptions "
              "+ ceil(creates/20) $batch")
    else:
        print(f"N={args.n} Outlook events, M={args.m} Odoo events, C={args.c} changes per side")
        print(f"target outbound batches for the first sync: <= ceil(M/20) = {math.ceil(args.m / 20)} "
              "(+ retries; nothing is written back to the inbound events)")
    for run in runs:
        print(f"\n== {run['run']}")
        print(f"  wall {run['wall_s']} s, peak {run['peak_mb']} MB (tracemalloc)")
        print(f"  Graph requests (client): {run['graph_total']} {run['graph_requests']}")
        print(f"  Graph requests (sandbox): {run['sandbox_requests']}")
        print(f"  SQL queries: {run['sql_queries']} ({run['sql_per_synced_item']} per synced item, "
              f"{run['synced_items']} items)")
        if "goal" in run:
            occurrences = run["odoo_occurrences"]
            print(f"  SQL per synced occurrence: {run['sql_per_synced_occurrence']} ({run['synced_occurrences']} "
                  f"Odoo occurrences: {occurrences['created']} created, {occurrences['updated']} updated; "
                  f"{occurrences['removed']} removed)")
            print(f"  $batch items: {run['batch_items']}")
            print(f"  series master GETs in $batch: {run['series_master_gets']}, "
                  f"/instances requests (sandbox): {run['instances_requests']}")
            goal = run["goal"]
            verdict = "within" if run["graph_total"] <= goal["requests"] else \
                f"over by {run['graph_total'] - goal['requests']}"
            print(f"  goal: {goal['delta_pages']} delta pages + at most {goal['series_with_exceptions']} /instances "
                  f"+ ceil({goal['outlook_creates']}/20) = {goal['create_batches']} $batch "
                  f"= {goal['requests']} requests; client sent {run['graph_total']} ({verdict})")
        print(f"  counts: {run['counts']}")
    if process.returncode != 0:
        print(process.stdout[-6000:], process.stderr[-4000:], sep="\n", file=sys.stderr)
        print("bench_sync: the benchmark test failed (figures above are those printed before)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
