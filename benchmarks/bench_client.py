"""Requests and wall time of the Graph client's bulk paths, against an
in-process sandbox (no Microsoft tenant needed).

For N events it measures: creating them one POST at a time, creating them
through ``$batch`` (20 per call), reading them back with one delta round, and
a second delta round after touching a tenth of them. The request counts come
from the client's own ``stats`` and from the sandbox's statistics; they are
deterministic, the times are not.

    python3 benchmarks/bench_client.py --events 200
"""
from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from urllib.parse import quote

import requests

from outlook_sandbox import SandboxServer
from outlook_sync.client import BatchRequest, DeltaWindow, GraphClient

ADDRESS = "bench@contoso.com"
WINDOW = DeltaWindow(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2027, 12, 31, tzinfo=timezone.utc))


class ControlTokens:
    """Tokens minted through the sandbox's control API."""

    def __init__(self, sandbox: SandboxServer):
        self.sandbox = sandbox
        self.token: str | None = None

    def get_token(self, force_refresh: bool = False) -> str:
        if self.token is None or force_refresh:
            response = requests.post(self.sandbox.base_url + "/_sandbox/tokens", json={"mailbox": ADDRESS},
                                     verify=self.sandbox.ca_path, timeout=10)
            response.raise_for_status()
            self.token = response.json()["access_token"]
        return self.token


def event_json(n: int) -> dict:
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    return {"subject": f"Benchmark event {n}",
            "start": {"dateTime": f"2026-{month:02d}-{day:02d}T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-{month:02d}-{day:02d}T10:00:00", "timeZone": "UTC"}}


def measure(label: str, client: GraphClient, action) -> object:
    before = dict(client.stats)
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    sent = {k: v - before.get(k, 0) for k, v in client.stats.items() if v != before.get(k, 0)}
    print(f"{label:<34} {sum(sent.values()):>6} requests {elapsed * 1000:>9.0f} ms   {sent}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="events per scenario (default 200)")
    args = parser.parse_args()
    count = args.events

    seed = {"tenants": [{"domain": "contoso.com"}],
            "mailboxes": [{"address": ADDRESS, "display_name": "Bench Mark"}]}
    with SandboxServer(seed=seed) as sandbox:
        client = GraphClient(ControlTokens(sandbox), base_url=sandbox.graph_url, verify=sandbox.ca_path,
                             mailbox=ADDRESS)
        print(f"{count} events, sandbox at {sandbox.base_url}")
        created = measure("create one by one (POST)", client, lambda: [
            client.create_event(event_json(n), transaction_id=f"bench-single-{n}") for n in range(count)])
        batch = [BatchRequest("POST", "/me/events", {**event_json(n), "transactionId": f"bench-batch-{n}"},
                              idempotent=True) for n in range(count)]
        results = measure("create through $batch", client, lambda: client.batch(batch))
        failed = sum(not r.ok for r in results)
        pages = measure("first delta round (all events)", client,
                        lambda: list(client.delta_round(WINDOW, page_size=50)))
        touched = [BatchRequest("PATCH", "/me/events/" + quote(e["id"], safe=""), {"subject": "Touched"})
                   for e in created[::10]]
        measure("touch a tenth through $batch", client, lambda: client.batch(touched))
        changes = measure("next delta round (changes only)", client,
                          lambda: list(client.delta_round(pages[-1].delta_link)))
        print(f"items: first round {sum(len(p.items) for p in pages)}, next round "
              f"{sum(len(p.items) for p in changes)}; failed batch items {failed}")
        print(f"client total {sum(client.stats.values())} requests: {dict(client.stats)}")
        client.close()


if __name__ == "__main__":
    main()
