"""The identity platform v2.0 over HTTP: discovery, the sign-in/consent page,
the token endpoint and its AADSTS errors, and the identity control hooks."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from outlook_sandbox.signin_form import parse_sign_in_form as parse_form

from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

CONTOSO_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
SCOPES = "https://graph.microsoft.com/Calendars.ReadWrite User.Read offline_access openid profile"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def claims_of(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Login:
    """Drives /authorize and /token like a browser plus a web app would."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def url(self, path: str) -> str:
        return self.sandbox.login_url + path

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url(path), verify=self.sandbox.ca_path, allow_redirects=False, timeout=10, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url(path), verify=self.sandbox.ca_path, allow_redirects=False, timeout=10, **kw)

    def authorize(self, tenant: str = "common", **params) -> requests.Response:
        query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
                 "scope": SCOPES, "state": "st-" + secrets.token_hex(4), **params}
        return self.get(f"/{tenant}/oauth2/v2.0/authorize?" + urlencode({k: v for k, v in query.items()
                                                                          if v is not None}))

    def submit(self, page: requests.Response, address: str | None, action: str = "accept") -> requests.Response:
        form = parse_form(page.text)
        data = {**form.hidden, "action": action}
        if address:
            mailbox = self.sandbox.world.mailbox_by_address(address)
            data["account"] = mailbox.id
        return self.post(form.action, data=data)

    def code_for(self, address: str, tenant: str = "common", **params) -> tuple[str, str]:
        """Sign in through the page; returns (code, the verifier of its S256 challenge)."""
        verifier, challenge = pkce_pair()
        page = self.authorize(tenant, code_challenge=challenge, code_challenge_method="S256", **params)
        assert page.status_code == 200, page.text
        answer = self.submit(page, address)
        assert answer.status_code == 302, answer.text
        return redirect_params(answer)["code"], verifier

    def token(self, tenant: str = "common", auth=None, **form) -> requests.Response:
        body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
        return self.post(f"/{tenant}/oauth2/v2.0/token", data={k: v for k, v in body.items() if v is not None},
                         auth=auth)

    def redeem(self, code: str, verifier: str, tenant: str = "common", **form) -> requests.Response:
        form = {"redirect_uri": REDIRECT_URI, "scope": SCOPES, "client_info": "1", **form}
        return self.token(tenant, grant_type="authorization_code", code=code, code_verifier=verifier, **form)

    def tokens_for(self, address: str, tenant: str = "common") -> dict:
        code, verifier = self.code_for(address, tenant)
        response = self.redeem(code, verifier, tenant)
        assert response.status_code == 200, response.text
        return response.json()


def redirect_params(response: requests.Response) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_aadsts(response: requests.Response, status: int, error: str, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)
    return body


def assert_error_page(response: requests.Response, code: int) -> None:
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"AADSTS{code}:" in response.text


@pytest.fixture
def login(sandbox) -> Login:
    return Login(sandbox)


# -- discovery ------------------------------------------------------------------------


@pytest.mark.parametrize("tenant, issuer_tenant, endpoint_tenant", [
    ("common", "{tenantid}", "common"),
    ("organizations", "{tenantid}", "organizations"),
    ("consumers", MSA_TENANT_ID, "consumers"),
    (CONTOSO_ID, CONTOSO_ID, CONTOSO_ID),
    ("contoso.com", CONTOSO_ID, CONTOSO_ID),
    ("contoso.onmicrosoft.com", CONTOSO_ID, CONTOSO_ID),
])
def test_discovery_document_per_tenant_kind(login, sandbox, tenant, issuer_tenant, endpoint_tenant):
    response = login.get(f"/{tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=86400, private"
    doc = response.json()
    base = sandbox.login_url
    assert doc["issuer"] == f"{base}/{issuer_tenant}/v2.0"
    assert doc["authorization_endpoint"] == f"{base}/{endpoint_tenant}/oauth2/v2.0/authorize"
    assert doc["token_endpoint"] == f"{base}/{endpoint_tenant}/oauth2/v2.0/token"
    assert doc["jwks_uri"] == f"{base}/{endpoint_tenant}/discovery/v2.0/keys"
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]


