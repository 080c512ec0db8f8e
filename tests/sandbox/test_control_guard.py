"""The control API refuses what a web page or another machine could send:
non-JSON state changes (415), cross-origin requests (403), non-loopback
clients unless allowed (403). JSON from loopback works."""
from __future__ import annotations

import requests
from werkzeug.test import EnvironBuilder

from outlook_sandbox import SandboxServer


def _post(server, path, **kw):
    return requests.post(server.base_url + "/_sandbox" + path, verify=server.ca_path, timeout=10, **kw)


def test_text_plain_post_is_refused_and_changes_nothing(sandbox):
    before = len(sandbox.world.mailboxes)
    response = _post(sandbox, "/reset", data=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "ControlApiJsonOnly"
    assert "application/json" in response.json()["error"]["message"]
    form = _post(sandbox, "/tokens", data={"mailbox": "alice@contoso.com"})
    assert form.status_code == 415
    assert len(sandbox.world.mailboxes) == before and before > 0


def test_cross_origin_json_post_is_refused(sandbox):
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = _post(sandbox, "/tokens", json={"mailbox": "alice@contoso.com"}, headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["error"]["code"] == "ControlApiCrossOrigin"
        assert "access_token" not in response.text
    read = requests.get(sandbox.base_url + "/_sandbox/mailboxes", headers={"Origin": "https://evil.example"},
                        verify=sandbox.ca_path, timeout=10)
    assert read.status_code == 403


def test_json_from_loopback_works_same_origin_included(sandbox):
    response = _post(sandbox, "/tokens", json={"mailbox": "alice@contoso.com"},
                     headers={"Origin": sandbox.base_url, "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 201, response.text
    assert response.json()["access_token"]
    assert requests.delete(sandbox.base_url + "/_sandbox/stats", verify=sandbox.ca_path, timeout=10).status_code == 204


def test_non_loopback_clients_refused_unless_allowed(sandbox):
    # A real second machine is not available here: the request comes from a
    # documentation address through werkzeug's test environ, same app code.
    def call(app):
        builder = EnvironBuilder(path="/_sandbox/tokens", method="POST", json={"mailbox": "alice@contoso.com"},
                                 base_url="https://sandbox.example", environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
        return app.handle(builder.get_request(), "/_sandbox/tokens")
    refused = call(sandbox.app)
    assert refused.status_code == 403
    assert b"ControlApiLoopbackOnly" in refused.get_data()
    with SandboxServer(allow_remote_control=True) as other:
        other.world.add_mailbox("alice@contoso.com")
        assert call(other.app).status_code == 201
