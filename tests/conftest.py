"""Shared fixtures: one in-process sandbox per test session, reset and
re-seeded before each test that uses it.

Requests made here pass ``verify=`` on every call: ``REQUESTS_CA_BUNDLE``
(set on many hosts, this one included) silently overrides ``Session.verify``.
"""
from __future__ import annotations

import copy

import pytest
import requests

from outlook_sandbox import SandboxServer
from outlook_sandbox.seed import load_seed_data

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "sandbox-secret-value"
REDIRECT_URI = "http://localhost:8069/microsoft_account/authentication"

BASE_SEED = {
    "tenants": [{"domain": "contoso.com", "id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                 "display_name": "Contoso"}],
    "apps": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "redirect_uris": [REDIRECT_URI], "display_name": "Odoo Calendar Sync"}],
    "mailboxes": [
        {"address": "alice@contoso.com", "display_name": "Alice Martin", "time_zone": "Europe/Brussels"},
        {"address": "bob@contoso.com", "display_name": "Bob Stone", "time_zone": "America/New_York"},
        {"address": "carol@outlook.com", "display_name": "Carol Personal", "personal": True},
    ],
}


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer(http_port=0) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The running sandbox, reset to BASE_SEED (throttling on, no consent yet)."""
    world = sandbox_server.world
    world.reset()
    load_seed_data(world, copy.deepcopy(BASE_SEED))
    return sandbox_server


class GraphSession:
    """A signed-in Graph caller for tests: ``get/post/patch/delete`` take a
    path relative to ``/v1.0`` (or a full URL such as a nextLink)."""

    def __init__(self, server: SandboxServer, token: str, base_url: str | None = None):
        self.server = server
        self.token = token
        self.base_url = base_url or server.graph_url
        self.http = requests.Session()

    def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.base_url + path
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        kwargs.setdefault("timeout", 10)
        return self.http.request(method, url, headers=headers, verify=self.server.ca_path, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def mint_token(server: SandboxServer, address: str, **spec) -> str:
    response = requests.post(server.base_url + "/_sandbox/tokens", json={"mailbox": address, **spec},
                             verify=server.ca_path, timeout=10)
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def graph_as(sandbox):
    """``graph_as("alice@contoso.com")`` -> a GraphSession for that mailbox."""
    def make(address: str, **spec) -> GraphSession:
        return GraphSession(sandbox, mint_token(sandbox, address, client_id=CLIENT_ID, **spec))
    return make


@pytest.fixture
def alice(graph_as) -> GraphSession:
    return graph_as("alice@contoso.com")


@pytest.fixture
def bob(graph_as) -> GraphSession:
    return graph_as("bob@contoso.com")


@pytest.fixture
def control(sandbox):
    """POST/GET/DELETE helper for the /_sandbox control API."""
    class Control:
        def request(self, method, path, **kw):
            kw.setdefault("timeout", 10)
            return requests.request(method, sandbox.base_url + "/_sandbox" + path, verify=sandbox.ca_path, **kw)

        def get(self, path, **kw):
            return self.request("GET", path, **kw)

        def post(self, path, **kw):
            return self.request("POST", path, **kw)

        def delete(self, path, **kw):
            return self.request("DELETE", path, **kw)
    return Control()