def test_discovery_over_plain_http_still_advertises_https(sandbox):
    response = requests.get(f"{sandbox.http_base_url}/common/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.json()["token_endpoint"] == f"https://127.0.0.1:{sandbox.http_port}/common/oauth2/v2.0/token"


@pytest.mark.parametrize("tenant, error, code", [
    ("fabrikam.com", "invalid_tenant", 90002),
    ("00000000-0000-0000-0000-000000000001", "invalid_tenant", 90002),
    ("not a tenant", "invalid_request", 900023),
])
def test_discovery_of_unknown_tenant_is_a_json_error(login, tenant, error, code):
    body = assert_aadsts(login.get(f"/{tenant}/v2.0/.well-known/openid-configuration"), 400, error, code)
    if code == 90002:
        assert f"Tenant '{tenant}' not found" in body["error_description"]


def test_keys_and_instance_discovery(login, sandbox):
    keys = login.get("/common/discovery/v2.0/keys").json()["keys"]
    assert [(k["kty"], k["use"], k["issuer"]) for k in keys] == [("RSA", "sig", f"{sandbox.login_url}/{{tenantid}}/v2.0")]
    authorize = f"{sandbox.login_url}/{CONTOSO_ID}/oauth2/v2.0/authorize"
    found = login.get("/common/discovery/instance", params={"authorization_endpoint": authorize,
                                                            "api-version": "1.1"}).json()
    assert found["tenant_discovery_endpoint"] == \
        f"{sandbox.login_url}/{CONTOSO_ID}/v2.0/.well-known/openid-configuration"
    assert found["metadata"][0]["aliases"] == ["127.0.0.1"]
    other = login.get("/common/discovery/instance", params={
        "authorization_endpoint": "https://login.example.com/common/oauth2/v2.0/authorize"})
    assert other.status_code == 400 and other.json()["error"] == "invalid_instance"


# -- the sign-in and consent page --------------------------------------------------------


def test_consent_page_accept_redirects_with_code_and_state(login, sandbox):
    page = login.authorize(state="my-state", nonce="n-1")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Odoo Calendar Sync" in page.text
    assert "Have full access to your calendars" in page.text and "Sign you in and read your profile" in page.text
    form = parse_form(page.text)
    world = sandbox.world
    assert {a["id"] for a in form.accounts} == set(world.mailboxes)
    assert set(form.buttons) == {"accept", "cancel"}
    answer = login.submit(page, "bob@contoso.com")
    params = redirect_params(answer)
    assert params["state"] == "my-state" and params["code"]
    bob = world.mailbox_by_address("bob@contoso.com")
    assert world.consents[(bob.id, CLIENT_ID)] >= {"calendars.readwrite", "user.read"}


@pytest.mark.parametrize("tenant, expected", [
    ("organizations", {"alice@contoso.com", "bob@contoso.com"}),
    ("consumers", {"carol@outlook.com"}),
    (CONTOSO_ID, {"alice@contoso.com", "bob@contoso.com"}),
    ("common", {"alice@contoso.com", "bob@contoso.com", "carol@outlook.com"}),
])
def test_accounts_offered_follow_the_tenant(login, sandbox, tenant, expected):
    form = parse_form(login.authorize(tenant).text)
    assert {sandbox.world.mailboxes[a["id"]].address for a in form.accounts} == expected


def test_login_hint_offers_only_that_account_preselected(login, sandbox):
    form = parse_form(login.authorize(login_hint="Alice@Contoso.com").text)
    alice = sandbox.world.mailbox_by_address("alice@contoso.com")
    assert form.accounts == [{"id": alice.id, "checked": True}]


def test_cancel_redirects_access_denied_with_state(login):
    answer = login.submit(login.authorize(state="s-cancel"), None, action="cancel")
    params = redirect_params(answer)
    assert params["error"] == "access_denied"
    assert params["error_description"] == "AADSTS65004: User declined to consent to access the app."
    assert params["state"] == "s-cancel" and "code" not in params


def test_page_can_be_submitted_once_and_only_with_its_flow_token(login):
    page = login.authorize()
    assert login.submit(page, "alice@contoso.com").status_code == 302
    assert_error_page(login.submit(page, "alice@contoso.com"), 50089)
    forged = login.post("/common/oauth2/v2.0/authorize", data={"flow_token": "guess", "action": "accept"})
    assert_error_page(forged, 50089)


def test_page_expires(login, sandbox):
    page = login.authorize()
    sandbox.world.clock.advance(31 * 60)
    assert_error_page(login.submit(page, "alice@contoso.com"), 50089)


def test_auto_consent_skips_the_page_for_a_known_account(login, control):
    assert control.post("/consent", json={"auto_consent": True}).json() == {"auto_consent": True}
    direct = login.authorize(login_hint="alice@contoso.com", prompt="consent", state="auto")
    assert direct.status_code == 302 and redirect_params(direct)["state"] == "auto"
    single = login.authorize("consumers")
    assert single.status_code == 302 and "code" in redirect_params(single)
    several = login.authorize("organizations")
    assert several.status_code == 200 and len(parse_form(several.text).accounts) == 2


def test_previous_consent_with_login_hint_skips_the_page_unless_prompt_consent(login, control):
    login.code_for("alice@contoso.com")
    again = login.authorize(login_hint="alice@contoso.com")
    assert again.status_code == 302 and "code" in redirect_params(again)
    assert login.authorize(login_hint="alice@contoso.com", prompt="consent").status_code == 200
    # Without a hint the user still picks an account.
    assert login.authorize().status_code == 200
    # More permissions than consented: the page again.
    assert login.authorize(login_hint="alice@contoso.com", scope=SCOPES + " Calendars.Read").status_code == 200
    assert control.delete("/consents").status_code == 204
    assert login.authorize(login_hint="alice@contoso.com").status_code == 200


def test_form_post_response_mode_auto_submits_to_the_redirect_uri(login):
    answer = login.submit(login.authorize(response_mode="form_post", state="fp"), "alice@contoso.com")
    assert answer.status_code == 200
    form = parse_form(answer.text)
    assert form.action == REDIRECT_URI
    assert form.hidden["state"] == "fp" and form.hidden["code"]
    assert "document.forms[0].submit()" in answer.text


def test_authorize_request_may_be_posted_and_answer_in_the_fragment(login):
    form = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI, "scope": SCOPES,
            "state": "posted", "response_mode": "fragment"}
    page = login.post("/organizations/oauth2/v2.0/authorize", data=form)
    assert page.status_code == 200 and len(parse_form(page.text).accounts) == 2
    answer = login.submit(page, "bob@contoso.com")
    fragment = parse_qs(urlsplit(answer.headers["Location"]).fragment)
    assert fragment["state"] == ["posted"] and fragment["code"]


