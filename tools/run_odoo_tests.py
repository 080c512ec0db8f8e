#!/usr/bin/env python3
"""Odoo test tier: install the addon in a throwaway database and run its tests.

Starts a private PostgreSQL cluster in a temporary directory (unix socket
only, trust authentication, never the machine's own server), runs Odoo with
``-i <module> --test-enable --test-tags /<module> --stop-after-init``, streams
Odoo's log, and decides pass/fail from the log instead of Odoo's exit code
alone: Odoo's final test summary, ERROR/CRITICAL records, stray tracebacks and
WARNING records that come from the module. The last line printed is always

    odoo: N passed, N failed

(errors count as failed). The cluster and the temporary directory are removed
on exit, also on Ctrl-C, unless ``--keep`` is given.

Usage:
    python3 tools/run_odoo_tests.py [--keep] [--tags TAGS] [--module NAME]
                                    [--addons-dir DIR] [--timeout SECONDS]
                                    [-- EXTRA ODOO ARGS]

Exit codes: 0 all tests passed; 1 failed tests, install error, no test run or
module warnings; 2 Odoo is not importable / bad usage; 3 no PostgreSQL server
binaries; 130 interrupted.

Standard library only. Needs Odoo importable by this Python (or an
``odoo-bin``/``odoo`` executable on PATH) and PostgreSQL server binaries
(``initdb``, ``pg_ctl``, ``postgres``).
"""

import argparse
import ast
import importlib.metadata
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODULE = "microsoft_calendar_sync"
DB_USER = "odoo"  # Odoo refuses to run as the "postgres" role
DB_NAME = "odoo_test"
PG_PORT = 5432  # only names the socket file inside our private directory
PG_BIN_NEEDED = ("initdb", "pg_ctl", "postgres")

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NO_PG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# 2026-11-22 03:00:00,123 4242 INFO dbname odoo.modules.loading: message
LOG_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ "
    r"(?P<level>DEBUG|INFO|RUNBOT|WARNING|ERROR|CRITICAL|\?\?\?) "
    r"(?P<db>\S+) (?P<logger>[\w.\-]+): (?P<message>.*)$"
)
SUMMARY = re.compile(
    r"(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests"
    r" when loading database"
)
# Odoo's browser tests (HttpCase.browser_js/start_tour) skip themselves, with a
# WARNING, when Chrome or the websocket-client package is missing: an
# environment gap, reported on its own line rather than as a module warning.
BROWSER_MISSING = re.compile(
    r"Chrome executable not found|websocket-client module is not installed"
    r"|Chrome headless failed to start|Failed to detect chrome devtools port"
)
LEVELS = {"DEBUG": 10, "INFO": 20, "RUNBOT": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50, "???": 40}


def say(message):
    print(f"run_odoo_tests: {message}", flush=True)


# ---------------------------------------------------------------------------
# Locating Odoo and PostgreSQL
# ---------------------------------------------------------------------------


