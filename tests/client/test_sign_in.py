"""Sign-in through MSAL against the sandbox's identity platform: the
auth-code flow with PKCE (consent page and auto-consent), silent refresh from
a serialized cache, and re-authentication when the refresh token is dead."""
from __future__ import annotations

import html
import logging
import re
import threading
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from outlook_sync.auth import (GRAPH_SCOPES, MicrosoftSignIn, authority_url, discover_mailbox,
                               is_microsoft_authority)
from outlook_sync.client import GraphClient
from outlook_sync.errors import ReauthenticationRequired, SignInError
from tests.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

# MSAL 1.39 nudges towards form_post on every flow; the query mode is a deliberate default.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")


def _sign_in_object(sandbox, **kwargs) -> MicrosoftSignIn:
    return MicrosoftSignIn(CLIENT_ID, CLIENT_SECRET, tenant="common", login_url=sandbox.login_url,
                           verify=sandbox.ca_path, **kwargs)


def _redirect_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return dict(parse_qsl(urlsplit(location).query))


def _consent_page_answer(sandbox, auth_uri: str, action: str = "accept") -> dict[str, str]:
    """Play the browser: open the sign-in page, pick the account, press the button."""
    browser = requests.Session()
    page = browser.get(auth_uri, verify=sandbox.ca_path, allow_redirects=False, timeout=10)
    assert page.status_code == 200 and "<form" in page.text
    form_action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    fields = {html.unescape(name): html.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    fields["account"] = html.unescape(re.search(r'name="account" value="([^"]+)"', page.text).group(1))
    fields["action"] = action
    answer = browser.post(urljoin(auth_uri, form_action), data=fields, verify=sandbox.ca_path,
                          allow_redirects=False, timeout=10)
    return _redirect_params(answer)


def _signed_in(sandbox) -> MicrosoftSignIn:
    sandbox.world.auto_consent = True
    signin = _sign_in_object(sandbox)
    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")
    answer = requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False, timeout=10)
    signin.finish_sign_in(flow, _redirect_params(answer))
    return signin


def test_full_auth_code_flow_through_the_consent_page(sandbox):
    signin = _sign_in_object(sandbox)

    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")
    query = dict(parse_qsl(urlsplit(flow["auth_uri"]).query))
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert set(query["scope"].split()) == {*GRAPH_SCOPES, "openid", "profile", "offline_access"}
    account = signin.finish_sign_in(flow, _consent_page_answer(sandbox, flow["auth_uri"]))

    assert account.username == "alice@contoso.com"
    assert account.home_account_id and signin.home_account_id == account.home_account_id
    assert signin.cache_changed
    client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path)
    mailbox = discover_mailbox(client)
    assert mailbox.address == "alice@contoso.com" and mailbox.display_name == "Alice Martin"
    assert mailbox.aliases == ()
    # the mailbox's other addresses (proxyAddresses' "smtp:" entries, not the primary one)
    sandbox.world.mailbox_by_address("alice@contoso.com").aliases.extend(["A.Martin@contoso.com", "alice@contoso.com"])
    assert discover_mailbox(client).aliases == ("a.martin@contoso.com",)


def test_form_post_response_mode(sandbox):
    sandbox.world.auto_consent = True
    signin = _sign_in_object(sandbox)
    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com", response_mode="form_post")

    page = requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False, timeout=10)
    assert page.status_code == 200 and REDIRECT_URI in html.unescape(page.text)
    posted = {html.unescape(name): html.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}

    assert signin.finish_sign_in(flow, posted).username == "alice@contoso.com"


def test_declining_consent_is_a_sign_in_error(sandbox):
    signin = _sign_in_object(sandbox)
    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")

    with pytest.raises(SignInError) as caught:
        signin.finish_sign_in(flow, _consent_page_answer(sandbox, flow["auth_uri"], action="cancel"))

    assert caught.value.error == "access_denied" and caught.value.error_codes == (65004,)
    assert not isinstance(caught.value, ReauthenticationRequired)


def test_an_answer_for_another_sign_in_is_refused(sandbox):
    sandbox.world.auto_consent = True
    signin = _sign_in_object(sandbox)
    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")
    answer = _redirect_params(requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False,
                                           timeout=10))

    with pytest.raises(SignInError) as caught:
        signin.finish_sign_in(flow, {**answer, "state": "forged"})

    assert caught.value.error == "invalid_auth_response"
    assert "forged" not in str(caught.value)


def test_a_code_cannot_be_redeemed_twice(sandbox):
    sandbox.world.auto_consent = True
    signin = _sign_in_object(sandbox)
    flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")
    answer = _redirect_params(requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False,
                                           timeout=10))
    signin.finish_sign_in(dict(flow), answer)

    with pytest.raises(SignInError) as caught:
        _sign_in_object(sandbox).finish_sign_in(dict(flow), answer)

    assert caught.value.error == "invalid_grant" and caught.value.error_codes == (54005,)


def test_silent_refresh_from_a_serialized_cache(sandbox):
    first = _signed_in(sandbox)
    stored_cache, stored_account = first.serialize_cache(), first.home_account_id
    assert not first.cache_changed  # serializing resets the flag

    later = _sign_in_object(sandbox, token_cache=stored_cache, home_account_id=stored_account)
    cached = later.get_token()
    assert not later.cache_changed  # served from the cache
    refreshed = later.get_token(force_refresh=True)

    assert refreshed != cached
    assert later.cache_changed  # new access and refresh tokens to store
    client = GraphClient(later, base_url=sandbox.graph_url, verify=sandbox.ca_path)
    assert client.get_me()["mail"] == "alice@contoso.com"


