#!/usr/bin/env python3
"""Run the whole product locally, without Docker: PostgreSQL + Odoo 19 with
microsoft_calendar_sync and its demo data + the Outlook sandbox.

    python3 tools/run_demo.py            then open http://localhost:8069

Needs Odoo 19 importable by this Python (or ``odoo-bin``/``odoo`` on PATH)
and this repository's packages installed (``pip install -e '.[sandbox]'``). What it does:

1. a PostgreSQL server: a throwaway cluster in a temporary directory (the
   same code as the Odoo test tier, tools/run_odoo_tests.py: unix socket
   only, never the machine's own server), or the server named by
   ``--db-host``/``--db-user``;
2. the Outlook sandbox, in this process, seeded with ``demo``
   (outlook_sandbox/seeds/demo.json), HTTPS on https://localhost:8443 with
   its own CA; its demo app registration accepts this Odoo's Redirect URI;
3. a database with the addon and demo data installed (first start only),
   then the addon's settings pointed at the sandbox through
   docker/odoo/apply_settings.py (the Docker image uses the same file);
4. Odoo on http://localhost:8069 (127.0.0.1 only), log in a file;
5. prints what to open and how to sign in, and waits.

Ctrl-C (SIGINT) or SIGTERM stops Odoo, the sandbox and PostgreSQL and
removes the temporary directory (and, on an existing server, drops the demo
database), unless ``--keep-data``.

Standard library, this repository's ``outlook_sandbox`` and (for
``--db-host``) Odoo's own ``psycopg2``.
"""

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_odoo_tests as rot  # noqa: E402 - the throwaway cluster and Odoo helpers

REPO_ROOT = rot.REPO_ROOT
MODULE = "microsoft_calendar_sync"
APPLY_SETTINGS = REPO_ROOT / "docker" / "odoo" / "apply_settings.py"
DEFAULT_DB = "outlook_calendar_demo"
DEFAULT_KEEP_DIR = (Path("/var/tmp") if os.geteuid() == 0 else Path.home() / ".local" / "share") \
    / "outlook-calendar-sync-demo"
CALLBACK_PATH = "/microsoft_account/authentication"
# Odoo's demo users and ours (microsoft_calendar_sync/demo/demo.xml); each
# e-mail is a mailbox of the sandbox's demo seed. DEMO-ONLY passwords.
DEMO_USERS = [
    ("admin", "admin", "admin@yourcompany.example.com", "Mitchell Admin, administrator"),
    ("demo", "demo", "mark.brown23@example.com", "Marc Demo"),
    ("alice", "alice", "alice@contoso.com", "Alice Martin"),
    ("bob", "bob", "bob@contoso.com", "Bob Stone"),
]
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def say(message):
    print(f"run_demo: {message}", flush=True)


