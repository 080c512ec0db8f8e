#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark of the Odoo <-> Outlook sync engine against the in-process sandbox.

Seeds the sandbox with N Outlook events and Odoo with M events, runs the first
sync, an incremental sync with C changes on each side, and a sync with no
change; prints, per run, Graph requests by kind (the client's counts and the
sandbox's), SQL queries (and per synced item), wall seconds and the peak of
Python memory allocated during the run (tracemalloc).

It runs the Odoo test ``TestSyncBenchmark`` (tagged ``mcs_benchmark``, not in the
standard tier) through ``tools/run_odoo_tests.py`` in a throwaway database.
Nothing is timed-asserted; the figures are printed.

    python3 benchmarks/bench_sync.py            # N=M=500, C=20
    python3 benchmarks/bench_sync.py -n 2000 -m 1000 -c 50
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=500, help="Outlook events (default 500)")
    parser.add_argument("-m", type=int, default=500, help="Odoo events (default 500)")
    parser.add_argument("-c", type=int, default=20, help="changes per side in the incremental sync (default 20)")
    args = parser.parse_args()
    env = dict(os.environ, MCS_BENCH_N=str(args.n), MCS_BENCH_M=str(args.m), MCS_BENCH_C=str(args.c))
    process = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run_odoo_tests.py"), "--tags", "mcs_benchmark"],
        env=env, capture_output=True, text=True, check=False)
    runs = []
    for line in (process.stdout + process.stderr).splitlines():
        if "MCS_BENCH " in line:
            runs.append(json.loads(line.split("MCS_BENCH ", 1)[1]))
    if not runs:
        print(process.stdout[-4000:], process.stderr[-4000:], sep="\n")
        print("bench_sync: no figures (the benchmark test failed)", file=sys.stderr)
        return 1
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
        print(f"  counts: {run['counts']}")
    return 0 if process.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