def test_graph_401_makes_the_client_refresh_through_msal(sandbox):
    signin = _signed_in(sandbox)
    client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path)
    client.get_me()
    sandbox.world.clock.advance(2 * 3600)  # Graph sees the access token expired; MSAL's clock does not

    assert client.get_me()["mail"] == "alice@contoso.com"
    assert client.stats == {"GET me": 2, "retry": 1}


def test_a_revoked_refresh_token_requires_reauthentication(sandbox, control):
    signin = _signed_in(sandbox)
    revoked = control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "kind": "refresh",
                                                   "revoke": True})
    assert revoked.status_code == 200, revoked.text

    with pytest.raises(ReauthenticationRequired) as caught:
        signin.get_token(force_refresh=True)

    assert caught.value.error == "invalid_grant" and caught.value.error_codes == (50173,)


def test_an_expired_refresh_token_requires_reauthentication(sandbox):
    signin = _signed_in(sandbox)
    sandbox.world.clock.advance(200 * 86400)

    with pytest.raises(ReauthenticationRequired) as caught:
        signin.get_token(force_refresh=True)

    assert caught.value.error_codes == (700082,)


def test_the_client_surfaces_reauthentication_required(sandbox, control):
    signin = _signed_in(sandbox)
    client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path)
    control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "kind": "all", "revoke": True})

    with pytest.raises(ReauthenticationRequired):
        client.get_me()
    assert client.stats == {"GET me": 1}


def test_an_empty_cache_requires_sign_in(sandbox):
    with pytest.raises(ReauthenticationRequired) as caught:
        _sign_in_object(sandbox).get_token()
    assert caught.value.error == "no_account"


def test_verify_is_passed_per_request_despite_requests_ca_bundle(sandbox, monkeypatch):
    # The system bundle does not hold the sandbox CA: a Session.verify alone would fail.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    signin = _signed_in(sandbox)
    client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path)
    assert client.get_me()["mail"] == "alice@contoso.com"


def test_authorities():
    assert authority_url("https://login.microsoftonline.com/", "organizations") == \
        "https://login.microsoftonline.com/organizations"
    assert authority_url("https://127.0.0.1:8443", "72f988bf-86f1-41af-91ab-2d7cd011db47").endswith(
        "/72f988bf-86f1-41af-91ab-2d7cd011db47")
    with pytest.raises(ValueError):
        authority_url("http://127.0.0.1:8080", "common")  # MSAL accepts https only
    with pytest.raises(ValueError):
        authority_url("https://login.microsoftonline.com", "common/oauth2")
    assert is_microsoft_authority("https://login.microsoftonline.com/consumers")
    assert not is_microsoft_authority("https://127.0.0.1:8443/common")


def test_reserved_scopes_are_refused():
    with pytest.raises(ValueError):
        MicrosoftSignIn(CLIENT_ID, CLIENT_SECRET, scopes=(*GRAPH_SCOPES, "offline_access"))


def test_secrets_and_tokens_stay_out_of_logs_and_errors(sandbox, control, caplog):
    errors: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        sandbox.world.auto_consent = True
        signin = _sign_in_object(sandbox)
        flow = signin.start_sign_in(REDIRECT_URI, login_hint="alice@contoso.com")
        answer = _redirect_params(requests.get(flow["auth_uri"], verify=sandbox.ca_path, allow_redirects=False,
                                               timeout=10))
        signin.finish_sign_in(flow, answer)
        client = GraphClient(signin, base_url=sandbox.graph_url, verify=sandbox.ca_path)
        client.get_me()
        token = signin.get_token(force_refresh=True)
        control.post("/tokens/expire", json={"mailbox": "alice@contoso.com", "kind": "all", "revoke": True})
        try:
            client.get_me()
        except ReauthenticationRequired as exc:
            errors.append(exc)

    cache = signin.serialize_cache()
    secrets_ = [CLIENT_SECRET, answer["code"], flow["code_verifier"], token,
                *re.findall(r'"secret": "([^"]+)"', cache)]
    assert len(secrets_) >= 6 and errors
    texts = [caplog.text, *map(str, errors), *map(repr, errors), repr(signin), repr(client)]
    for secret in secrets_:
        assert all(secret not in text for text in texts), f"secret #{secrets_.index(secret)} leaked"


def test_sign_in_discovery_is_fetched_once_per_thread_not_per_application(sandbox, control):
    """A sync run builds an application per account: the OpenID configuration comes from
    MSAL's http cache after the first one, so an idle run costs one Graph request, not two."""
    first = _signed_in(sandbox)
    stored_cache, stored_account = first.serialize_cache(), first.home_account_id
    control.delete("/stats")
    for _ in range(3):
        later = _sign_in_object(sandbox, token_cache=stored_cache, home_account_id=stored_account)
        later.get_token(force_refresh=True)  # builds the application, then a token request
    by_endpoint = control.get("/stats").json()["by_endpoint"]
    discovery = {name: count for name, count in by_endpoint.items() if "openid" in name or "discovery" in name}
    assert sum(discovery.values()) == 0, by_endpoint
    assert sum(count for name, count in by_endpoint.items() if "token" in name) == 3, by_endpoint

    # another thread has a cache of its own (MSAL's locks are per application)
    done = []
    thread = threading.Thread(target=lambda: done.append(
        _sign_in_object(sandbox, token_cache=stored_cache, home_account_id=stored_account).get_token()))
    thread.start()
    thread.join()
    assert done
    by_endpoint = control.get("/stats").json()["by_endpoint"]
    assert sum(count for name, count in by_endpoint.items() if "openid" in name or "discovery" in name) == 1, \
        by_endpoint