class Stop(Exception):
    """SIGINT/SIGTERM/SIGHUP: leave through the clean-up path."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run Odoo 19 + microsoft_calendar_sync (demo data) + the Outlook sandbox; Ctrl-C stops all.")
    parser.add_argument("--port", type=int, default=8069, help="Odoo's HTTP port (default: %(default)s)")
    parser.add_argument("--sandbox-port", type=int, default=8443,
                        help="the Outlook sandbox's HTTPS port (default: %(default)s)")
    parser.add_argument("--keep-data", nargs="?", const=str(DEFAULT_KEEP_DIR), metavar="DIR",
                        help="keep the database (and the throwaway cluster) between runs, in DIR "
                             f"(default DIR: {DEFAULT_KEEP_DIR}); without it everything is removed on exit")
    parser.add_argument("--db-host", help="use this PostgreSQL server (host name or socket directory) "
                                          "instead of a throwaway cluster")
    parser.add_argument("--db-port", type=int, default=None, help="with --db-host (default: 5432)")
    parser.add_argument("--db-user", help="with --db-host: the role Odoo connects as (not 'postgres')")
    parser.add_argument("--db-password", default=os.environ.get("PGPASSWORD"),
                        help="with --db-host (default: $PGPASSWORD)")
    parser.add_argument("--db-name", default=DEFAULT_DB, help="database name (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="give up if installing or starting takes longer (seconds, default: %(default)s)")
    args = parser.parse_args(argv)
    if (args.db_user or args.db_port) and not args.db_host:
        parser.error("--db-user/--db-port need --db-host")
    return args


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ExternalServer:
    """An existing PostgreSQL server (``--db-host``): the demo database is
    created by Odoo and dropped on exit unless kept."""

    def __init__(self, args):
        self.host, self.port, self.user = args.db_host, args.db_port or 5432, args.db_user or os.environ.get("USER")
        self.password = args.db_password

    def _connect(self):
        import psycopg2  # Odoo's own dependency: present wherever Odoo runs
        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                dbname="postgres", connect_timeout=10)

    def database_exists(self, name):
        with contextlib.closing(self._connect()) as conn, conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cr.fetchone() is not None

    def drop(self, name):
        conn = self._connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cr:
                cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                cr.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            conn.close()

    def odoo_options(self):
        options = {"db_host": self.host, "db_port": self.port, "db_user": self.user}
        if self.password:
            options["db_password"] = self.password
        return options


def module_installed(odoo, conf, db_name, env):
    """Whether the demo database already has the addon (a --keep-data rerun)."""
    script = (f"print('MCS-STATE', env['ir.module.module'].search([('name', '=', {MODULE!r})]).state)\n")
    result = subprocess.run(odoo + ["shell", "-c", str(conf), "-d", db_name, "--no-http", "--log-level=warn"],
                            input=script, env=env, capture_output=True, text=True, timeout=300, check=False)
    return "MCS-STATE installed" in result.stdout


def run_step(title, command, env, log, timeout, stdin_text=None):
    say(title)
    with open(log, "a") as out:
        out.write(f"\n===== {title}: {' '.join(command)}\n")
        out.flush()
        proc = subprocess.Popen(command, env=env, stdin=subprocess.PIPE if stdin_text is not None else None,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            output, _ = proc.communicate(stdin_text, timeout=timeout)
        except BaseException:
            rot._terminate(proc)
            raise
        out.write(output)
    if proc.returncode:
        tail = "\n".join(output.splitlines()[-40:])
        raise RuntimeError(f"{title} failed (exit {proc.returncode}); the end of its log:\n{tail}")
    return output


def wait_for_http(url, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def banner(args, odoo_url, sandbox, log, data_dir):
    width = max(len(u[0]) for u in DEMO_USERS) + 2
    lines = [
        "",
        "=" * 78,
        "Outlook Calendar Sync demo is running.",
        "",
        f"  Open  {odoo_url}",
        "        (exactly this address: Microsoft sign-in comes back to it, and the",
        "        session cookie of 127.0.0.1 is not the one of localhost)",
        "",
        "  Log in as (DEMO-ONLY passwords)   whose Outlook mailbox is",
    ]
    for login, password, mailbox, name in DEMO_USERS:
        lines.append(f"    {login:<{width}}/ {password:<{width}}        {mailbox}   ({name})")
    lines += [
        "",
        "  Then: Calendar app > the Outlook button > the Outlook sandbox's sign-in",
        "  page (it offers the user's mailbox) > Accept. Back in Odoo the button",
        "  shows the connection.",
        f"  The browser warns once about {sandbox.base_url}: its certificate comes from",
        f"  the sandbox's private CA ({sandbox.ca_path}). Accept it, or trust that CA.",
        "",
        f"  Outlook sandbox   {sandbox.base_url}   (control API: {sandbox.base_url}/_sandbox/,",
        f"                    a mailbox's events: {sandbox.base_url}/_sandbox/mailboxes/alice@contoso.com/events,",
        f"                    mails Outlook would have sent: {sandbox.base_url}/_sandbox/mail)",
        "  Settings          Settings > General Settings > Integrations > Outlook Calendar (filled in)",
        f"  Odoo log          {log}",
    ]
    if data_dir:
        lines.append(f"  Data kept in      {data_dir} (the sandbox starts fresh each run: reconnect)")
    lines += ["", "Stop with Ctrl-C: " + ("Odoo, the sandbox and PostgreSQL stop; the data stays." if data_dir
                                       else "Odoo, the sandbox and PostgreSQL stop and everything is removed."),
              "=" * 78, ""]
    print("\n".join(lines), flush=True)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    odoo = rot.odoo_command()
    if not odoo:
        say("Odoo is not importable by this Python and no odoo-bin/odoo is on PATH. Install Odoo 19 "
            "or use Docker: docker compose -f docker/compose.yaml up")
        return EXIT_USAGE
    missing = rot.missing_python_dependencies(rot.read_manifest(REPO_ROOT / MODULE))
    if missing:
        say(f"{MODULE} needs Python distributions that are not installed: {', '.join(missing)}; "
            f"install them first: {Path(sys.executable).name} -m pip install -e '{REPO_ROOT}[sandbox]'")
        return EXIT_USAGE
    try:
        from outlook_sandbox import SandboxServer
        from outlook_sandbox.seed import load_seed_data, load_seed_file
    except ImportError as exc:
        say(f"cannot import the Outlook sandbox ({exc}): pip install -e '{REPO_ROOT}[sandbox]'")
        return EXIT_USAGE
    for port, option in ((args.port, "--port"), (args.sandbox_port, "--sandbox-port")):
        if not port_free(port):
            say(f"port {port} is in use on 127.0.0.1 (another Odoo or sandbox?): stop it or choose {option}")
            return EXIT_USAGE

    bindir = None
    if not args.db_host:
        bindir, version = rot.find_pg_bindir()
        if not bindir:
            say("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found (Debian/Ubuntu: apt-get "
                "install postgresql, or set PG_BINDIR), or use a server you have: --db-host/--db-user")
            return EXIT_USAGE

    def interrupt(signum, _frame):
        raise Stop(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    keep_dir = Path(args.keep_data).expanduser().resolve() if args.keep_data else None
    work = None  # temporary directory (throwaway runs)
    cluster = server = sandbox = odoo_proc = None
    created_db = False
    status = EXIT_OK
    try:
        if keep_dir:
            keep_dir.mkdir(parents=True, exist_ok=True)
            base = keep_dir
        else:
            parent = "/tmp" if os.geteuid() == 0 else None  # PostgreSQL's user must reach it
            work = Path(tempfile.mkdtemp(prefix="outlook-demo-", dir=parent))
            os.chmod(work, 0o755)
            base = work
        odoo_data = base / "odoo-data"
        log = base / "odoo.log"

        if args.db_host:
            server = ExternalServer(args)
            db_options = server.odoo_options()
            if server.database_exists(args.db_name) and not keep_dir:
                say(f"database {args.db_name!r} already exists on {args.db_host}: choose another --db-name, "
                    "or pass --keep-data to reuse it (it is then not dropped on exit)")
                return EXIT_USAGE
            say(f"PostgreSQL: {server.user}@{server.host}:{server.port}, database {args.db_name}")
        else:
            cluster = rot.Cluster(bindir, directory=(keep_dir / "postgresql") if keep_dir else (base / "postgresql"))
            say(f"PostgreSQL {version[0]}.{version[1]} from {bindir}: private cluster in {cluster.tmp}")
            cluster.start()
            db_options = {"db_host": str(cluster.socket_dir), "db_port": rot.PG_PORT, "db_user": rot.DB_USER}

        # The sandbox: in this process, demo seed, our Redirect URI registered
        odoo_url = f"http://localhost:{args.port}"
        seed = load_seed_file("demo")
        for app in seed.get("apps", []):
            uris = app.setdefault("redirect_uris", [])
            if odoo_url + CALLBACK_PATH not in uris:
                uris.append(odoo_url + CALLBACK_PATH)
        sandbox = SandboxServer(host="127.0.0.1", port=args.sandbox_port, state_dir=base / "sandbox",
                                public_host="localhost")
        load_seed_data(sandbox.world, seed)
        sandbox.start()
        say(f"Outlook sandbox on {sandbox.base_url} (demo seed), CA {sandbox.ca_path}")
        app = seed["apps"][0]

        conf = base / "odoo.conf"
        options = {
            "addons_path": str(REPO_ROOT),
            "data_dir": str(odoo_data),
            **db_options,
            "db_name": args.db_name,
            "dbfilter": f"^{args.db_name}$",
            "list_db": "False",  # no database manager in a demo
            "http_interface": "127.0.0.1",
            "http_port": args.port,
            "proxy_mode": "False",
        }
        conf.write_text("[options]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "ODOO_RC"}
        if args.db_password:
            env["PGPASSWORD"] = args.db_password
        env["PYTHONUNBUFFERED"] = "1"
        base_cmd = odoo + ["-c", str(conf), "-d", args.db_name]

        fresh = not (keep_dir and module_installed(odoo, conf, args.db_name, env))
        if fresh:
            created_db = True
            run_step(f"installing {MODULE} with demo data in database {args.db_name} (a minute or two)",
                     base_cmd + ["-i", MODULE, "--with-demo", "--stop-after-init", "--no-http"],
                     env, log, args.timeout)
        settings_env = {
            **env,
            "MCS_ENABLED": "True", "MCS_CLIENT_ID": app["client_id"], "MCS_CLIENT_SECRET": app["client_secret"],
            "MCS_TENANT": "common", "MCS_USE_SANDBOX": "True", "MCS_LOGIN_URL": sandbox.login_url,
            "MCS_GRAPH_URL": sandbox.graph_url, "MCS_CA_FILE": sandbox.ca_path, "ODOO_BASE_URL": odoo_url,
        }
        output = run_step("pointing the addon's settings at the sandbox",
                          odoo + ["shell", "-c", str(conf), "-d", args.db_name, "--no-http"],
                          settings_env, log, args.timeout, stdin_text=APPLY_SETTINGS.read_text())
        for line in output.splitlines():
            if line.startswith("apply_settings:"):
                say("  " + line.split(":", 1)[1].strip())

        say(f"starting Odoo on {odoo_url}")
        with open(log, "a") as out:
            out.write(f"\n===== Odoo server: {' '.join(base_cmd)}\n")
        log_handle = open(log, "a")  # noqa: SIM115 - lives as long as Odoo
        odoo_proc = subprocess.Popen(base_cmd, env=env, stdout=log_handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # our handler relays Ctrl-C
        log_handle.close()
        if not wait_for_http(f"http://127.0.0.1:{args.port}/web/health", odoo_proc, args.timeout):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(f"Odoo did not answer on {odoo_url}; the end of its log:\n{tail}")
        banner(args, odoo_url, sandbox, log, keep_dir)
        while odoo_proc.poll() is None:
            time.sleep(0.5)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        say(f"Odoo stopped by itself (exit {odoo_proc.returncode}); the end of its log:\n{tail}")
        status = EXIT_FAIL
    except Stop as stop:
        say(f"{stop}: stopping")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        say(f"error: {exc}")
        status = EXIT_FAIL
    except Exception as exc:  # noqa: BLE001 - e.g. psycopg2's errors; still clean up below
        say(f"error: {type(exc).__name__}: {exc}")
        status = EXIT_FAIL
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        if odoo_proc is not None:
            rot._terminate(odoo_proc)
            say("Odoo stopped")
        if sandbox is not None:
            sandbox.stop()
            say("Outlook sandbox stopped")
        if server is not None and created_db and not keep_dir:
            try:
                server.drop(args.db_name)
                say(f"database {args.db_name} dropped")
            except Exception as exc:  # noqa: BLE001
                say(f"could not drop database {args.db_name}: {exc}")
        if cluster is not None:
            cluster.stop()
            say("PostgreSQL stopped")
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
            say(f"removed {work}")
        elif keep_dir:
            say(f"data kept in {keep_dir}; run again with --keep-data {keep_dir}, or delete the directory")
    return status


if __name__ == "__main__":
    sys.exit(main())