def test_prompt_none_never_shows_the_page(login):
    params = redirect_params(login.authorize(prompt="none", state="silent"))
    assert params["error"] == "login_required" and params["error_description"].startswith("AADSTS50058")
    assert params["state"] == "silent"
    params = redirect_params(login.authorize(prompt="none", login_hint="alice@contoso.com"))
    assert params["error"] == "consent_required" and params["error_description"].startswith("AADSTS65001")
    login.code_for("alice@contoso.com")
    assert "code" in redirect_params(login.authorize(prompt="none", login_hint="alice@contoso.com"))


def test_logout(login):
    page = login.get("/common/oauth2/v2.0/logout")
    assert page.status_code == 200 and "You signed out" in page.text
    back = login.get("/common/oauth2/v2.0/logout?" + urlencode({"post_logout_redirect_uri": REDIRECT_URI}))
    assert back.status_code == 302 and back.headers["Location"] == REDIRECT_URI
    elsewhere = login.get("/common/oauth2/v2.0/logout?post_logout_redirect_uri=https://evil.example/")
    assert elsewhere.status_code == 200 and "Location" not in elsewhere.headers


def test_client_info_is_returned_when_asked(login, sandbox):
    answer = login.submit(login.authorize(client_info="1"), "carol@outlook.com")
    info = claims_of("x." + redirect_params(answer)["client_info"])
    assert info == {"uid": sandbox.world.mailbox_by_address("carol@outlook.com").id, "utid": MSA_TENANT_ID}