def odoo_command():
    """The command that starts Odoo's server with this interpreter, if possible."""
    try:
        if importlib.util.find_spec("odoo") is not None:
            if importlib.util.find_spec("odoo.__main__") is not None:
                return [sys.executable, "-m", "odoo"]
    except (ImportError, ValueError):
        pass
    for name in ("odoo-bin", "odoo"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def _pg_version(bindir):
    try:
        out = subprocess.run(
            [str(bindir / "initdb"), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    return (int(match.group(1)), int(match.group(2) or 0)) if match else None


def find_pg_bindir():
    """Newest directory holding initdb, pg_ctl and postgres, or None."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=False
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
        except OSError:
            pass
    for pattern_root in (Path("/usr/lib/postgresql"), Path("/usr/local/pgsql"), Path("/opt/homebrew/opt")):
        if pattern_root.is_dir():
            candidates.extend(sorted(pattern_root.glob("*/bin")))
    candidates.append(Path("/usr/local/pgsql/bin"))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)

    found = {}
    for bindir in candidates:
        if all((bindir / tool).is_file() and os.access(bindir / tool, os.X_OK) for tool in PG_BIN_NEEDED):
            version = _pg_version(bindir)
            if version:
                found.setdefault(bindir.resolve(), version)
    if not found:
        return None, None
    if os.environ.get("PG_BINDIR") and Path(os.environ["PG_BINDIR"]).resolve() in found:
        bindir = Path(os.environ["PG_BINDIR"]).resolve()
        return bindir, found[bindir]
    bindir = max(found, key=found.get)
    return bindir, found[bindir]


# ---------------------------------------------------------------------------
# The throwaway PostgreSQL cluster
# ---------------------------------------------------------------------------


def _traversable_by_others(path):
    path = Path(path).resolve()
    for part in (path, *path.parents):
        if not os.stat(part).st_mode & 0o001:
            return False
    return True


class Cluster:
    """A private PostgreSQL cluster in a temporary directory."""

    def __init__(self, bindir, keep=False, directory=None):
        """``directory``: use (and keep) this directory instead of a new
        temporary one; a cluster already initialised there is reused
        (tools/run_demo.py --keep-data)."""
        self.bindir = bindir
        self.keep = keep
        self.user = None  # (uid, gid) to run PostgreSQL as, when we are root
        base = tempfile.gettempdir()
        if os.geteuid() == 0:
            self.user = self._unprivileged_user()
            if not _traversable_by_others(base):
                base = "/tmp"
        if directory is not None:
            self.tmp = Path(directory).resolve()
            self.tmp.mkdir(parents=True, exist_ok=True)
        else:
            self.tmp = Path(tempfile.mkdtemp(prefix="odoo-tests-", dir=base))
        self.pgdata = self.tmp / "pgdata"
        self.socket_dir = self.tmp  # psycopg2 takes a directory as "host"
        self.logfile = self.tmp / "postgresql.log"
        self.started = False
        if self.user:
            os.chown(self.tmp, *self.user)

    @staticmethod
    def _unprivileged_user():
        # initdb and postgres refuse to run as root
        for name in ("postgres", "nobody"):
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            return entry.pw_uid, entry.pw_gid
        raise RuntimeError("running as root, but found no 'postgres' or 'nobody' user to run PostgreSQL as")

    def _run(self, args, **kwargs):
        extra = {}
        if self.user:
            extra = {"user": self.user[0], "group": self.user[1], "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C", "HOME": str(self.tmp)})
        return subprocess.run(args, env=env, cwd=self.tmp, check=False, capture_output=True, text=True, **extra, **kwargs)

    def start(self):
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._start_server()

    def _initdb(self):
        result = self._run(
            [str(self.bindir / "initdb"), "-D", str(self.pgdata), "-U", DB_USER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            timeout=300,
        )
        if result.returncode:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _start_server(self):
        options = " ".join([
            "-c listen_addresses=''",  # unix socket only
            f"-c unix_socket_directories='{self.socket_dir}'",
            f"-p {PG_PORT}",
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        ])
        result = self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.logfile),
             "-o", options, "-w", "-t", "120", "start"],
            timeout=180,
        )
        self.started = True  # even on failure: stop() cleans up a half-started server
        if result.returncode:
            log = self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}\n{result.stderr}\n{log}")

    def stop(self):
        if self.started and self.pgdata.exists():
            result = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], timeout=120)
            if result.returncode and (self.pgdata / "postmaster.pid").exists():
                self._run([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "-w", "stop"], timeout=60)
                self._kill_postmaster()
            self.started = False

    def _kill_postmaster(self):
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def remove(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Odoo run and log analysis
# ---------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_manifest(module_dir):
    manifest = module_dir / "__manifest__.py"
    return ast.literal_eval(manifest.read_text())


def missing_python_dependencies(manifest):
    """Distributions named in external_dependencies that are not installed."""
    missing = []
    for requirement in manifest.get("external_dependencies", {}).get("python", []):
        name = re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if importlib.util.find_spec(name.replace("-", "_")) is not None:
                # Odoo 19 would accept it with a WARNING; name the distribution instead
                missing.append(f"{requirement} (an import name, not a distribution name)")
            else:
                missing.append(requirement)
    return missing


class LogAnalysis:
    """Reads Odoo's log line by line and keeps what decides pass/fail."""

    def __init__(self, module):
        self.module = module
        self.summary = None  # (failed, errors, run)
        self.skipped = 0
        self.error_records = []
        self.module_warnings = []
        self.other_warnings = []
        self.stray_tracebacks = []
        self.module_loaded = False
        self.failed_tests = []
        self.browser_missing = []  # WARNING messages saying the browser tests could not run
        self.leaked_lines = None  # line numbers of the log holding an issued secret (None: nothing recorded)
        self._last = None  # last record: (level, logger, message)

    def _is_ours(self, logger, message):
        return (
            logger == f"odoo.addons.{self.module}" or logger.startswith(f"odoo.addons.{self.module}.")
            or re.search(rf"\b{re.escape(self.module)}\b", message) is not None
        )

    def feed(self, line):
        line = line.rstrip("\n")
        match = LOG_RECORD.match(line)
        if not match:
            # continuation of the previous record, or raw output on stdout/stderr
            if line.startswith("Traceback (most recent call last)"):
                if self._last is None or LEVELS[self._last[0]] < LEVELS["WARNING"]:
                    self.stray_tracebacks.append(line)
            return
        level, logger, message = match["level"], match["logger"], match["message"]
        self._last = (level, logger, message)
        summary = SUMMARY.search(message)
        if summary and logger.startswith("odoo.tests"):
            self.summary = (int(summary["failed"]), int(summary["errors"]), int(summary["run"]))
        if LEVELS[level] >= LEVELS["ERROR"]:
            self.error_records.append(line)
            test = re.match(r"(FAIL|ERROR): (\S+)", message)
            if test:
                self.failed_tests.append(f"{test[1]}: {test[2]}")
        elif level == "WARNING":
            if summary:
                pass  # "0 failed, 0 error(s) of 0 tests": handled as "no test ran"
            elif BROWSER_MISSING.search(message):
                self.browser_missing.append(message.strip())
            elif self._is_ours(logger, message):
                self.module_warnings.append(line)
            else:
                self.other_warnings.append(line)
        if level == "INFO" and logger.startswith(f"odoo.addons.{self.module}") and message.startswith("skipped "):
            self.skipped += 1
        if re.match(rf"(Loading module|Module) {re.escape(self.module)}\b", message):
            self.module_loaded = True


def leaked_secrets(log_path, secrets_path):
    """Line numbers of Odoo's log holding a secret the tests saw the sandbox issue (never the secrets)."""
    try:
        secrets = {line.strip() for line in secrets_path.read_text(encoding="utf-8").splitlines() if line.strip()}
    except FileNotFoundError:
        return None
    text = log_path.read_text(encoding="utf-8", errors="replace")
    found = [secret for secret in secrets if secret in text]  # one scan of the whole log per secret
    if not found:
        return []
    return [number for number, line in enumerate(text.splitlines(), 1) if any(secret in line for secret in found)]


def run_odoo(command, env, timeout, analysis, log_path=None):
    """Run Odoo, stream its output (also to ``log_path``) and feed the analysis; return its exit code."""
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        errors="replace", bufsize=1, start_new_session=True,
    )
    timed_out = threading.Event()

    def on_timeout():
        timed_out.set()
        _terminate(proc)

    timer = threading.Timer(timeout, on_timeout) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    log = log_path.open("w", encoding="utf-8") if log_path else None
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if log:
                log.write(line)
            analysis.feed(line)
        proc.wait()
    except BaseException:
        _terminate(proc)
        raise
    finally:
        if timer:
            timer.cancel()
        if log:
            log.close()
    if timed_out.is_set():
        analysis.error_records.append(f"(runner) Odoo was stopped after the {timeout}s timeout")
    return proc.returncode


def _terminate(proc):
    """Stop Odoo's process group: SIGINT (graceful), then SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def parse_args(argv):
    extra = []
    if "--" in argv:
        index = argv.index("--")
        argv, extra = argv[:index], argv[index + 1:]
    parser = argparse.ArgumentParser(
        description="Install the addon in a throwaway PostgreSQL cluster and run its Odoo tests.",
        epilog="Arguments after -- are passed to Odoo unchanged.",
    )
    parser.add_argument("--keep", action="store_true",
                        help="keep the cluster running and the temp dir for debugging (prints how to reach it)")
    parser.add_argument("--tags", help="Odoo --test-tags (default: /<module>)")
    parser.add_argument("--module", default=DEFAULT_MODULE, help="addon to install and test (default: %(default)s)")
    parser.add_argument("--addons-dir", type=Path, default=REPO_ROOT,
                        help="directory holding the addon, put first in --addons-path (default: repository root)")
    parser.add_argument("--timeout", type=float, default=2700,
                        help="stop Odoo after this many seconds, 0 for none (default: %(default)s)")
    args = parser.parse_args(argv)
    args.odoo_args = extra
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()

    command = odoo_command()
    if not command:
        say("Odoo is not importable by this Python and no odoo-bin is on PATH; nothing to run.")
        return EXIT_USAGE
    module_dir = args.addons_dir.resolve() / args.module
    if not (module_dir / "__manifest__.py").is_file():
        say(f"no addon {args.module!r} in {args.addons_dir}")
        return EXIT_USAGE
    missing = missing_python_dependencies(read_manifest(module_dir))
    if missing:
        say(f"{args.module} needs Python distributions that are not installed: {', '.join(missing)}")
        say(f"install them first, e.g. `{Path(sys.executable).name} -m pip install -e '{REPO_ROOT}[sandbox]'`")
        print("odoo: 0 passed, 0 failed", flush=True)
        return EXIT_FAIL

    bindir, version = find_pg_bindir()
    if not bindir:
        say("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: looked at $PG_BINDIR, "
            "`pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH. Install them "
            "(Debian/Ubuntu: apt-get install postgresql) or set PG_BINDIR.")
        return EXIT_NO_PG

    # SIGTERM/SIGHUP take the same clean-up path as Ctrl-C; SIGINT is set too
    # because a shell starts background jobs with SIGINT ignored
    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)

    cluster = None
    analysis = LogAnalysis(args.module)
    try:
        cluster = Cluster(bindir, keep=args.keep)
        say(f"PostgreSQL {version[0]}.{version[1]} from {bindir}, cluster in {cluster.tmp}")
        cluster.start()
        conf = cluster.tmp / "odoo.conf"
        conf.write_text("[options]\n")  # keeps ~/.odoorc and $ODOO_RC out of the run
        http_port = free_port()
        odoo_args = [
            "-c", str(conf),
            f"--addons-path={args.addons_dir.resolve()}",
            f"--data-dir={cluster.tmp / 'data'}",
            f"--db_host={cluster.socket_dir}", f"--db_port={PG_PORT}", f"--db_user={DB_USER}",
            "-d", DB_NAME, f"--db-filter=^{DB_NAME}$",
            "-i", args.module,
            "--test-enable", f"--test-tags={args.tags or '/' + args.module}",
            "--stop-after-init",
            "--http-interface=127.0.0.1", f"--http-port={http_port}",  # HttpCase needs a server
            "--workers=0", "--max-cron-threads=0",
            # the verdict reads these records: keep them whatever --log-level says
            "--log-handler=odoo.modules.loading:INFO", "--log-handler=odoo.tests.result:INFO",
            *args.odoo_args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "ODOO_RC"}
        env["PYTHONUNBUFFERED"] = "1"
        secrets_path, log_path = cluster.tmp / "issued-secrets.txt", cluster.tmp / "odoo.log"
        env["MCS_ISSUED_SECRETS_FILE"] = str(secrets_path)  # written by the addon's tests (tests/common.py)
        say("running: " + " ".join(command + odoo_args))
        odoo_started = time.monotonic()
        returncode = run_odoo(command + odoo_args, env, args.timeout, analysis, log_path)
        odoo_seconds = time.monotonic() - odoo_started
        analysis.leaked_lines = leaked_secrets(log_path, secrets_path)
    except KeyboardInterrupt:
        say("interrupted")
        print("odoo: 0 passed, 0 failed", flush=True)
        return EXIT_INTERRUPTED
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        say(f"error: {exc}")
        print("odoo: 0 passed, 0 failed", flush=True)
        return EXIT_FAIL
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not skip the clean-up
        if cluster is not None:
            if args.keep:
                say(f"--keep: cluster left running in {cluster.tmp}; connect with "
                    f"`psql -h {cluster.socket_dir} -p {PG_PORT} -U {DB_USER} {DB_NAME}`; stop with "
                    f"`{'runuser -u ' + pwd.getpwuid(cluster.user[0]).pw_name + ' -- ' if cluster.user else ''}"
                    f"{bindir / 'pg_ctl'} -D {cluster.pgdata} stop && rm -rf {cluster.tmp}`")
            else:
                cluster.stop()
                cluster.remove()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    return report(args, analysis, returncode, odoo_seconds, time.monotonic() - started)


def report(args, analysis, returncode, odoo_seconds, total_seconds):
    problems = []
    if analysis.summary:
        failed_count, error_count, run = analysis.summary
    else:
        failed_count, error_count, run = len(analysis.failed_tests), 0, 0
        problems.append("Odoo printed no test summary (crash or install error?)")
    failed = failed_count + error_count
    passed = max(run - failed - analysis.skipped, 0)
    if returncode != 0:
        problems.append(f"Odoo exited with code {returncode}")
    if not analysis.module_loaded:
        problems.append(f"module {args.module} was not loaded (see the log above)")
    if analysis.summary and run == 0:
        problems.append("no test ran")
    if failed:
        problems.append(f"{failed} test(s) failed or errored")
    other_errors = [r for r in analysis.error_records if not SUMMARY.search(r)]
    if other_errors and not failed:
        problems.append(f"{len(other_errors)} ERROR/CRITICAL log record(s)")
    if analysis.stray_tracebacks:
        problems.append(f"{len(analysis.stray_tracebacks)} traceback(s) outside an error record")
    if analysis.module_warnings:
        problems.append(f"{len(analysis.module_warnings)} WARNING record(s) from {args.module}")
    if analysis.leaked_lines:
        problems.append(f"{len(analysis.leaked_lines)} log line(s) hold a token or secret the sandbox issued "
                        f"(lines {', '.join(map(str, analysis.leaked_lines[:20]))} of Odoo's output)")
    print(flush=True)
    say("-" * 60)
    for line in analysis.failed_tests:
        say(f"failed: {line}")
    for line in other_errors[:20]:
        say(f"error record: {line}")
    for line in analysis.module_warnings:
        say(f"module warning: {line}")
    if analysis.leaked_lines is None:
        say("secrets check: no test recorded the secrets it saw issued")
    elif not analysis.leaked_lines:
        say("secrets check: no token or secret the sandbox issued appears in Odoo's log")
    if analysis.other_warnings:
        say(f"{len(analysis.other_warnings)} WARNING record(s) from other loggers (not counted as failures):")
        for line in analysis.other_warnings[:10]:
            say(f"  {line}")
    if analysis.skipped:
        say(f"{analysis.skipped} test(s) skipped")
    if analysis.browser_missing:
        reasons = sorted(set(analysis.browser_missing))
        say(f"BROWSER TESTS SKIPPED ({len(analysis.browser_missing)} time(s)): {'; '.join(reasons)}. "
            "Install Chromium (Debian/Ubuntu: apt-get install chromium) and the websocket-client "
            "Python package to run them.")
    verdict = "FAILED: " + "; ".join(problems) if problems else "OK"
    say(f"{verdict} ({run} tests; Odoo {odoo_seconds:.1f}s, total {total_seconds:.1f}s)")
    print(f"odoo: {passed} passed, {failed} failed", flush=True)
    return EXIT_FAIL if problems else EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
