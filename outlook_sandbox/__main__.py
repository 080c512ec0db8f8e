"""``outlook-sandbox`` / ``python -m outlook_sandbox``: serve the sandbox until
Ctrl-C (SIGINT) or SIGTERM, printing where clients should point and what the
seeded world holds."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .errors import GraphError
from .seed import load_seed_file
from .server import SandboxServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outlook-sandbox",
        description="A local emulator of Microsoft Graph's calendar API and Microsoft sign-in.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8443,
                        help="HTTPS port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--http-port", type=int, default=None,
                        help="also serve plain HTTP on this port (0 picks a free one)")
    seed = parser.add_mutually_exclusive_group()
    seed.add_argument("--seed", default="demo",
                      help="seed JSON file, or the name of a packaged seed (default: %(default)s)")
    seed.add_argument("--no-seed", action="store_true", help="start with an empty world")
    parser.add_argument("--state-dir", default="./sandbox-data",
                        help="where the CA certificate is written (default: %(default)s)")
    parser.add_argument("--hostname", action="append", default=[],
                        help="extra host name for the certificate, e.g. a compose service name; "
                             "the first one is also used in the printed URLs (repeatable)")
    parser.add_argument("--auto-consent", action="store_true",
                        help="grant consent without showing the consent page")
    parser.add_argument("--allow-remote-control", action="store_true",
                        help="let non-loopback clients use the /_sandbox control API (it resets the world "
                             "and mints tokens: only on a trusted network)")
    parser.add_argument("--no-throttling", action="store_true", help="switch Outlook's throttling limits off")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="(default: %(default)s)")
    return parser


def describe(server: SandboxServer) -> str:
    """What a user needs to point a client at this sandbox."""
    world = server.world
    lines = [
        "Outlook sandbox (Microsoft Graph calendar API + Microsoft sign-in) is running.",
        f"  Login (authority) URL: {server.login_url}/common   (or /organizations, /consumers, /<tenant id>)",
        f"  Graph base URL:        {server.graph_url}",
        f"  CA certificate:        {server.ca_path}",
    ]
    if server.http_base_url:
        lines.append(f"  Plain HTTP:            {server.http_base_url}   (Graph: {server.http_base_url}/v1.0)")
    lines.append(f"  Control API:           {server.base_url}/_sandbox/")
    with world.lock:
        for app in world.apps.values():
            lines += [f"  App '{app.display_name}':",
                      f"    client id:     {app.client_id}",
                      f"    client secret: {app.secrets[0].value if app.secrets else '(none)'}",
                      f"    redirect URIs: {', '.join(app.redirect_uris) or '(none)'}"]
        if world.mailboxes:
            lines.append("  Mailboxes:")
            for mailbox in world.mailboxes.values():
                kind = "personal" if mailbox.personal else "work"
                lines.append(f"    {mailbox.address:<34} {mailbox.display_name} ({kind}, "
                             f"{len(mailbox.events)} events)")
        else:
            lines.append("  No mailboxes (add some with POST /_sandbox/seed or /_sandbox/mailboxes).")
    lines.append("Stop with Ctrl-C.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        seed = None if args.no_seed else load_seed_file(args.seed)
    except ValueError as exc:
        print(f"outlook-sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        server = SandboxServer(host=args.host, port=args.port, http_port=args.http_port, seed=seed,
                               state_dir=args.state_dir, hostnames=tuple(args.hostname),
                               public_host=args.hostname[0] if args.hostname else None,
                               allow_remote_control=args.allow_remote_control)
    except OSError as exc:  # port in use, state dir not writable, ...
        print(f"outlook-sandbox: cannot start: {exc}", file=sys.stderr)
        return 1
    except GraphError as exc:  # the seed's content was refused
        print(f"outlook-sandbox: seed {args.seed!r} refused: {exc.message}", file=sys.stderr)
        return 2
    if args.auto_consent:
        server.world.auto_consent = True
    if args.no_throttling:
        server.world.throttling_enabled = False

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    print(describe(server), flush=True)
    while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
        pass
    print("Stopping the Outlook sandbox.", flush=True)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
