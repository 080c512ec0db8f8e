"""The sandbox's ID tokens verified as any OpenID Connect client verifies
Microsoft's, over HTTPS: PyJWT's PyJWKClient fetches the keys from the
discovery document's ``jwks_uri`` and checks the RS256 signature, ``aud``,
``iss`` (per tenant; the consumer tenant for personal accounts) and ``exp``."""
from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from freezegun import freeze_time

from tests.conftest import CLIENT_ID
from tests.sandbox.test_identity import CONTOSO_ID, MSA_TENANT_ID, Login

REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub"]


@pytest.fixture
def login(sandbox) -> Login:
    return Login(sandbox)


def discovery(login, tenant: str) -> dict:
    response = login.get(f"/{tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    return response.json()


def jwks_client(sandbox, document: dict) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(document["jwks_uri"], cache_keys=False,
                           ssl_context=ssl.create_default_context(cafile=sandbox.ca_path))


def id_token_for(login, address: str, tenant: str = "common", **params) -> str:
    code, verifier = login.code_for(address, tenant, **params)
    response = login.redeem(code, verifier, tenant)
    assert response.status_code == 200, response.text
    return response.json()["id_token"]


def verify(sandbox, login, token: str, tenant: str, tid: str, audience: str = CLIENT_ID) -> dict:
    document = discovery(login, tenant)
    key = jwks_client(sandbox, document).get_signing_key_from_jwt(token)
    issuer = document["issuer"].replace("{tenantid}", tid)  # multi-tenant endpoints publish a placeholder
    return jwt.decode(token, key.key, algorithms=document["id_token_signing_alg_values_supported"],
                      audience=audience, issuer=issuer, options={"require": REQUIRED})


def test_work_account_id_token_verifies_with_the_published_key(sandbox, login):
    token = id_token_for(login, "alice@contoso.com", nonce="n-0S6_WzA2Mj")
    alice = sandbox.world.mailbox_by_address("alice@contoso.com")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = verify(sandbox, login, token, "common", CONTOSO_ID)
    assert claims["iss"] == f"{sandbox.login_url}/{CONTOSO_ID}/v2.0"
    assert (claims["tid"], claims["oid"], claims["preferred_username"], claims["name"]) == \
        (CONTOSO_ID, alice.id, "alice@contoso.com", "Alice Martin")
    assert claims["nonce"] == "n-0S6_WzA2Mj" and claims["ver"] == "2.0" and claims["aud"] == CLIENT_ID
    assert claims["nbf"] <= claims["iat"] < claims["exp"] == claims["iat"] + 3600
    # The tenant's own discovery document names the same issuer, without a placeholder.
    assert discovery(login, CONTOSO_ID)["issuer"] == claims["iss"]
    assert verify(sandbox, login, token, CONTOSO_ID, CONTOSO_ID)["sub"] == claims["sub"]


def test_personal_account_carries_the_consumer_tenant_everywhere(sandbox, login, control):
    token = id_token_for(login, "carol@outlook.com", "consumers")
    claims = verify(sandbox, login, token, "consumers", MSA_TENANT_ID)
    assert claims["tid"] == MSA_TENANT_ID and claims["iss"] == f"{sandbox.login_url}/{MSA_TENANT_ID}/v2.0"
    assert discovery(login, "consumers")["issuer"] == claims["iss"]
    assert verify(sandbox, login, id_token_for(login, "carol@outlook.com"), "common", MSA_TENANT_ID)["tid"] \
        == MSA_TENANT_ID
    carol = next(m for m in control.get("/mailboxes").json()["value"] if m["address"] == "carol@outlook.com")
    assert carol["tenant_id"] == MSA_TENANT_ID and carol["tenant"] is None
    assert sandbox.world.mailbox_by_address("carol@outlook.com").tenant_id == MSA_TENANT_ID


def test_no_nonce_asked_no_nonce_claim(sandbox, login):
    claims = verify(sandbox, login, id_token_for(login, "alice@contoso.com"), "common", CONTOSO_ID)
    assert "nonce" not in claims


def test_tampered_token_wrong_audience_and_wrong_issuer_are_refused(sandbox, login):
    token = id_token_for(login, "alice@contoso.com")
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"Alice Martin"', b'"Mallory Xx"')).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify(sandbox, login, f"{header}.{forged_payload}.{signature}", "common", CONTOSO_ID)
    with pytest.raises(jwt.InvalidAudienceError):
        verify(sandbox, login, token, "common", CONTOSO_ID, audience="another-app")
    with pytest.raises(jwt.InvalidIssuerError):
        verify(sandbox, login, token, "consumers", MSA_TENANT_ID)


def test_expired_id_token_is_refused(sandbox, login):
    token = id_token_for(login, "alice@contoso.com")
    document = discovery(login, "common")
    key = jwks_client(sandbox, document).get_signing_key_from_jwt(token)
    with freeze_time(datetime.now(timezone.utc) + timedelta(hours=1, minutes=1)):
        with pytest.raises(jwt.ExpiredSignatureError):
            jwt.decode(token, key.key, algorithms=["RS256"], audience=CLIENT_ID,
                       issuer=f"{sandbox.login_url}/{CONTOSO_ID}/v2.0")


def test_keys_document_matches_the_token_header(sandbox, login):
    token = id_token_for(login, "alice@contoso.com")
    keys = login.get("/common/discovery/v2.0/keys").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert [k["kid"] for k in keys] == [kid] and keys[0]["x5t"] == kid and keys[0]["e"] == "AQAB"
    assert keys[0]["x5c"] and keys[0]["issuer"] == f"{sandbox.login_url}/{{tenantid}}/v2.0"
    tenant_keys = login.get(f"/{CONTOSO_ID}/discovery/v2.0/keys").json()["keys"]
    assert tenant_keys[0]["issuer"] == f"{sandbox.login_url}/{CONTOSO_ID}/v2.0"
