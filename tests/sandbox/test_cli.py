"""``python -m outlook_sandbox``: starts, prints where to point clients,
serves HTTPS with the printed CA, and stops cleanly on SIGINT/SIGTERM."""
import json
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SEED = {"tenants": [{"domain": "fabrikam.com"}],
        "apps": [{"client_id": "cli-app", "client_secret": "cli-secret",
                  "redirect_uris": ["http://localhost:8069/microsoft_account/authentication"]}],
        "mailboxes": [{"address": "ann@fabrikam.com", "display_name": "Ann Lee"}]}


class RunningCli:
    def __init__(self, *args: str):
        self.process = subprocess.Popen([sys.executable, "-m", "outlook_sandbox", *args], cwd=REPO,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def banner(self) -> str:
        """Everything printed up to the stop hint."""
        seen = []
        while True:
            line = self.lines.get(timeout=20)
            if line is None:
                raise AssertionError("sandbox exited early:\n" + "\n".join(seen))
            seen.append(line)
            if line.startswith("Stop with Ctrl-C"):
                return "\n".join(seen)

    def stop(self, signum=signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    return path


def _printed(banner: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}:\s+(\S+)", banner, re.MULTILINE)
    assert match, f"{label!r} not printed:\n{banner}"
    return match.group(1)


def test_cli_serves_https_with_the_printed_ca_and_stops_on_sigint(tmp_path, seed_file):
    cli = RunningCli("--port", "0", "--http-port", "0", "--seed", str(seed_file),
                     "--state-dir", str(tmp_path / "state"), "--auto-consent")
    try:
        banner = cli.banner()
        authority = _printed(banner, "Login (authority) URL")
        graph_url = _printed(banner, "Graph base URL")
        ca_path = _printed(banner, "CA certificate")
        plain_http = _printed(banner, "Plain HTTP")
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+/common", authority)
        assert not authority.startswith("https://127.0.0.1:0/")  # the real port, not 0
        assert graph_url == authority[:-len("/common")] + "/v1.0"
        assert Path(ca_path) == tmp_path / "state" / "sandbox-ca.pem"
        assert "cli-app" in banner and "cli-secret" in banner and "ann@fabrikam.com" in banner

        base = graph_url[:-len("/v1.0")]
        discovery = requests.get(authority + "/v2.0/.well-known/openid-configuration", verify=ca_path, timeout=10)
        assert discovery.status_code == 200
        assert discovery.json()["token_endpoint"].startswith("https://")
        mailboxes = requests.get(base + "/_sandbox/mailboxes", verify=ca_path, timeout=10).json()["value"]
        assert [m["address"] for m in mailboxes] == ["ann@fabrikam.com"]
        settings = requests.get(base + "/_sandbox/settings", verify=ca_path, timeout=10).json()
        assert settings["auto_consent"] is True
        assert requests.get(plain_http + "/_sandbox/mailboxes", timeout=10).status_code == 200
    finally:
        code = cli.stop(signal.SIGINT)
    assert code == 0


def test_cli_starts_with_the_demo_seed_and_stops_on_sigterm(tmp_path):
    cli = RunningCli("--port", "0", "--state-dir", str(tmp_path), "--no-throttling")
    try:
        banner = cli.banner()
        assert "http://localhost:8069/microsoft_account/authentication" in banner
        assert "mark.brown23@example.com" in banner and "carol@outlook.com" in banner
    finally:
        code = cli.stop(signal.SIGTERM)
    assert code == 0


def test_cli_refuses_an_unknown_seed(tmp_path):
    result = subprocess.run([sys.executable, "-m", "outlook_sandbox", "--port", "0", "--seed", "no-such-seed",
                             "--state-dir", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "no-such-seed" in result.stderr
