"""Microsoft's own client, MSAL for Python, against the sandbox with only the
authority and the CA changed: the auth-code flow through the real consent
page, the token cache, silent refresh and the errors MSAL surfaces.

``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (set on this machine) override the
``verify=`` MSAL puts on its session, so the tests unset them; one test shows
the other way, a session that passes ``verify`` on every request.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests

from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI
from outlook_sandbox.signin_form import parse_sign_in_form as parse_form

from tests.sandbox.test_identity import CONTOSO_ID, MSA_TENANT_ID

SCOPES = ["https://graph.microsoft.com/Calendars.ReadWrite", "User.Read"]


@pytest.fixture
def msal_env(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def make_app(sandbox, tenant: str = "common", **kwargs) -> msal.ConfidentialClientApplication:
    kwargs.setdefault("verify", sandbox.ca_path)
    kwargs.setdefault("instance_discovery", False)
    return msal.ConfidentialClientApplication(CLIENT_ID, client_credential=CLIENT_SECRET,
                                              authority=f"{sandbox.login_url}/{tenant}",
                                              token_cache=msal.SerializableTokenCache(), **kwargs)


def sign_in(sandbox, app, address: str, action: str = "accept", **flow_kwargs) -> tuple[dict, dict]:
    """Run the browser part: open auth_uri, submit the page; (flow, redirect query)."""
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, login_hint=address, **flow_kwargs)
    page = requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    form = parse_form(page.text)
    mailbox = sandbox.world.mailbox_by_address(address)
    assert [a["id"] for a in form.accounts] == [mailbox.id]
    answer = requests.post(sandbox.login_url + form.action, data={**form.hidden, "action": action,
                                                                  "account": mailbox.id},
                           verify=sandbox.ca_path, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return flow, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def refresh_token_secrets(app) -> set[str]:
    state = json.loads(app.token_cache.serialize())
    return {rt["secret"] for rt in state["RefreshToken"].values()}


def test_auth_code_flow_cache_silent_refresh_and_graph(msal_env, sandbox):
    app = make_app(sandbox)
    flow, query = sign_in(sandbox, app, "alice@contoso.com")
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert "access_token" in result, result
    alice = sandbox.world.mailbox_by_address("alice@contoso.com")
    assert result["id_token_claims"]["oid"] == alice.id  # MSAL checked the nonce on the way

    accounts = app.get_accounts()
    assert [(a["username"], a["home_account_id"], a["realm"]) for a in accounts] == \
        [("alice@contoso.com", f"{alice.id}.{CONTOSO_ID}", "common")]

    cached = app.acquire_token_silent(SCOPES, account=accounts[0])
    assert cached["token_source"] == "cache" and cached["access_token"] == result["access_token"]

    before = refresh_token_secrets(app)
    refreshed = app.acquire_token_silent(SCOPES, account=accounts[0], force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]
    assert refresh_token_secrets(app) and refresh_token_secrets(app) != before

    me = requests.get(sandbox.graph_url + "/me", headers={"Authorization": "Bearer " + refreshed["access_token"]},
                      verify=sandbox.ca_path, timeout=10)
    assert me.status_code == 200 and me.json()["id"] == alice.id


def test_revoked_refresh_token_surfaces_invalid_grant(msal_env, sandbox, control):
    app = make_app(sandbox)
    flow, query = sign_in(sandbox, app, "bob@contoso.com")
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, query)
    control.post("/tokens/expire", json={"mailbox": "bob@contoso.com", "kind": "refresh", "revoke": True})
    account = app.get_accounts()[0]
    error = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert error["error"] == "invalid_grant" and 50173 in error["error_codes"]
    assert app.acquire_token_silent(SCOPES, account=account, force_refresh=True) is None


def test_state_mismatch_raises_in_msal(msal_env, sandbox):
    app = make_app(sandbox)
    flow, query = sign_in(sandbox, app, "alice@contoso.com")
    with pytest.raises(ValueError, match="state mismatch"):
        app.acquire_token_by_auth_code_flow(flow, {**query, "state": "forged"})


def test_cancel_comes_back_as_access_denied(msal_env, sandbox):
    app = make_app(sandbox)
    flow, query = sign_in(sandbox, app, "alice@contoso.com", action="cancel")
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert result["error"] == "access_denied"
    assert result["error_description"].startswith("AADSTS65004")


def test_tenant_guid_authority(msal_env, sandbox):
    app = make_app(sandbox, CONTOSO_ID)
    flow, query = sign_in(sandbox, app, "bob@contoso.com")
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert result["id_token_claims"]["iss"] == f"{sandbox.login_url}/{CONTOSO_ID}/v2.0"
    [account] = app.get_accounts()
    assert account["realm"] == CONTOSO_ID and account["username"] == "bob@contoso.com"
    assert app.acquire_token_silent(SCOPES, account=account)["token_source"] == "cache"


def test_consumers_authority_with_a_personal_account(msal_env, sandbox):
    app = make_app(sandbox, "consumers")
    flow, query = sign_in(sandbox, app, "carol@outlook.com")
    result = app.acquire_token_by_auth_code_flow(flow, query)
    carol = sandbox.world.mailbox_by_address("carol@outlook.com")
    assert result["id_token_claims"]["tid"] == MSA_TENANT_ID
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{carol.id}.{MSA_TENANT_ID}"
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider"


class VerifyingSession(requests.Session):
    """Passes ``verify`` per request, which beats ``REQUESTS_CA_BUNDLE``."""

    def __init__(self, ca_path: str):
        super().__init__()
        self.ca_path = ca_path

    def request(self, method, url, **kwargs):
        kwargs["verify"] = self.ca_path
        kwargs.setdefault("timeout", 10)
        return super().request(method, url, **kwargs)


def test_http_client_that_verifies_per_request_works_with_the_env_bundle_set(sandbox):
    app = make_app(sandbox, http_client=VerifyingSession(sandbox.ca_path), verify=True)
    flow, query = sign_in(sandbox, app, "alice@contoso.com")
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, query)


def test_instance_discovery_through_the_sandbox(msal_env, sandbox):
    # MSAL asks the given endpoint whether the authority is known and where its document is.
    app = make_app(sandbox, instance_discovery=sandbox.login_url + "/common/discovery/instance")
    flow, query = sign_in(sandbox, app, "alice@contoso.com")
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, query)
