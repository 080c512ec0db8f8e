"""The throwaway certificate authority that makes the sandbox an HTTPS host.

MSAL accepts only ``https`` authorities, and a bare self-signed leaf is
rejected by OpenSSL, so the sandbox mints a CA (written to disk for clients
to trust) and a server certificate for ``localhost``, ``127.0.0.1`` and
``::1`` plus any extra host names (e.g. the compose service name).
"""
from __future__ import annotations

import ssl
from pathlib import Path

import trustme


class SandboxTLS:
    """CA + server certificate files in ``directory``; ``ca_path`` is what
    clients pass as ``verify=``."""

    def __init__(self, directory: str | Path, hostnames: tuple[str, ...] = ()):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        names = ["localhost", "127.0.0.1", "::1", *hostnames]
        self._ca = trustme.CA(organization_name="Outlook Sandbox Test CA")
        self._cert = self._ca.issue_cert(*dict.fromkeys(names))
        self.ca_path = self.directory / "sandbox-ca.pem"
        self.cert_path = self.directory / "sandbox-server.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))
        self._cert.private_key_and_cert_chain_pem.write_to_path(str(self.cert_path))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_path))
        return context