def test_authorize_errors_on_the_client_are_pages_never_redirects(login):
    assert_error_page(login.authorize(client_id="00000000-1111-2222-3333-444444444444"), 700016)
    assert_error_page(login.authorize(redirect_uri="https://evil.example/callback"), 50011)
    assert_error_page(login.authorize(client_id=None), 900144)
    assert_error_page(login.authorize(scope=None), 900144)
    assert_error_page(login.authorize("nowhere.example"), 90002)


def test_authorize_errors_after_the_redirect_uri_is_trusted_go_back_to_the_client(login):
    params = redirect_params(login.authorize(response_type="token", state="rt"))
    assert params["error"] == "unsupported_response_type" and params["state"] == "rt"
    params = redirect_params(login.authorize(scope="openid https://other.example/Things.Read"))
    assert params["error"] == "invalid_scope" and params["error_description"].startswith("AADSTS70011")


def test_login_hint_of_an_account_the_tenant_refuses(login):
    assert_error_page(login.authorize("organizations", login_hint="carol@outlook.com"), 50020)
    assert_error_page(login.authorize("consumers", login_hint="alice@contoso.com"), 50020)


def test_single_tenant_app_uses_its_own_tenant_only(login, sandbox):
    sandbox.world.add_app("single-tenant-app", "s3cret", [REDIRECT_URI], display_name="Contoso only",
                          tenant_id=CONTOSO_ID, sign_in_audience="AzureADMyOrg")
    assert_error_page(login.authorize(client_id="single-tenant-app"), 50194)
    page = login.authorize(CONTOSO_ID, client_id="single-tenant-app")
    assert page.status_code == 200 and len(parse_form(page.text).accounts) == 2
    sandbox.world.add_mailbox("erin@fabrikam.com")
    assert_error_page(login.authorize(CONTOSO_ID, client_id="single-tenant-app",
                                      login_hint="erin@fabrikam.com"), 50020)


def test_hostile_state_and_login_hint_are_escaped(login, sandbox):
    hostile = '"><script>alert(1)</script>'
    sandbox.world.apps[CLIENT_ID].display_name = "<b>Evil</b> app"
    page = login.authorize(state=hostile, login_hint=hostile)
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<b>Evil</b>" not in page.text
    assert "&lt;script&gt;" in page.text and "&lt;b&gt;Evil&lt;/b&gt;" in page.text
    posted = login.submit(login.authorize(state=hostile, response_mode="form_post"), "alice@contoso.com")
    assert "<script>alert(1)" not in posted.text
    assert parse_form(posted.text).hidden["state"] == hostile


# -- /token: authorization code ----------------------------------------------------------


