#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How long an Outlook change takes to reach Odoo: change notifications vs polling.

Starts a throwaway PostgreSQL cluster (tools/run_odoo_tests.py's), the Outlook
sandbox in this process and a real Odoo server process with one cron thread
(``--workers 0 --max-cron-threads 1``, so ``ir.cron._trigger`` wakes the cron
thread through PostgreSQL's NOTIFY as in production), installs the addon,
connects Alice through the real sign-in flow (HTTP, as a browser would), lets
the subscription cron subscribe (the sandbox's validation handshake reaches
Odoo's loopback URL) and the first sync run. Then, per mode:

- ``push``: change notifications on (the default);
- ``polling``: change notifications switched off (the subscription is
  deleted) and the pull cron's interval set to ``--poll-minutes`` (default 1,
  Odoo's smallest; the product's default is 15, so real polling delays are
  15 times these);

it makes ``--changes`` changes in Alice's sandbox mailbox through Graph
(creates, then updates and deletes of events that reached Odoo), one every
``--interval`` seconds (``--polling-interval`` when polling, so the changes
spread over several polls), each tracked on its own: the delay is from Graph's
answer to the change to the moment the Odoo database shows it (an event with
the new subject; the event archived for a delete), read every 50 ms with
psycopg2. Printed per mode: p50, p95, max, changes lost (not seen within
``--timeout``), notifications delivered and Graph requests Odoo made per
notification (the sandbox's request statistics minus the benchmark's own
changes). Nothing is asserted on timing.

    python3 benchmarks/bench_notifications.py                 # 100 changes per mode
    python3 benchmarks/bench_notifications.py --changes 30 --modes push

Needs Odoo 19 importable by this Python and the repository's packages
(``pip install -e '.[sandbox]'``); says so and exits 0 otherwise.
"""

import argparse
import contextlib
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))
DB = "bench_notifications"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "bench-secret~value-1"
CALLBACK = "/microsoft_account/authentication"
MAILBOX = "alice@contoso.com"


def say(message):
    print(f"bench_notifications: {message}", flush=True)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


class Bench:
    def __init__(self, args, rot, requests):
        self.args, self.rot, self.requests = args, rot, requests
        self.work = Path(tempfile.mkdtemp(prefix="bench-notifications-", dir="/tmp" if os.geteuid() == 0 else None))
        os.chmod(self.work, 0o755)
        self.cluster = self.sandbox = self.odoo_proc = None
        self.port = rot.free_port()
        self.odoo_url = f"http://127.0.0.1:{self.port}"
        self.log = self.work / "odoo.log"

    # -- setting up ------------------------------------------------------------------

    def start(self):
        from outlook_sandbox import SandboxServer
        from outlook_sandbox.seed import load_seed_data

        bindir, _version = self.rot.find_pg_bindir()
        if not bindir:
            raise RuntimeError("PostgreSQL server binaries not found (initdb, pg_ctl, postgres)")
        self.cluster = self.rot.Cluster(bindir, directory=self.work / "postgresql")
        self.cluster.start()
        self.sandbox = SandboxServer(host="127.0.0.1").start()
        load_seed_data(self.sandbox.world, {
            "tenants": [{"domain": "contoso.com", "id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                         "display_name": "Contoso"}],
            "apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "display_name": "Odoo (benchmark)",
                      "redirect_uris": [self.odoo_url + CALLBACK]}],
            "mailboxes": [{"address": MAILBOX, "display_name": "Alice Martin"}],
        })
        conf = self.work / "odoo.conf"
        options = {
            "addons_path": str(ROOT), "data_dir": str(self.work / "odoo-data"),
            "db_host": str(self.cluster.socket_dir), "db_port": self.rot.PG_PORT, "db_user": self.rot.DB_USER,
            "db_name": DB, "dbfilter": f"^{DB}$", "list_db": "False",
            "http_interface": "127.0.0.1", "http_port": self.port, "workers": 0, "max_cron_threads": 1,
        }
        conf.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "ODOO_RC"}
        self.env["PYTHONUNBUFFERED"] = "1"
        self.base_cmd = self.rot.odoo_command() + ["-c", str(conf), "-d", DB]
        say("installing the addon (a minute or two)")
        self.run(self.base_cmd + ["-i", "microsoft_calendar_sync", "--stop-after-init", "--no-http"])
        settings_env = {
            **self.env, "MCS_ENABLED": "True", "MCS_CLIENT_ID": CLIENT_ID, "MCS_CLIENT_SECRET": CLIENT_SECRET,
            "MCS_TENANT": "common", "MCS_USE_SANDBOX": "True", "MCS_LOGIN_URL": self.sandbox.login_url,
            "MCS_GRAPH_URL": self.sandbox.graph_url, "MCS_CA_FILE": self.sandbox.ca_path,
            "ODOO_BASE_URL": self.odoo_url,
        }
        script = (ROOT / "docker" / "odoo" / "apply_settings.py").read_text() + textwrap.dedent("""
            env["res.users"].create({"name": "Alice Martin", "login": "alice", "password": "alice",
                                     "email": "alice@contoso.com", "mcs_expected_mailbox": "alice@contoso.com"})
            env.cr.commit()
        """)
        self.run(self.rot.odoo_command() + ["shell", "-c", str(conf), "-d", DB, "--no-http"],
                 env=settings_env, stdin=script)
        say(f"starting Odoo on {self.odoo_url} (1 cron thread)")
        with open(self.log, "a") as out:
            self.odoo_proc = subprocess.Popen(self.base_cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                              start_new_session=True)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with contextlib.suppress(self.requests.RequestException):
                if self.requests.get(self.odoo_url + "/web/health", timeout=5).status_code == 200:
                    break
            if self.odoo_proc.poll() is not None:
                raise RuntimeError("Odoo stopped: " + self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        import psycopg2
        self.db = psycopg2.connect(host=str(self.cluster.socket_dir), port=self.rot.PG_PORT,
                                   user=self.rot.DB_USER, dbname=DB)
        self.db.autocommit = True

    def run(self, command, env=None, stdin=None):
        with open(self.log, "a") as out:
            result = subprocess.run(command, env=env or self.env, input=stdin, stdout=out, stderr=subprocess.STDOUT,
                                    text=True, timeout=900, check=False)
        if result.returncode:
            raise RuntimeError(f"{command[2:4]} failed; see {self.log}:\n"
                               + self.log.read_text(errors="replace")[-3000:])

    def connect_alice(self):
        from outlook_sandbox.signin_form import parse_sign_in_form

        browser = self.requests.Session()
        self.jsonrpc(browser, "/web/session/authenticate", {"db": DB, "login": "alice", "password": "alice"})
        start = browser.get(self.odoo_url + "/microsoft_calendar_sync/connect", allow_redirects=False)
        page = self.requests.get(start.headers["Location"], verify=self.sandbox.ca_path, timeout=10)
        form = parse_sign_in_form(page.text)
        mailbox = self.sandbox.world.mailbox_by_address(MAILBOX)
        answer = self.requests.post(self.sandbox.login_url + form.action,
                                    data={**form.hidden, "action": "accept", "account": mailbox.id},
                                    verify=self.sandbox.ca_path, allow_redirects=False, timeout=10)
        back = browser.get(answer.headers["Location"], allow_redirects=False, timeout=30)
        if back.status_code != 303 or "/odoo/calendar" not in back.headers.get("Location", ""):
            raise RuntimeError(f"connecting failed: {back.status_code} {back.text[:500]}")
        self.admin = self.requests.Session()
        self.jsonrpc(self.admin, "/web/session/authenticate", {"db": DB, "login": "admin", "password": "admin"})

    def jsonrpc(self, session, path, params):
        answer = session.post(self.odoo_url + path, json={"jsonrpc": "2.0", "method": "call", "params": params},
                              timeout=60).json()
        if "error" in answer:
            raise RuntimeError(f"{path}: {json.dumps(answer['error'])[:1000]}")
        return answer["result"]

    def call(self, model, method, *args, **kwargs):
        return self.jsonrpc(self.admin, "/web/dataset/call_kw",
                            {"model": model, "method": method, "args": list(args), "kwargs": kwargs})

    def cron_id(self, xmlid):
        [row] = self.call("ir.model.data", "search_read", [("module", "=", "microsoft_calendar_sync"),
                                                           ("name", "=", xmlid)], ["res_id"])
        return row["res_id"]

    def sql(self, query, params=()):
        with self.db.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def wait_for(self, what, check, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}; see {self.log}")

    def control(self, method, path, payload=None):
        answer = self.requests.request(method, f"{self.sandbox.base_url}/_sandbox{path}", json=payload,
                                       verify=self.sandbox.ca_path, timeout=30)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def subscriptions(self):
        return self.control("GET", "/subscriptions")["value"]

    # -- measuring -------------------------------------------------------------------

    def graph(self):
        """A Graph session as Alice in Outlook (``verify`` per request: REQUESTS_CA_BUNDLE beats Session.verify)."""
        token = self.control("POST", "/tokens", {"mailbox": MAILBOX, "client_id": CLIENT_ID,
                                                 "lifetime": 24 * 3600})["access_token"]
        session = self.requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        return session

    def event_state(self, subject):
        """None (no such event in Odoo), True (active) or False (archived)."""
        rows = self.sql("SELECT active FROM calendar_event WHERE name = %s", (subject,))
        return rows[0][0] if rows else None

    def measure(self, mode, interval):
        graph, rng = self.graph(), random.Random(42)
        tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0,
                                                                             microsecond=0)
        landed = []      # (graph id, subject) of created events seen in Odoo, free to change
        pending = []     # (kind, subject, expected state, t0)
        delays, lost, kinds = [], [], {"create": 0, "update": 0, "delete": 0}
        notified_before = self.notifications_delivered()
        stats_before = self.control("GET", "/stats")["by_endpoint"]
        own_requests = 0
        started = time.monotonic()
        next_change = started
        made = 0
        while made < self.args.changes or pending:
            now = time.monotonic()
            if made < self.args.changes and now >= next_change:
                kind = "create" if made < self.args.changes * 0.4 or not landed else rng.choice(("update", "delete"))
                base = f"bench {mode} {made} {uuid.uuid4().hex[:6]}"
                if kind == "create":
                    start = tomorrow + timedelta(hours=made % 200)
                    answer = graph.post(f"{self.sandbox.graph_url}/me/events", json={
                        "subject": base, "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                        "end": {"dateTime": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                                "timeZone": "UTC"}}, timeout=30, verify=self.sandbox.ca_path)
                    answer.raise_for_status()
                    target = (answer.json()["id"], base)
                    expected = (base, True)
                else:
                    target = landed.pop(rng.randrange(len(landed)))
                    if kind == "update":
                        graph.patch(f"{self.sandbox.graph_url}/me/events/{target[0]}", json={"subject": base},
                                    timeout=30, verify=self.sandbox.ca_path).raise_for_status()
                        expected = (base, True)
                    else:
                        graph.delete(f"{self.sandbox.graph_url}/me/events/{target[0]}", timeout=30,
                                     verify=self.sandbox.ca_path).raise_for_status()
                        expected = (target[1], False)
                own_requests += 1
                kinds[kind] += 1
                pending.append((kind, target, expected, time.monotonic()))
                made += 1
                next_change += interval
            for item in list(pending):
                kind, target, (subject, state), t0 = item
                if self.event_state(subject) is state:
                    delays.append(time.monotonic() - t0)
                    pending.remove(item)
                    if kind == "create":
                        landed.append(target)
                    elif kind == "update":
                        landed.append((target[0], subject))
                elif time.monotonic() - t0 > self.args.timeout:
                    lost.append(item)
                    pending.remove(item)
            time.sleep(0.05)
        time.sleep(2)  # the last run's requests
        notified = self.notifications_delivered() - notified_before
        stats_after = self.control("GET", "/stats")["by_endpoint"]
        by_endpoint = {name: count - stats_before.get(name, 0) for name, count in stats_after.items()
                       if count != stats_before.get(name, 0)}
        odoo_requests = sum(by_endpoint.values()) - own_requests
        return {"by_endpoint": by_endpoint, "mode": mode, "interval": interval, "delays": delays, "lost": len(lost), "kinds": kinds, "notifications": notified,
                "odoo_requests": odoo_requests, "wall": time.monotonic() - started}

    def notifications_delivered(self):
        return sum(entry["count"] for entry in self.control("GET", "/notifications")["value"]
                   if entry["kind"] == "notification" and entry["delivered"])

    def switch_to_polling(self):
        self.call("ir.config_parameter", "set_param", "microsoft_calendar_sync.change_notifications", "False")
        self.call("ir.cron", "method_direct_trigger", [self.cron_id("ir_cron_mcs_subscriptions")])
        self.wait_for("the subscription to be deleted", lambda: not self.subscriptions(), timeout=60)
        pull = self.cron_id("ir_cron_mcs_pull")
        # from now on (the next call was set for the 15-minute interval)
        self.call("ir.cron", "write", [pull], {
            "interval_number": self.args.poll_minutes, "interval_type": "minutes",
            "nextcall": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")})

    def stop(self):
        if self.odoo_proc is not None:
            self.rot._terminate(self.odoo_proc)
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.cluster is not None:
            self.cluster.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def report(result, args):
    delays = result["delays"]
    print(f"\n== {result['mode']}: {sum(result['kinds'].values())} changes {result['kinds']}, one every "
          f"{result['interval']} s, {result['wall']:.0f} s in all")
    if delays:
        print(f"  delay Graph change -> Odoo record: p50 {statistics.median(delays):.2f} s, "
              f"p95 {percentile(delays, 0.95):.2f} s, max {max(delays):.2f} s (n={len(delays)})")
    print(f"  not seen within {args.timeout:.0f} s: {result['lost']}")
    print(f"  notifications delivered to Odoo: {result['notifications']}")
    per = f"{result['odoo_requests'] / result['notifications']:.2f}" if result["notifications"] else "n/a"
    print(f"  Graph requests made by Odoo: {result['odoo_requests']} ({per} per notification, "
          f"{result['odoo_requests'] / max(1, sum(result['kinds'].values())):.2f} per change)")
    print(f"  sandbox requests by endpoint (the benchmark's own changes included): {result['by_endpoint']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100, help="changes per mode (default %(default)s)")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between two changes (default %(default)s)")
    parser.add_argument("--polling-interval", type=float, default=3.0,
                        help="seconds between two changes in the polling mode, so that they spread over several "
                             "polls (default %(default)s)")
    parser.add_argument("--poll-minutes", type=int, default=1,
                        help="the pull cron's interval in the polling mode (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=300, help="a change not seen by then is lost (seconds)")
    parser.add_argument("--modes", default="push,polling", help="push, polling or both (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args()
    if importlib.util.find_spec("odoo") is None:
        say("Odoo is not importable by this Python: nothing measured (install Odoo 19 to run this benchmark)")
        return 0
    try:
        import requests

        import run_odoo_tests as rot
        from outlook_sandbox import SandboxServer  # noqa: F401 - checked here, used in Bench.start
    except ImportError as exc:
        say(f"missing a package ({exc}): pip install -e '{ROOT}[sandbox]'; nothing measured")
        return 0
    if not rot.odoo_command():
        say("no way to start Odoo's server with this Python; nothing measured")
        return 0
    bench = Bench(args, rot, requests)
    results = []
    try:
        bench.start()
        bench.connect_alice()
        bench.wait_for("the subscription (handshake to Odoo)", lambda: bench.subscriptions())
        bench.wait_for("the first sync", lambda: bench.sql(
            "SELECT 1 FROM microsoft_calendar_account WHERE last_sync IS NOT NULL AND state = 'connected'"))
        say(f"connected; subscription {bench.subscriptions()[0]['id']} -> {bench.subscriptions()[0]['notificationUrl']}")
        for mode in args.modes.split(","):
            if mode == "polling":
                bench.switch_to_polling()
                say(f"change notifications off, polling every {args.poll_minutes} min")
            say(f"measuring {mode}: {args.changes} changes")
            results.append(bench.measure(mode, args.polling_interval if mode == "polling" else args.interval))
    except (RuntimeError, OSError, subprocess.SubprocessError, requests.RequestException) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        bench.stop()
    print(f"\nOdoo server: workers 0, 1 cron thread; sandbox and Odoo on 127.0.0.1; {os.cpu_count()} CPUs")
    for result in results:
        report(result, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
