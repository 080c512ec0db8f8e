#!/usr/bin/env python3
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Side-by-side benchmark: Odoo's own ``microsoft_calendar`` and this addon on the same sandbox.

One process, one throwaway PostgreSQL cluster with two databases (the two
modules cannot be installed together: our manifest ``excludes`` Odoo's), one
Outlook sandbox (``outlook_sandbox``, run as a child process so that the CPU
seconds measured here are Odoo's and the modules', not the emulator's). Each
module gets its own mailboxes, seeded with the same workload, and runs the
same phases one after the other:

A. N single Outlook events and M Odoo events: first sync; C changes on each
   side (Outlook edits through Graph, Odoo edits through the ORM) then an
   incremental sync, until both sides settle (see below); then a sync with
   no change.
B. S weekly series of W occurrences in Outlook: a first inbound sync. Then
   the end state: the Odoo events and recurrences made, this addon's status
   rows by kind (series / occurrence / event), and the Outlook occurrences of
   each module's sync window (calendarView) against the Odoo events, series by
   series, on their local dates and times in the series' time zone:
   duplicates, occurrences missing on either side, series that differ.

Odoo's module is redirected to the sandbox inside this process only: its
``requests`` calls to graph.microsoft.com / login.microsoftonline.com are
rewritten to the sandbox at ``requests.Session.request`` (the ``Host`` header
keeps Microsoft's name, so the links the sandbox answers with still pass the
module's host check). Its user gets an access token minted by the sandbox's
control API, written into the fields its sign-in would fill. None of its
code is copied or changed.

Counted per phase, for both modules alike: HTTP requests that reach the
sandbox (sign-in included), Graph operations (each request inside a
``$batch`` counted, as Outlook's throttling does), the sandbox's own request
count (``GET /_sandbox/stats``), SQL queries (``odoo.sql_db.sql_counter``, every
cursor, so also the post-commit cursors Odoo's module opens to push),
wall and CPU seconds of this process. A phase ends when its transaction is
committed and the post-commit hooks ran: Odoo's module sends its inserts and
updates there, and its ORM edits are pushed at their commit, so for both
modules the incremental phase runs from the edits to the end of the sync.
Each write to Outlook comes back in the next delta round; Odoo's module,
which writes at the edits' commit, reads its writes back in the sync that
follows them, this addon (pull, then push) in the sync after: so the
incremental phase ends with one more sync for both modules, and a change
is counted with everything it costs until the next run has nothing to do
(that extra sync of Odoo's module costs what its "no change" costs).
Before its figures, each module runs one small unmeasured cycle (warm-up).

Odoo's module pushes only events created after its first sync; the workload's
Odoo events are meant to be pushed, so its first-sync date parameter is set
just before they are created. Nothing else of its configuration is changed.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_vs_odoo.py           # N=2000 M=1000 C=50, S=100 W=52
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_vs_odoo.py --quick   # N=200 M=100 C=10, S=10 W=52
    ... --only A|B, -n/-m/-c/--series/--weeks for other sizes, --json FILE for the figures
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.run_odoo_tests import DB_USER, PG_PORT, Cluster, find_pg_bindir  # noqa: E402

CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "bench-secret~value-42"
OUTLOOK_CLIENT = "outlook-web-bench"  # the client "the user in Outlook" edits with (never counted)
MICROSOFT_HOSTS = ("graph.microsoft.com", "login.microsoftonline.com")
TOKEN_LIFETIME = 6 * 3600
ODOO = "odoo"  # Odoo's own microsoft_calendar
OURS = "ours"  # microsoft_calendar_sync
MODULES = {ODOO: "microsoft_calendar", OURS: "microsoft_calendar_sync"}


def say(message):
    print(f"bench_vs_odoo: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# The sandbox (a child process) and its control API
# ---------------------------------------------------------------------------


class Sandbox:
    def __init__(self, state_dir):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "outlook_sandbox", "--port", "0", "--no-seed", "--state-dir", str(state_dir),
             "--log-level", "WARNING"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")))
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            if line.strip().startswith("Graph base URL:"):
                self.graph_url = line.split(":", 1)[1].strip().split()[0]
            if line.strip().startswith("CA certificate:"):
                self.ca_path = line.split(":", 1)[1].strip()
            if line.startswith("Stop with Ctrl-C"):
                break
        else:
            raise RuntimeError("the sandbox did not start:\n" + "".join(lines))
        self.base_url = self.graph_url.rsplit("/v1.0", 1)[0]
        self.netloc = urlsplit(self.base_url).netloc
        # the child's output must keep flowing or it blocks on a full pipe
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def control(self, method, path, payload=None):
        response = requests.request(method, f"{self.base_url}/_sandbox{path}", json=payload,
                                    verify=self.ca_path, timeout=600)
        response.raise_for_status()
        return response.json() if response.content else None

    def token(self, address, client_id, lifetime=TOKEN_LIFETIME):
        return self.control("POST", "/tokens", {"mailbox": address, "client_id": client_id, "lifetime": lifetime})

    def events(self, address):
        return self.control("GET", f"/mailboxes/{address}/events")["value"]

    def locations(self, address):
        """Subject -> location of every event of the mailbox (Graph; the control API does not show locations)."""
        token = self.token(address, OUTLOOK_CLIENT)["access_token"]
        found, url = {}, self.graph_url + "/me/events?$select=subject,location&$top=1000"
        while url:
            page = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=self.ca_path,
                                timeout=120).json()
            found.update({e["subject"]: (e.get("location") or {}).get("displayName") or "" for e in page["value"]})
            url = page.get("@odata.nextLink")
        return found

    def calendar_view(self, address, start, end):
        """What Outlook shows between ``start`` and ``end`` (calendarView: single events, occurrences and
        exceptions, never series masters), times in UTC; read by "the user in Outlook", never counted."""
        token = self.token(address, OUTLOOK_CLIENT)["access_token"]
        url = self.graph_url + "/me/calendarView?" + urlencode({
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "$select": "subject,start,end,type,seriesMasterId,isAllDay,isCancelled"})
        headers = {"Authorization": f"Bearer {token}",
                   "Prefer": 'outlook.timezone="UTC", odata.maxpagesize=1000'}
        found = []
        while url:
            response = requests.get(url, headers=headers, verify=self.ca_path, timeout=300)
            response.raise_for_status()
            page = response.json()
            found.extend(page["value"])
            url = page.get("@odata.nextLink")
        return found

    def graph(self, token, method, path, payload=None):
        response = requests.request(method, self.graph_url + path, json=payload, timeout=60, verify=self.ca_path,
                                    headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json() if response.content else None


# ---------------------------------------------------------------------------
# Counting HTTP at requests.Session.request (and redirecting Odoo's module)
# ---------------------------------------------------------------------------


class HttpMeter:
    """Wraps ``requests.Session.request`` for the whole process.

    Requests to Microsoft's hosts are sent to the sandbox instead (with
    ``Host`` kept and the sandbox's CA); every request that reaches the
    sandbox while the meter is on is counted, by kind, with the number of
    requests inside each ``$batch``.
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.active = False
        self.lock = threading.Lock()
        self.reset()
        self._original = requests.sessions.Session.request
        meter = self

        def request(session, method, url, *args, **kwargs):
            return meter._request(session, method, url, *args, **kwargs)

        requests.sessions.Session.request = request

    def uninstall(self):
        requests.sessions.Session.request = self._original

    def reset(self):
        self.requests = 0
        self.operations = 0
        self.by_kind = Counter()

    def _request(self, session, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if parts.hostname in MICROSOFT_HOSTS:
            headers = dict(kwargs.get("headers") or {})
            headers["Host"] = parts.netloc
            kwargs["headers"] = headers
            kwargs["verify"] = self.sandbox.ca_path
            url = urlunsplit(("https", self.sandbox.netloc, parts.path, parts.query, parts.fragment))
            parts = urlsplit(url)
        if self.active and parts.netloc == self.sandbox.netloc and not parts.path.startswith("/_sandbox"):
            self._count(method, parts.path, kwargs)
        return self._original(session, method, url, *args, **kwargs)

    def _count(self, method, path, kwargs):
        items = 1
        if path.endswith("/$batch"):
            body = kwargs.get("json")
            if body is None and kwargs.get("data"):
                data = kwargs["data"]
                body = json.loads(data.decode() if isinstance(data, bytes) else data)
            items = len((body or {}).get("requests", [])) or 1
        kind = f"{method.upper()} {_path_kind(path)}"
        with self.lock:
            self.requests += 1
            self.operations += items
            self.by_kind[kind] += 1


_ID_SEGMENT = re.compile(r"^[A-Za-z0-9_\-=%]{40,}$")


def _path_kind(path):
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.split("/")]
    return "/".join(segments)


# ---------------------------------------------------------------------------
# Odoo in this process
# ---------------------------------------------------------------------------


def start_odoo(cluster, log_path):
    import odoo  # noqa: F401, PLC0415
    from odoo.tools import config  # noqa: PLC0415
    config.parse_config([
        f"--addons-path={ROOT}", f"--data-dir={cluster.tmp / 'data'}",
        f"--db_host={cluster.socket_dir}", f"--db_port={PG_PORT}", f"--db_user={DB_USER}",
        "--log-level=warn", f"--logfile={log_path}", "--workers=0", "--max-cron-threads=0",
        "--http-interface=127.0.0.1",
    ], setup_logging=True)


def install(db_name, module):
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.service import db  # noqa: PLC0415
    db._create_empty_database(db_name)
    return Registry.new(db_name, update_module=True, install_modules=["base", module], new_db_demo=False)


@contextmanager
def environment(registry):
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def sql_counter():
    from odoo import sql_db  # noqa: PLC0415
    return sql_db.sql_counter


# ---------------------------------------------------------------------------
# The two modules behind one interface
# ---------------------------------------------------------------------------


class Side:
    """One module in its own database: set-up, a sync run and the ORM edits."""

    def __init__(self, key, registry, sandbox):
        self.key, self.registry, self.sandbox = key, registry, sandbox
        self.users = {}  # mailbox address -> user id

    def add_user(self, address, name):
        with environment(self.registry) as env:
            user = env["res.users"].with_context(no_reset_password=True).create({
                "name": name, "login": address, "email": address,
                "group_ids": [(6, 0, [env.ref("base.group_user").id])]})
            env["ir.config_parameter"].sudo().set_param("web.base.url", "http://localhost:8069")
            self.users[address] = user.id

    def create_odoo_events(self, address, values_list):
        with environment(self.registry) as env:
            uid = self.users[address]
            env["calendar.event"].with_user(uid).with_context(no_calendar_sync=True).create(
                [dict(values, user_id=uid) for values in values_list])

    def edit_odoo_events(self, address, names, values):
        with environment(self.registry) as env:
            uid = self.users[address]
            events = env["calendar.event"].with_user(uid).search([("name", "in", names), ("user_id", "=", uid)])
            events.write(values)

    def odoo_events(self, address):
        with environment(self.registry) as env:
            uid = self.users[address]
            events = env["calendar.event"].search([("user_id", "=", uid)])
            return [{"name": e.name, "start": e.start, "location": e.location or ""} for e in events]

    def recurrences(self, address):
        with environment(self.registry) as env:
            return env["calendar.recurrence"].search_count([("base_event_id.user_id", "=", self.users[address])])

    def series_events(self, address):
        """Every Odoo event of the user, archived ones included (start/stop: naive UTC)."""
        with environment(self.registry) as env:
            events = env["calendar.event"].with_context(active_test=False).search(
                [("user_id", "=", self.users[address])])
            return [{"name": e.name, "start": e.start, "stop": e.stop, "allday": e.allday, "active": e.active,
                     "recurrence": e.recurrence_id.id or None} for e in events]


class OdooSide(Side):
    """Odoo's ``microsoft_calendar``: tokens written where its sign-in puts them, synced as its cron does."""

    def connect(self, address):
        token = self.sandbox.token(address, CLIENT_ID)
        with environment(self.registry) as env:
            icp = env["ir.config_parameter"].sudo()
            icp.set_param("microsoft_calendar_client_id", CLIENT_ID)
            icp.set_param("microsoft_calendar_client_secret", CLIENT_SECRET)
            env["res.users"].browse(self.users[address]).sudo().write({
                # the refresh token is never used: the access token outlives the benchmark
                "microsoft_calendar_rtoken": "bench-unused-refresh-token",
                "microsoft_calendar_token": token["access_token"],
                "microsoft_calendar_token_validity": datetime.now() + timedelta(seconds=TOKEN_LIFETIME - 120),
            })

    def allow_push_of_existing_events(self, since):
        """Odoo's module pushes only events created after its first sync (to avoid spamming invitations):
        the workload's Odoo events are to be pushed, so its first-sync date is set before they were made."""
        with environment(self.registry) as env:
            env["ir.config_parameter"].sudo().set_param(
                "microsoft_calendar.sync.first_synchronization_date", since - timedelta(minutes=1))

    def sync(self, address):
        with environment(self.registry) as env:
            uid = self.users[address]
            env["res.users"].browse(uid).with_user(uid).sudo()._sync_microsoft_calendar()

    def window(self, address):
        """The window its delta rounds ask Outlook for (``_get_events_from_paginated_url``: range_days back,
        twice that ahead, from midnight UTC)."""
        with environment(self.registry) as env:
            days = int(env["ir.config_parameter"].sudo().get_param("microsoft_calendar.sync.range_days", 365))
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=days), today + timedelta(days=2 * days)

    def status_rows(self, address):
        return {}

    def errors(self, address):
        return ""


class OurSide(Side):
    """This addon: connected through the real sign-in (auto-consent), synced with ``_mcs_sync``."""

    app_registered = False

    def connect(self, address):
        with environment(self.registry) as env:
            icp = env["ir.config_parameter"].sudo()
            for key, value in {"enabled": "True", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                               "tenant": "common", "use_sandbox": "True", "login_url": self.sandbox.base_url,
                               "graph_url": self.sandbox.graph_url, "ca_file": self.sandbox.ca_path}.items():
                icp.set_param(f"microsoft_calendar_sync.{key}", value)
            settings = env["microsoft.calendar.config"]._mcs_settings()
            if not self.app_registered:
                self.sandbox.control("POST", "/seed", {"apps": [{
                    "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "redirect_uris": [settings.redirect_uri], "display_name": "Odoo (bench)"}],
                    "settings": {"auto_consent": True}})
                self.app_registered = True
            signin = settings.sign_in()
            flow = signin.start_sign_in(settings.redirect_uri, login_hint=address)
            answer = requests.get(flow["auth_uri"], verify=self.sandbox.ca_path, allow_redirects=False, timeout=30)
            location = answer.headers.get("Location", "")
            if answer.status_code != 302 or not location.startswith(settings.redirect_uri):
                raise RuntimeError(f"sign-in of {address} did not come back: {answer.status_code} {answer.text[:500]}")
            query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            signed_in = signin.finish_sign_in(flow, query)
            user = env["res.users"].browse(self.users[address])
            account = env["microsoft.calendar.account"]._mcs_connect(user, signin, signed_in)
            if account.state != "connected":
                raise RuntimeError(f"our account of {address} is {account.state}")

    def allow_push_of_existing_events(self, since):
        pass

    def _account(self, env, address):
        return env["microsoft.calendar.account"].sudo().search([("user_id", "=", self.users[address])])

    def sync(self, address):
        with environment(self.registry) as env:
            self._account(env, address)._mcs_sync()

    def window(self, address):
        """The addon's own sync window of the account (the settings' days back and forward)."""
        with environment(self.registry) as env:
            account = self._account(env, address)
            window = account._mcs_window(account._mcs_settings_values())
            return window.start, window.end

    def status_rows(self, address):
        """kind -> "state: count, ..." of the account's microsoft.calendar.binding rows."""
        with environment(self.registry) as env:
            groups = env["microsoft.calendar.binding"].sudo()._read_group(
                [("account_id", "=", self._account(env, address).id)], ["kind", "state", "skip_reason"],
                ["__count"])
            rows = {}
            for kind, state, reason, count in groups:
                rows.setdefault(kind, []).append(f"{state}{f' ({reason})' if reason else ''} {count}")
            return {kind: ", ".join(parts) for kind, parts in rows.items()}

    def errors(self, address):
        with environment(self.registry) as env:
            account = self._account(env, address)
            return account.state + (f" ({account.last_error})" if account.last_error else "")


# ---------------------------------------------------------------------------
# Measuring a phase
# ---------------------------------------------------------------------------


def measure(meter, sandbox, run):
    sandbox.control("DELETE", "/stats")
    meter.reset()
    sql = sql_counter()
    cpu, wall = time.process_time(), time.perf_counter()
    meter.active = True
    try:
        run()
    finally:
        meter.active = False
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = sandbox.control("GET", "/stats")
    return {"http": meter.requests, "ops": meter.operations, "sandbox": stats["total"],
            "sql": sql_counter() - sql, "wall": wall, "cpu": cpu, "kinds": dict(meter.by_kind)}


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


def graph_time(value):
    return {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def warm_up(side, meter, sandbox, base):
    """A small unmeasured cycle, so that neither module's first figures pay for the process's and the
    registry's warm-up (imports, TLS set-up, ORM caches): without it the module that runs first looks slower."""
    address = f"warm-up.{side.key}@contoso.com"
    side.add_user(address, f"Warm-up ({side.key})")
    workload_a(side, meter, sandbox, address, 5, 5, 2, base + timedelta(days=200))


def workload_a(side, meter, sandbox, address, n, m, c, base):
    """N Outlook events + M Odoo events: first sync, C changes per side + incremental, no change."""
    sandbox.control("POST", "/seed", {"mailboxes": [{"address": address, "events": [
        {"subject": f"Outlook {i}", "start": graph_time(base + timedelta(hours=3 * i + 1)),
         "end": graph_time(base + timedelta(hours=3 * i + 2))} for i in range(n)]}]})
    created = datetime.now()
    side.allow_push_of_existing_events(created)
    side.create_odoo_events(address, [{
        "name": f"Odoo {i}", "start": base + timedelta(hours=3 * i), "stop": base + timedelta(hours=3 * i + 1),
        "location": f"Room {i % 7}"} for i in range(m)])
    side.connect(address)
    phases = {"first": measure(meter, sandbox, lambda: side.sync(address))}

    outlook_token = sandbox.token(address, OUTLOOK_CLIENT)["access_token"]
    by_subject = {event["subject"]: event["id"] for event in sandbox.events(address)}
    for i in range(c):
        if f"Outlook {i}" in by_subject:
            sandbox.graph(outlook_token, "PATCH", f"/me/events/{by_subject[f'Outlook {i}']}",
                          {"subject": f"Changed in Outlook {i}"})

    def incremental():
        side.edit_odoo_events(address, [f"Odoo {i}" for i in range(c)], {"location": "Changed in Odoo"})
        side.sync(address)
        side.sync(address)  # reads back the writes that sync made (Outlook lists them in the next round)

    phases["incremental"] = measure(meter, sandbox, incremental)
    phases["no change"] = measure(meter, sandbox, lambda: side.sync(address))
    phases["end"] = end_state_a(side, sandbox, address, n, m, c)
    return phases


def end_state_a(side, sandbox, address, n, m, c):
    expected = {f"Changed in Outlook {i}" if i < c else f"Outlook {i}" for i in range(n)} | {
        f"Odoo {i}" for i in range(m)}
    outlook = sandbox.events(address)
    odoo = side.odoo_events(address)
    outlook_keys = Counter((e["subject"], e["start"][:19]) for e in outlook)
    odoo_keys = Counter((e["name"], e["start"].strftime("%Y-%m-%dT%H:%M:%S")) for e in odoo)
    outlook_names = {e["subject"] for e in outlook}
    odoo_names = {e["name"] for e in odoo}
    locations = sandbox.locations(address)
    return {
        "outlook events": len(outlook), "odoo events": len(odoo),
        "outlook duplicates": sum(k - 1 for k in outlook_keys.values() if k > 1),
        "odoo duplicates": sum(k - 1 for k in odoo_keys.values() if k > 1),
        "lost in outlook": len(expected - outlook_names), "lost in odoo": len(expected - odoo_names),
        "outlook edits in odoo": len({f"Changed in Outlook {i}" for i in range(c)} & odoo_names),
        "odoo edits in outlook": sum(1 for i in range(c) if locations.get(f"Odoo {i}") == "Changed in Odoo"),
        "expected": len(expected),
        "mails Outlook sent": len(sandbox.control("GET", f"/mail?mailbox={address}")["value"]),
    }


def workload_b(side, meter, sandbox, address, series, weeks, base):
    """S weekly series of W occurrences in Outlook: a first inbound sync, then the end state."""
    days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    events, planned = [], {}
    for k in range(series):
        start = base.replace(hour=6) + timedelta(days=k % 7, hours=k // 7)
        events.append({
            "subject": f"Series {k}", "start": graph_time(start), "end": graph_time(start + timedelta(minutes=30)),
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [days[start.weekday()]]},
                "range": {"type": "numbered", "numberOfOccurrences": weeks,
                          "startDate": start.strftime("%Y-%m-%d")}}})
        # the occurrences as seeded (UTC), to tell an occurrence lost in Outlook from one never made
        planned[f"Series {k}"] = [start.replace(tzinfo=timezone.utc) + timedelta(weeks=i) for i in range(weeks)]
    sandbox.control("POST", "/seed", {"mailboxes": [{"address": address, "events": events}]})
    side.connect(address)
    phases = {"first": measure(meter, sandbox, lambda: side.sync(address))}
    phases["end"], phases["series detail"] = end_state_b(side, sandbox, address, planned, timedelta(minutes=30))
    return phases


def _utc_instant(value):
    """A Graph dateTimeTimeZone read with ``Prefer: outlook.timezone="UTC"`` -> aware UTC datetime."""
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=timezone.utc)


def _local(start, end, zone, all_day):
    """The local dates/times of an occurrence in its series' zone (its dates only when all day)."""
    if all_day:
        return (start.date().isoformat(), end.date().isoformat())
    return (start.astimezone(zone).strftime("%Y-%m-%d %H:%M"), end.astimezone(zone).strftime("%Y-%m-%d %H:%M"))


def end_state_b(side, sandbox, address, planned, duration):
    """Outlook's occurrences in the module's sync window against its Odoo events, series by series,
    on their local dates and times in the series' time zone (the zone of the Outlook series)."""
    from outlook_sync.timezones import get_zone, resolve_time_zone  # noqa: PLC0415

    window_start, window_end = side.window(address)

    def inside(moment):
        return window_start <= moment < window_end

    stored = sandbox.events(address)
    masters = [e for e in stored if e["type"] == "seriesMaster"]
    zones = {}
    for master in masters:
        name = ((master.get("recurrence") or {}).get("range") or {}).get("recurrenceTimeZone") \
            or master.get("start_time_zone") or "UTC"
        zones[master["subject"]] = get_zone(resolve_time_zone(name)[0])
    utc = get_zone("UTC")

    # Outlook: the occurrences (and changed occurrences) calendarView shows in the window
    view = [e for e in sandbox.calendar_view(address, window_start, window_end)
            if e.get("type") in ("occurrence", "exception") and not e.get("isCancelled")]
    outlook = {}  # subject -> Counter of local (start, end)
    for item in view:
        start, end = _utc_instant(item["start"]), _utc_instant(item["end"])
        if inside(start):
            zone = zones.get(item["subject"], utc)
            outlook.setdefault(item["subject"], Counter())[_local(start, end, zone, item.get("isAllDay"))] += 1
    # what was seeded, in the window
    expected = {name: Counter(_local(s, s + duration, zones.get(name, utc), False) for s in starts if inside(s))
                for name, starts in planned.items()}
    # Odoo: the user's events (naive UTC), by name
    all_events = side.series_events(address)
    live = [e for e in all_events if e["active"]]
    odoo, recurrences, outside = {}, {}, 0
    for event in live:
        start = event["start"].replace(tzinfo=timezone.utc)
        recurrences.setdefault(event["name"], set()).add(event["recurrence"])
        if not inside(start):
            outside += 1
            continue
        zone = zones.get(event["name"], utc)
        key = _local(start, event["stop"].replace(tzinfo=timezone.utc), zone, event["allday"])
        odoo.setdefault(event["name"], Counter())[key] += 1

    names = sorted(set(expected) | set(outlook) | set(odoo), key=lambda n: (len(n), n))
    same, detail = 0, []
    lost_outlook = lost_odoo = not_in_outlook = 0
    for name in names:
        want, have_outlook, have_odoo = expected.get(name, Counter()), outlook.get(name, Counter()), \
            odoo.get(name, Counter())
        lost_outlook += sum((want - have_outlook).values())
        lost_odoo += sum((have_outlook - have_odoo).values())
        not_in_outlook += sum((+have_odoo - have_outlook).values())
        if set(have_odoo) == set(have_outlook) and have_outlook:
            same += 1
        else:
            only_outlook = sorted(set(have_outlook) - set(have_odoo))
            only_odoo = sorted(set(have_odoo) - set(have_outlook))
            detail.append(f"{name}: {sum(have_outlook.values())} in Outlook, {sum(have_odoo.values())} in Odoo; "
                          f"only in Outlook {len(only_outlook)} {only_outlook[:2]}, only in Odoo {len(only_odoo)} "
                          f"{only_odoo[:2]}")
    outlook_keys = Counter((e["subject"], e["start"]["dateTime"]) for e in view)
    odoo_keys = Counter((e["name"], e["start"]) for e in live)
    rows = side.status_rows(address)
    end = {
        "outlook series (masters)": len(masters),
        "outlook single events": sum(1 for e in stored if e["type"] == "singleInstance"),
        "sync window": f"{window_start:%Y-%m-%d} .. {window_end:%Y-%m-%d}",
        "outlook occurrences in window": sum(sum(c.values()) for c in outlook.values()),
        "odoo events created": len(live),
        "odoo events archived": len(all_events) - len(live),
        "odoo events outside window": outside,
        "odoo events not in a recurrence": sum(1 for e in live if not e["recurrence"]),
        "odoo recurrences created": side.recurrences(address),
        "series in several recurrences": sum(1 for ids in recurrences.values() if len(ids - {None}) > 1),
        "status rows: series": rows.get("series", "-") if rows else "-",
        "status rows: occurrence": rows.get("occurrence", "-") if rows else "-",
        "status rows: event": rows.get("event", "-") if rows else "-",
        "outlook duplicates": sum(k - 1 for k in outlook_keys.values() if k > 1) + sum(
            k - 1 for k in Counter(m["subject"] for m in masters).values() if k > 1),
        "odoo duplicates": sum(k - 1 for k in odoo_keys.values() if k > 1),
        "lost in outlook": lost_outlook,
        "lost in odoo": lost_odoo,
        "odoo events not in outlook": not_in_outlook,
        "series on Outlook's local dates/times": f"{same} of {len(planned)}",
        "mails Outlook sent": len(sandbox.control("GET", f"/mail?mailbox={address}")["value"]),
    }
    return end, detail


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def versions():
    from odoo import release  # noqa: PLC0415
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                                text=True, timeout=30, check=False).stdout.strip()
    except OSError:
        commit = ""
    return f"Odoo {release.version}; this repository at {commit or 'unknown commit'}"


def machine():
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


METRICS = [("http", "HTTP requests", "{:d}"), ("ops", "Graph operations", "{:d}"),
           ("sql", "SQL queries", "{:d}"), ("wall", "wall s", "{:.2f}"), ("cpu", "CPU s", "{:.2f}")]

# (phase, metric) -> (text, test(ours, odoo))
TARGETS = {
    ("first", "http"): ("<= 1/10", lambda o, r: o * 10 <= r),
    ("first", "ops"): ("<=", lambda o, r: o <= r),
    ("first", "wall"): ("<= 1/5", lambda o, r: o * 5 <= r),
    ("incremental", "http"): ("<= 1/2", lambda o, r: o * 2 <= r),
    ("incremental", "ops"): ("<= 1/2", lambda o, r: o * 2 <= r),
    ("incremental", "sql"): ("<= 1/2", lambda o, r: o * 2 <= r),
    ("incremental", "wall"): ("<", lambda o, r: o < r),
    ("no change", "http"): ("= 1", lambda o, r: o == 1),
    ("no change", "sql"): ("<=", lambda o, r: o <= r),
}
TARGETS_B = {("first", "http"): ("<= 1/10", lambda o, r: o * 10 <= r)}


def ratio(ours, odoo):
    if not odoo:
        return "-" if not ours else "inf"
    return f"{ours / odoo:.2f}"


def print_table(title, results, phases, targets, note=""):
    print(f"\n## {title}\n")
    if note:
        print(note + "\n")
    header = ["phase", "metric", "Odoo's module", "ours", "ours/Odoo", "target", "met"]
    rows = []
    for phase in phases:
        for key, label, fmt in METRICS:
            odoo, ours = results[ODOO][phase][key], results[OURS][phase][key]
            target = targets.get((phase, key))
            rows.append([phase, label, fmt.format(odoo), fmt.format(ours), ratio(ours, odoo),
                         target[0] if target else "", ("yes" if target[1](ours, odoo) else "NO") if target else ""])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths)) + " |")
    checked = [row[-1] for row in rows if row[-1]]
    print(f"\ntargets met: {checked.count('yes')} of {len(checked)}")
    behind = [f"{phase} {label}" for phase in phases for key, label, _fmt in METRICS
              if results[OURS][phase][key] > results[ODOO][phase][key]]
    print(f"rows where this addon costs more than Odoo's module: {', '.join(behind) or 'none'}")
    return {f"{row[0]} {row[1]}": row[-1] for row in rows if row[-1]}


def print_end_state(title, results):
    print(f"\n{title}:")
    keys = list(results[ODOO]["end"])
    width = max(len(k) for k in keys)
    column = max([16] + [len(str(results[ODOO]["end"][key])) for key in keys])
    print(f"  {'':{width}}  {'Odoo' + chr(39) + 's module':>{column}}  ours")
    for key in keys:
        print(f"  {key:{width}}  {str(results[ODOO]['end'][key]):>{column}}  {results[OURS]['end'][key]}")


def print_requests(title, results, phases):
    print(f"\n{title} (requests by kind; the sandbox's own count, each $batch and each of its items, against "
          f"Graph operations + $batch requests):")
    for side in (ODOO, OURS):
        for phase in phases:
            figures = results[side][phase]
            kinds = ", ".join(f"{k} x{v}" for k, v in sorted(figures["kinds"].items()))
            expected = figures["ops"] + sum(v for k, v in figures["kinds"].items() if k.endswith("/$batch"))
            check = "agrees" if figures["sandbox"] == expected else f"DISAGREES (expected {expected})"
            print(f"  {side:4} {phase:11}: {kinds or '-'}; sandbox {figures['sandbox']}, {check}")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, help="Outlook single events (default 2000; --quick 200)")
    parser.add_argument("-m", type=int, help="Odoo events to push (default 1000; --quick 100)")
    parser.add_argument("-c", type=int, help="changes per side before the incremental sync (default 50; --quick 10)")
    parser.add_argument("--series", type=int, help="weekly series in workload B (default 100; --quick 10)")
    parser.add_argument("--weeks", type=int, default=52, help="occurrences per series (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a run of about a minute)")
    parser.add_argument("--only", choices=["A", "B"], help="run one workload only")
    parser.add_argument("--json", type=Path, help="also write the figures and verdicts to this file")
    args = parser.parse_args(argv)
    defaults = dict(n=200, m=100, c=10, series=10) if args.quick else dict(n=2000, m=1000, c=50, series=100)
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bindir, _version = find_pg_bindir()
    if not bindir:
        say("PostgreSQL server binaries not found (see tools/run_odoo_tests.py)")
        return 3
    tmp = Path(tempfile.mkdtemp(prefix="bench-vs-odoo-"))
    cluster = sandbox = meter = None
    log_path = tmp / "odoo.log"
    started = time.monotonic()
    try:
        cluster = Cluster(bindir)
        cluster.start()
        sandbox = Sandbox(tmp / "sandbox")
        meter = HttpMeter(sandbox)
        sandbox.control("POST", "/seed", {"tenants": [{"domain": "contoso.com", "display_name": "Contoso"}]})
        start_odoo(cluster, log_path)
        base = datetime.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        results = {ODOO: {}, OURS: {}}
        for key, side_class in ((ODOO, OdooSide), (OURS, OurSide)):
            say(f"installing {MODULES[key]} ({time.monotonic() - started:.0f}s)")
            side = side_class(key, install(f"bench_{key}", MODULES[key]), sandbox)
            warm_up(side, meter, sandbox, base)
            if args.only != "B":
                address = f"alice.{key}@contoso.com"
                side.add_user(address, f"Alice ({key})")
                say(f"{MODULES[key]}: workload A ({time.monotonic() - started:.0f}s)")
                results[key]["A"] = workload_a(side, meter, sandbox, address, args.n, args.m, args.c, base)
                results[key]["A"]["status"] = side.errors(address)
            if args.only != "A":
                address = f"bob.{key}@contoso.com"
                side.add_user(address, f"Bob ({key})")
                say(f"{MODULES[key]}: workload B ({time.monotonic() - started:.0f}s)")
                results[key]["B"] = workload_b(side, meter, sandbox, address, args.series, args.weeks, base)
                results[key]["B"]["status"] = side.errors(address)
        report(args, results, log_path)
        return 0
    except Exception:
        if log_path.exists():
            say("failed; the end of Odoo's log:\n" + "\n".join(
                log_path.read_text(errors="replace").splitlines()[-40:]))
        raise
    finally:
        if meter:
            meter.uninstall()
        if sandbox:
            sandbox.stop()
        if cluster:
            from odoo import sql_db  # noqa: PLC0415
            sql_db.close_all()
            cluster.stop()
            cluster.remove()
        shutil.rmtree(tmp, ignore_errors=True)


def report(args, results, log_path):
    print("# Odoo's microsoft_calendar vs microsoft_calendar_sync on the Outlook sandbox")
    print(f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {machine()}")
    print(f"{versions()}")
    print("Counted in this process: HTTP requests reaching the sandbox (sign-in included), Graph operations "
          "(each $batch item counted), SQL queries of every cursor, wall and CPU seconds (the sandbox runs in a "
          "child process; PostgreSQL's CPU is not counted). The sandbox's own count (GET /_sandbox/stats: a "
          "$batch and each of its items) is checked against these after the tables. Ratios are ours / Odoo's "
          "module. The machine may be shared: compare the wall times of one run, not of two.")
    verdicts = {}
    if "A" in results[ODOO]:
        results_a = {k: v["A"] for k, v in results.items()}
        verdicts["A"] = print_table(f"A. {args.n} Outlook events + {args.m} Odoo events, then {args.c} changes per side",
                    results_a, ["first", "incremental", "no change"], TARGETS,
                    note="incremental = the Odoo edits (committed; Odoo's module pushes them at commit) + the sync "
                         "+ one more sync: the one that reads back the writes of the sync before (Outlook lists "
                         "each write in the next delta round: Odoo's module, which writes at the edits' commit, "
                         "reads them in its sync; this addon, which pulls then pushes, in the next).")
        floor, half = args.c + 1, results_a[ODOO]["incremental"]["ops"] / 2
        print(f"\nincremental Graph operations: {results_a[OURS]['incremental']['ops']} for this addon, "
              f"{results_a[ODOO]['incremental']['ops']} for Odoo's module; no client can go below {floor}: each of "
              f"the {args.c} Odoo edits is one write (PATCH) of its own, and Outlook's changes take one delta "
              f"request at least (half of Odoo's module's, {half:g}, is {'below' if half < floor else 'not below'} "
              f"that floor).")
        print_end_state("End state of A", results_a)
        print_requests("A", results_a, ["first", "incremental", "no change"])
        print(f"  our account after the runs: {results[OURS]['A']['status']}")
    if "B" in results[ODOO]:
        verdicts["B"] = print_table(f"B. First inbound sync of {args.series} weekly series of {args.weeks} occurrences",
                    {k: v["B"] for k, v in results.items()}, ["first"], TARGETS_B,
                    note="Status rows: this addon's microsoft.calendar.binding rows of the account, by kind and "
                         "state. Each module's events are compared in its own sync window with what Outlook shows "
                         "there (calendarView), on local dates/times in the series' zone; \"lost in outlook\": "
                         "seeded occurrences Outlook no longer shows.")
        print_end_state("End state of B", {k: v["B"] for k, v in results.items()})
        for side in (ODOO, OURS):
            detail = results[side]["B"]["series detail"]
            if detail:
                print(f"  {side}: {len(detail)} series differ from Outlook; first ones:")
                for line in detail[:5]:
                    print(f"    {line}")
        print_requests("B", {k: v["B"] for k, v in results.items()}, ["first"])
        print(f"  our account after the run: {results[OURS]['B']['status']}")
        ours, odoo = results[OURS]["B"]["first"]["http"], results[ODOO]["B"]["first"]["http"]
        end = results[OURS]["B"]["end"]
        wrong = {key: end[key] for key in ("outlook duplicates", "odoo duplicates", "lost in outlook", "lost in odoo",
                                           "odoo events not in outlook") if end[key]}
        matching = end["series on Outlook's local dates/times"]
        met = "met" if TARGETS_B[("first", "http")][1](ours, odoo) else "NOT met"
        if matching == f"{args.series} of {args.series}" and not wrong:
            state = "every series on Outlook's local dates/times, no duplicate, nothing lost"
        else:
            state = f"NOT right: {matching} series on Outlook's local dates/times" + "".join(
                f", {key} {value}" for key, value in wrong.items())
        print(f"\nB target, first inbound sync of the {args.series} series <= 1/10 of Odoo's module's requests: "
              f"{ours} vs {odoo}, {met}; this addon's end state: {state}")
    if args.json:
        args.json.write_text(json.dumps({"date": datetime.now(timezone.utc).isoformat(), "machine": machine(),
                                         "versions": versions(), "sizes": vars(args) | {"json": str(args.json)},
                                         "results": results, "targets": verdicts}, indent=2, default=str))
    problems = [line for line in log_path.read_text(errors="replace").splitlines()
                if re.search(r" (WARNING|ERROR|CRITICAL) ", line)] if log_path.exists() else []
    if problems:
        print(f"\nOdoo log: {len(problems)} WARNING/ERROR record(s); first ones:")
        for line in problems[:10]:
            print("  " + line[:300])


if __name__ == "__main__":
    sys.exit(main())