@pytest.mark.parametrize("method", ["S256", "plain", None])
def test_code_redeemed_with_pkce(login, sandbox, method):
    verifier, challenge = pkce_pair()
    if method != "S256":
        challenge = verifier  # plain, which is also the default method
    page = login.authorize(code_challenge=challenge, code_challenge_method=method, nonce="nonce-abc")
    code = redirect_params(login.submit(page, "alice@contoso.com"))["code"]
    response = login.redeem(code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store, no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    assert body["scope"].split() == ["https://graph.microsoft.com/Calendars.ReadWrite", "User.Read",
                                     "openid", "profile"]
    alice = sandbox.world.mailbox_by_address("alice@contoso.com")
    claims = claims_of(body["id_token"])
    assert claims["nonce"] == "nonce-abc" and claims["aud"] == CLIENT_ID
    assert claims["iss"] == f"{sandbox.login_url}/{CONTOSO_ID}/v2.0"
    assert (claims["oid"], claims["tid"], claims["preferred_username"]) == (alice.id, CONTOSO_ID, alice.address)
    assert claims["exp"] > claims["iat"]
    assert claims_of("x." + body["client_info"]) == {"uid": alice.id, "utid": CONTOSO_ID}
    assert body["refresh_token"] in sandbox.world.refresh_tokens
    me = requests.get(sandbox.graph_url + "/me", headers={"Authorization": "Bearer " + body["access_token"]},
                      verify=sandbox.ca_path, timeout=10)
    assert me.json()["userPrincipalName"] == "alice@contoso.com"


def test_wrong_pkce_verifier_is_501481(login):
    code, _ = login.code_for("alice@contoso.com")
    assert_aadsts(login.redeem(code, "x" * 43), 400, "invalid_grant", 501481)
    assert_aadsts(login.redeem(code, None), 400, "invalid_grant", 501481)


def test_code_is_single_use(login):
    code, verifier = login.code_for("alice@contoso.com")
    assert login.redeem(code, verifier).status_code == 200
    assert_aadsts(login.redeem(code, verifier), 400, "invalid_grant", 54005)


def test_code_expires_after_ten_minutes(login, sandbox):
    code, verifier = login.code_for("alice@contoso.com")
    sandbox.world.clock.advance(601)
    assert_aadsts(login.redeem(code, verifier), 400, "invalid_grant", 70008)


def test_redirect_uri_must_be_the_authorize_one(login):
    code, verifier = login.code_for("alice@contoso.com")
    assert_aadsts(login.redeem(code, verifier, redirect_uri="http://localhost:8069/other"),
                  400, "invalid_grant", 500112)


def test_client_authentication_errors(login, sandbox):
    code, verifier = login.code_for("alice@contoso.com")
    body = assert_aadsts(login.redeem(code, verifier, client_id="00000000-1111-2222-3333-444444444444"),
                         400, "invalid_client", 700016)
    assert "was not found in the directory" in body["error_description"]
    body = assert_aadsts(login.redeem(code, verifier, client_secret="wrong-secret-value"),
                         400, "invalid_client", 7000215)
    assert "wrong-secret-value" not in json.dumps(body)
    assert_aadsts(login.redeem(code, verifier, client_secret=None), 400, "invalid_client", 7000218)
    assert_aadsts(login.token(grant_type=None, code=code), 400, "invalid_request", 900144)
    assert_aadsts(login.token(grant_type="password", username="a", password="b"),
                  400, "unsupported_grant_type", 70003)
    assert_aadsts(login.redeem(code, verifier, redirect_uri=None), 400, "invalid_request", 900144)
    sandbox.world.apps[CLIENT_ID].secrets[0].expires_at = sandbox.world.clock.now()
    assert_aadsts(login.redeem(code, verifier), 400, "invalid_client", 7000222)


def test_http_basic_client_authentication(login):
    code, verifier = login.code_for("alice@contoso.com")
    wrong = login.redeem(code, verifier, client_id=None, client_secret=None, auth=(CLIENT_ID, "nope"))
    assert_aadsts(wrong, 401, "invalid_client", 7000215)
    right = login.redeem(code, verifier, client_id=None, client_secret=None, auth=(CLIENT_ID, CLIENT_SECRET))
    assert right.status_code == 200 and right.json()["access_token"]


def test_no_offline_access_no_refresh_token_and_no_openid_no_id_token(login):
    code, verifier = login.code_for("alice@contoso.com", scope="User.Read")
    body = login.redeem(code, verifier, scope="User.Read").json()
    assert body["scope"] == "User.Read"
    assert "refresh_token" not in body and "id_token" not in body


def test_token_endpoint_applies_tenant_rules(login):
    carol = login.tokens_for("carol@outlook.com", "consumers")
    assert claims_of(carol["id_token"])["tid"] == MSA_TENANT_ID
    refused = login.token("organizations", grant_type="refresh_token", refresh_token=carol["refresh_token"])
    assert_aadsts(refused, 400, "invalid_grant", 50020)
    alice = login.tokens_for("alice@contoso.com")
    refused = login.token("consumers", grant_type="refresh_token", refresh_token=alice["refresh_token"])
    assert_aadsts(refused, 400, "invalid_grant", 50020)
    accepted = login.token(CONTOSO_ID, grant_type="refresh_token", refresh_token=alice["refresh_token"])
    assert accepted.status_code == 200


# -- /token: refresh tokens --------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_stays_valid(login, sandbox):
    first = login.tokens_for("alice@contoso.com")
    scope = "https://graph.microsoft.com/Calendars.ReadWrite offline_access openid profile"
    second = login.token(grant_type="refresh_token", refresh_token=first["refresh_token"], scope=scope)
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "https://graph.microsoft.com/Calendars.ReadWrite openid profile"
    assert "nonce" not in claims_of(second["id_token"])
    again = login.token(grant_type="refresh_token", refresh_token=first["refresh_token"],
                        scope="openid offline_access")
    assert again.status_code == 200
    assert set(again.json()["scope"].split()) == {"openid", "https://graph.microsoft.com/Calendars.ReadWrite",
                                                  "User.Read"}
    events = requests.get(sandbox.graph_url + "/me", verify=sandbox.ca_path, timeout=10,
                          headers={"Authorization": "Bearer " + again.json()["access_token"]})
    assert events.status_code == 200


def test_expired_refresh_token_is_700082(login, control):
    tokens = login.tokens_for("alice@contoso.com")
    assert control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "kind": "refresh"}).json() \
        == {"changed": 1}
    refused = login.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert_aadsts(refused, 400, "invalid_grant", 700082)


