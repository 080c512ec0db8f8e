"""Serving the sandbox: HTTPS (always) and plain HTTP (optional) listeners in
background threads, sharing one :class:`~outlook_sandbox.store.World`.

Usable in-process by tests::

    with SandboxServer(seed=load_seed("demo")) as sandbox:
        msal_authority = sandbox.login_url + "/common"
        requests.get(sandbox.graph_url + "/me", headers=..., verify=sandbox.ca_path)
"""
from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import SandboxApp
from .store import World
from .tls import SandboxTLS


_access_log = logging.getLogger("outlook_sandbox.access")


class _KeepAliveHandler(WSGIRequestHandler):
    # HTTP/1.1 keeps connections open, as Graph does: without it every request
    # pays a new TLS handshake and benchmarks measure the emulator, not the client.
    protocol_version = "HTTP/1.1"

    def log(self, type: str, message: str, *args) -> None:
        # The access log goes to the sandbox's own logger at DEBUG, not to
        # werkzeug's (which prints every request and is shared with Odoo).
        level = logging.DEBUG if type == "info" else getattr(logging, type.upper(), logging.WARNING)
        _access_log.log(level, "%s %s", self.address_string(), message % args)


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, http_port: int | None = None,
                 seed: dict | None = None, state_dir: str | Path | None = None,
                 hostnames: tuple[str, ...] = (), public_host: str | None = None,
                 allow_remote_control: bool = False):
        """``port``/``http_port``: 0 picks a free port; ``http_port=None`` serves
        no plain-HTTP listener. ``state_dir`` holds the CA files (a temporary
        directory by default). ``public_host`` is the host name put into URLs
        printed for clients (defaults to ``host``). ``allow_remote_control``
        opens the control API to non-loopback clients."""
        self.world = World()
        self.app = SandboxApp(self.world, allow_remote_control=allow_remote_control)
        self._tmp = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="outlook-sandbox-")
            state_dir = self._tmp.name
        self.tls = SandboxTLS(state_dir, hostnames=tuple(h for h in (*hostnames, public_host) if h))
        self.host = host
        self.public_host = public_host or ("localhost" if host in ("0.0.0.0", "::") else host)
        self._https = make_server(host, port, self.app, threaded=True, request_handler=_KeepAliveHandler,
                                  ssl_context=self.tls.server_context())
        self._http = (make_server(host, http_port, self.app, threaded=True, request_handler=_KeepAliveHandler)
                      if http_port is not None else None)
        self._threads: list[threading.Thread] = []
        if seed:
            from .seed import load_seed_data
            load_seed_data(self.world, seed)

    # -- URLs -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._https.server_port

    @property
    def http_port(self) -> int | None:
        return self._http.server_port if self._http else None

    @property
    def base_url(self) -> str:
        return f"https://{self.public_host}:{self.port}"

    @property
    def http_base_url(self) -> str | None:
        return f"http://{self.public_host}:{self.http_port}" if self._http else None

    @property
    def login_url(self) -> str:
        """Identity platform host; MSAL authority = ``login_url + "/common"``."""
        return self.base_url

    @property
    def graph_url(self) -> str:
        return self.base_url + "/v1.0"

    @property
    def ca_path(self) -> str:
        return str(self.tls.ca_path)

    # -- life cycle -------------------------------------------------------------

    def start(self) -> "SandboxServer":
        for server in filter(None, (self._https, self._http)):
            thread = threading.Thread(target=server.serve_forever, name="outlook-sandbox", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in filter(None, (self._https, self._http)):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