def test_revoked_refresh_token_is_50173(login, control):
    tokens = login.tokens_for("alice@contoso.com")
    control.post("/tokens/expire", json={"kind": "refresh", "revoke": True})
    refused = login.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert_aadsts(refused, 400, "invalid_grant", 50173)


def test_unknown_refresh_token_is_invalid_grant(login):
    refused = login.token(grant_type="refresh_token", refresh_token="M.C5-not-a-token")
    assert_aadsts(refused, 400, "invalid_grant", 9002313)


def test_refresh_for_unconsented_scopes(login, control):
    tokens = login.tokens_for("alice@contoso.com")
    more = login.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                       scope="https://graph.microsoft.com/Mail.Read")
    assert assert_aadsts(more, 400, "invalid_grant", 65001)["suberror"] == "consent_required"
    other = login.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"],
                        scope="https://other.example/Things.Read")
    assert_aadsts(other, 400, "invalid_scope", 70011)
    control.delete("/consents")
    forgotten = login.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert_aadsts(forgotten, 400, "invalid_grant", 65001)


def test_expired_access_tokens_are_refused_by_graph(login, control, sandbox):
    tokens = login.tokens_for("bob@contoso.com")
    assert control.post("/tokens/expire", json={"kind": "access"}).status_code == 200
    me = requests.get(sandbox.graph_url + "/me", headers={"Authorization": "Bearer " + tokens["access_token"]},
                      verify=sandbox.ca_path, timeout=10)
    assert me.status_code == 401
    assert control.post("/tokens/expire", json={"kind": "nope"}).status_code == 400
    assert control.post("/tokens/expire", json={"mailbox": "nobody@contoso.com"}).status_code == 404
