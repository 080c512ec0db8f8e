"""Microsoft identity platform v2.0: OpenID discovery, the sign-in and consent
page (``/authorize``) and the token endpoint (``/token``).

Every URL starts with a *tenant* segment that says who may sign in:
``common`` (work/school and personal accounts), ``organizations`` (work/school
only), ``consumers`` (personal Microsoft accounts only), or one directory by
GUID or by domain (``contoso.com``, ``contoso.onmicrosoft.com``). Personal
accounts all live in Microsoft's one consumer tenant, ``MSA_TENANT_ID``; that
is the ``tid`` their tokens carry.

The authorization-code flow: ``/authorize`` shows a page where the user picks
a sandbox mailbox and consents to the app's permissions, then redirects back
with a single-use ``code`` (10 minutes); ``/token`` trades it (with the client
secret and the PKCE verifier) for an access token, a refresh token (with
``offline_access``) and an id_token (with ``openid``). Refresh tokens rotate:
each refresh returns a new one and the old one stays valid, as at Microsoft.

ID tokens are signed RS256 with the sandbox process's key
(:mod:`outlook_sandbox.signing`), published at the discovery document's
``jwks_uri``, and carry the claims of Microsoft's v2.0 ID tokens, so an
OpenID Connect library verifies them. Known differences: ``iss`` and the
endpoints name the sandbox's host instead of ``login.microsoftonline.com``
(a client checks ``iss`` against the discovery document it fetched from the
sandbox); access tokens are opaque strings, not JWTs (Graph's are not meant
to be read by clients either); the key never rolls over.

Facts and sources: /work/shared/reference/graph-and-msal.md §9 and §10.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from string import Template
from urllib.parse import unquote_plus, urlencode, urlsplit

from ..app import reply
from ..errors import IdentityError
from ..routing import identity_route
from ..signing import b64url, signing_key
from ..store import CONSUMER_TENANT_ID, AppRegistration, Mailbox, RefreshToken, Tenant, World, pkce_s256

MSA_TENANT_ID = CONSUMER_TENANT_ID
ID_TOKEN_LIFETIME = 3600  # Microsoft's ID tokens are valid for one hour (id-token-claims-reference.md)
GRAPH_RESOURCE_PREFIXES = ("https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000/")
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
CODE_LIFETIME = timedelta(minutes=10)
# How long a shown sign-in page may still be submitted (sandbox choice; Microsoft's
# flow token expires too, with AADSTS50089).
SIGN_IN_PAGE_LIFETIME = timedelta(minutes=30)
ACCESS_TOKEN_LIFETIME = 3599
REFRESH_TOKEN_LIFETIME_DAYS = 90

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", re.I)
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# What the consent page says each permission allows (Microsoft's wording).
PERMISSION_DESCRIPTIONS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
    "user.read": "Sign you in and read your profile",
    "calendars.read": "Read your calendars",
    "calendars.readbasic": "Read basic details of your calendars",
    "calendars.readwrite": "Have full access to your calendars",
    "calendars.read.shared": "Read user and shared calendars",
    "calendars.readwrite.shared": "Read and write user and shared calendars",
    "mailboxsettings.read": "Read your mailbox settings",
}


def locked(handler):
    """Identity handlers are dispatched without the world lock; take it here."""
    @wraps(handler)
    def run(ctx, **params):
        with ctx.world.lock:
            return handler(ctx, **params)
    return run


# -- tenants ------------------------------------------------------------------


@dataclass(frozen=True)
class Realm:
    """The tenant segment of a request, resolved."""

    segment: str          # as the client wrote it
    kind: str             # common | organizations | consumers | tenant
    tenant: Tenant | None = None

    @property
    def issuer_tenant(self) -> str:
        # Multi-tenant endpoints publish a literal placeholder, like Microsoft.
        if self.kind == "tenant":
            return self.tenant.id
        return MSA_TENANT_ID if self.kind == "consumers" else "{tenantid}"

    @property
    def endpoint_segment(self) -> str:
        # A domain authority gets endpoints under the tenant's GUID, as at Microsoft.
        return self.tenant.id if self.kind == "tenant" else self.segment

    @property
    def display_name(self) -> str:
        return self.tenant.display_name if self.tenant else self.segment

    def admits(self, mailbox: Mailbox) -> bool:
        if self.kind == "organizations":
            return not mailbox.personal
        if self.kind == "consumers":
            return mailbox.personal
        if self.kind == "tenant":
            return mailbox.tenant_id == self.tenant.id
        return True


def resolve_realm(world: World, segment: str) -> Realm:
    name = segment.lower()
    if name in ("common", "organizations", "consumers"):
        return Realm(segment, name)
    if name == MSA_TENANT_ID:
        return Realm(segment, "consumers")
    if _GUID.match(name):
        tenant = next((t for t in world.tenants.values() if t.id.lower() == name), None)
    elif _DNS_NAME.match(name):
        tenant = next((t for t in world.tenants.values()
                       if name in (t.domain, t.domain.split(".")[0] + ".onmicrosoft.com")), None)
    else:
        raise IdentityError("invalid_request", 900023, f"Specified tenant identifier '{segment}' is neither "
                            "a valid DNS name, nor a valid external domain.")
    if tenant is None:
        raise IdentityError("invalid_tenant", 90002, f"Tenant '{segment}' not found. Check to make sure you "
                            "have the correct tenant ID and are signing into the correct cloud. Check with your "
                            "subscription administrator, this may happen if there are no active subscriptions "
                            "for the tenant.")
    return Realm(segment, "tenant", tenant)


def home_tenant_id(mailbox: Mailbox) -> str:
    return MSA_TENANT_ID if mailbox.personal else mailbox.tenant_id


def audience_admits(app: AppRegistration, mailbox: Mailbox) -> bool:
    """Does the app's sign-in audience (its manifest's signInAudience) take this account?"""
    audience = app.sign_in_audience
    if audience == "AzureADMyOrg":
        return not mailbox.personal and mailbox.tenant_id == app.tenant_id
    if audience == "AzureADMultipleOrgs":
        return not mailbox.personal
    if audience == "PersonalMicrosoftAccount":
        return mailbox.personal
    return True


def account_refusal(world: World, realm: Realm, app: AppRegistration, mailbox: Mailbox) -> IdentityError | None:
    """Why this account may not sign in to this app through this tenant, or None."""
    if realm.admits(mailbox) and audience_admits(app, mailbox):
        return None
    idp = "live.com" if mailbox.personal else f"https://sts.windows.net/{mailbox.tenant_id}/"
    if realm.admits(mailbox):  # refused by the app's audience
        owner = world.tenants.get(app.tenant_id)
        where = owner.display_name if owner else app.tenant_id
    else:
        where = realm.display_name
    return IdentityError("invalid_grant", 50020, f"User account '{mailbox.address}' from identity provider "
                         f"'{idp}' does not exist in tenant '{where}' and cannot access the application "
                         f"'{app.client_id}'({app.display_name}) in that tenant. The account needs to be added "
                         "as an external user in the tenant first. Sign out and sign in again with a different "
                         "Azure Active Directory user account.")


def single_tenant_refusal(realm: Realm, app: AppRegistration) -> IdentityError | None:
    """Single-tenant apps must use their tenant's endpoints (AADSTS50194)."""
    if app.sign_in_audience == "AzureADMyOrg" and realm.kind != "tenant":
        return IdentityError("invalid_request", 50194, f"Application '{app.client_id}'({app.display_name}) is "
                             "not configured as a multi-tenant application. Usage of the /common endpoint is not "
                             "supported for such applications created after '10/15/2018'. Use a tenant-specific "
                             "endpoint or configure the application to be multi-tenant.")
    return None


def unknown_client(client_id: str, realm: Realm, status: int = 400) -> IdentityError:
    return IdentityError("invalid_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{realm.display_name}'. This can happen if the application has not been installed by "
                         "the administrator of the tenant or consented to by any user in the tenant. You may have "
                         "sent your authentication request to the wrong tenant.", status)


def missing_parameter(name: str) -> IdentityError:
    return IdentityError("invalid_request", 900144,
                         f"The request body must contain the following parameter: '{name}'.")


# -- scopes -------------------------------------------------------------------


def split_scopes(value: str | None) -> list[str]:
    return list(dict.fromkeys((value or "").split()))


def resource_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s.lower() not in OIDC_SCOPES]


def permission_key(scope: str) -> str:
    """``https://graph.microsoft.com/User.Read`` and ``User.Read`` are one permission."""
    lowered = scope.lower()
    for prefix in GRAPH_RESOURCE_PREFIXES:
        if lowered.startswith(prefix):
            return lowered[len(prefix):]
    return lowered


def invalid_scope(scopes: list[str]) -> IdentityError | None:
    """Only Graph permissions exist in the sandbox; another resource's scope is unknown."""
    for scope in resource_scopes(scopes):
        if "/" in scope and not scope.lower().startswith(GRAPH_RESOURCE_PREFIXES):
            return IdentityError("invalid_scope", 70011, "The provided value for the input parameter 'scope' "
                                 f"is not valid. The scope '{scope}' does not exist.")
    return None


def missing_consent(world: World, mailbox: Mailbox, client_id: str, scopes: list[str]) -> list[str]:
    granted = world.consents.get((mailbox.id, client_id), set())
    return [s for s in resource_scopes(scopes) if permission_key(s) not in granted]


def record_consent(world: World, mailbox: Mailbox, client_id: str, scopes: list[str]) -> None:
    granted = world.consents.setdefault((mailbox.id, client_id), set())
    granted.update(permission_key(s) for s in resource_scopes(scopes))


# -- state kept between requests ------------------------------------------------


@dataclass
class AuthorizeRequest:
    """The validated parameters of one /authorize call."""

    realm_segment: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str
    response_mode: str
    login_hint: str | None
    prompt: str  # "", "consent" and "none" matter; login and select_account are ignored
    wants_client_info: bool


@dataclass
class PendingSignIn:
    """A sign-in page that was shown; its flow token is the page's CSRF nonce."""

    flow_token: str
    request: AuthorizeRequest
    expires_at: datetime


@dataclass
class AuthorizationCode:
    value: str
    request: AuthorizeRequest
    mailbox_id: str
    expires_at: datetime
    redeemed: bool = False


@dataclass
class IdentityState:
    pending: dict[str, PendingSignIn] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_issued_at: dict[str, datetime] = field(default_factory=dict)

    def forget_expired(self, now: datetime) -> None:
        """Drop pages and codes an hour after they expired (until then a reused
        code still gets its own error, AADSTS54005 or AADSTS70008)."""
        horizon = now - timedelta(hours=1)
        self.pending = {k: p for k, p in self.pending.items() if p.expires_at > horizon}
        self.codes = {k: c for k, c in self.codes.items() if c.expires_at > horizon}


def identity_state(world: World) -> IdentityState:
    # world.extra is emptied by world.reset(), which is what a reset should do here.
    return world.extra.setdefault("identity", IdentityState())


# -- discovery ----------------------------------------------------------------


def public_host(ctx) -> str:
    """Clients must see https endpoints (MSAL refuses others), whichever listener answered."""
    return "https://" + ctx.request.host


DISCOVERY_HEADERS = {"Cache-Control": "max-age=86400, private", "Access-Control-Allow-Origin": "*"}
JSON_TYPE = "application/json; charset=utf-8"


@identity_route("GET", "/{tenant}/v2.0/.well-known/openid-configuration")
@locked
def openid_configuration(ctx, tenant):
    realm = resolve_realm(ctx.world, tenant)
    host = public_host(ctx)
    base = f"{host}/{realm.endpoint_segment}"
    document = {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{host}/{realm.issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                             "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr",
                             "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{base}/kerberos",
        "tenant_region_scope": "WW" if realm.kind == "tenant" else None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }
    return reply(200, document, DISCOVERY_HEADERS, JSON_TYPE)


@identity_route("GET", "/{tenant}/discovery/v2.0/keys")
@locked
def signing_keys(ctx, tenant):
    """The keys ID tokens are signed with; each names the issuer it signs for,
    with ``{tenantid}`` on multi-tenant endpoints, as Microsoft's keys do."""
    realm = resolve_realm(ctx.world, tenant)
    issuer = f"{public_host(ctx)}/{realm.issuer_tenant}/v2.0"
    return reply(200, {"keys": [signing_key().jwk(issuer)]}, DISCOVERY_HEADERS, JSON_TYPE)


@identity_route("GET", "/common/discovery/instance")
def instance_discovery(ctx):
    """MSAL's instance discovery: is ``authorization_endpoint`` a known cloud, and
    where is its OpenID document? The sandbox knows only itself. Hosts compare
    without ports: MSAL drops the port when it builds ``authorization_endpoint``."""
    host = urlsplit(public_host(ctx))
    metadata = [{"preferred_network": host.hostname, "preferred_cache": host.hostname, "aliases": [host.hostname]}]
    body = {"api-version": ctx.query.get("api-version", "1.1"), "metadata": metadata}
    endpoint = ctx.query.get("authorization_endpoint")
    if endpoint:
        parts = urlsplit(endpoint)
        segments = parts.path.strip("/").split("/")
        if parts.scheme != "https" or (parts.hostname or "") != host.hostname or not segments[0]:
            error = IdentityError("invalid_instance", 50049, "Unknown or invalid instance.")
            return reply(400, error.body(ctx.now), DISCOVERY_HEADERS, JSON_TYPE)
        version = "/v2.0" if "v2.0" in segments else ""
        body["tenant_discovery_endpoint"] = (f"https://{host.netloc}/{segments[0]}{version}"
                                             "/.well-known/openid-configuration")
    return reply(200, body, DISCOVERY_HEADERS, JSON_TYPE)


# -- /authorize -----------------------------------------------------------------


HTML_TYPE = "text/html; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


def render(template: str, **values: str) -> str:
    """Fill a page template; every value must already be HTML-escaped."""
    return Template((_TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def error_page(ctx, error: IdentityError):
    """Microsoft shows problems with the client or redirect URI on its own page:
    it never redirects to a URI it cannot trust."""
    page = render("error.html", code=f"AADSTS{error.aadsts}", message=html.escape(error.description),
                  request_id=html.escape(ctx.request_id), correlation_id=str(uuid.uuid4()),
                  timestamp=ctx.now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return reply(400, page, NO_STORE, HTML_TYPE)


def redirect_to_client(request: AuthorizeRequest, params: dict[str, str]):
    """Answer the client at its redirect URI: query, fragment or an auto-posted form."""
    if request.state is not None:
        params = {**params, "state": request.state}
    if request.response_mode == "form_post":
        inputs = "\n".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                           for k, v in params.items())
        page = render("form_post.html", action=html.escape(request.redirect_uri), inputs=inputs)
        return reply(200, page, NO_STORE, HTML_TYPE)
    separator = "#" if request.response_mode == "fragment" else ("&" if "?" in request.redirect_uri else "?")
    return reply(302, None, {"Location": request.redirect_uri + separator + urlencode(params), **NO_STORE})


def redirect_error(request: AuthorizeRequest, error: str, description: str, **extra: str):
    return redirect_to_client(request, {"error": error, "error_description": description, **extra})


def client_info(mailbox: Mailbox) -> str:
    raw = json.dumps({"uid": mailbox.id, "utid": home_tenant_id(mailbox)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def issue_code(ctx, request: AuthorizeRequest, mailbox: Mailbox):
    """Consent is given: remember it, mint a code and send the user back."""
    record_consent(ctx.world, mailbox, request.client_id, request.scopes)
    prefix = "M.C5" if mailbox.personal else "0.A"  # Microsoft's code prefixes for the two account kinds
    code = AuthorizationCode(prefix + secrets.token_urlsafe(96), request, mailbox.id, ctx.now + CODE_LIFETIME)
    state = identity_state(ctx.world)
    state.forget_expired(ctx.now)
    state.codes[code.value] = code
    params = {"code": code.value}
    if request.wants_client_info:
        params["client_info"] = client_info(mailbox)
    params["session_state"] = str(uuid.uuid5(uuid.NAMESPACE_URL, mailbox.id))
    return redirect_to_client(request, params)


def request_parameters(ctx) -> dict[str, str]:
    params = dict(ctx.query)
    if ctx.method == "POST":
        params.update(ctx.form())
    return params


class AuthorizeAnswered(Exception):
    """/authorize cannot go on; ``response`` (an error page or a redirect) says why."""

    def __init__(self, response):
        super().__init__("authorize request answered early")
        self.response = response


def parse_authorize(ctx, tenant: str, params: dict[str, str]) -> tuple[Realm, AppRegistration, AuthorizeRequest]:
    """Validate an /authorize call, in Microsoft's order: what makes the redirect
    URI untrustworthy is shown as a page, the rest goes back to the client."""
    try:
        realm = resolve_realm(ctx.world, tenant)
    except IdentityError as error:
        raise AuthorizeAnswered(error_page(ctx, error))
    for name in ("client_id", "redirect_uri"):
        if not params.get(name):
            raise AuthorizeAnswered(error_page(ctx, missing_parameter(name)))
    app = ctx.world.apps.get(params["client_id"])
    if app is None:
        raise AuthorizeAnswered(error_page(ctx, unknown_client(params["client_id"], realm)))
    redirect_uri = params["redirect_uri"]
    if redirect_uri not in app.redirect_uris:
        raise AuthorizeAnswered(error_page(ctx, IdentityError(
            "invalid_request", 50011, f"The redirect URI '{redirect_uri}' specified in the request does not match "
            f"the redirect URIs configured for the application '{app.client_id}'. Make sure the redirect URI sent "
            "in the request matches one added to your application in the Azure portal.")))
    refusal = single_tenant_refusal(realm, app)
    if refusal:
        raise AuthorizeAnswered(error_page(ctx, refusal))
    # Missing parameters show on Microsoft's page too (observed in issue reports).
    for name in ("response_type", "scope"):
        if not params.get(name, "").strip():
            raise AuthorizeAnswered(error_page(ctx, missing_parameter(name)))
    response_mode = params.get("response_mode") or "query"
    request = AuthorizeRequest(
        realm_segment=tenant, client_id=app.client_id, redirect_uri=redirect_uri,
        scopes=split_scopes(params["scope"]), state=params.get("state"), nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge") or None,
        code_challenge_method=params.get("code_challenge_method") or "plain",
        response_mode=response_mode if response_mode in ("query", "fragment", "form_post") else "query",
        login_hint=params.get("login_hint") or None,
        prompt=params.get("prompt", "").lower(),
        wants_client_info=params.get("client_info") == "1")

    # From here on the redirect URI is trusted: errors go back to the client (RFC 6749 §4.1.2.1).
    def refuse(error: str, description: str) -> AuthorizeAnswered:
        return AuthorizeAnswered(redirect_error(request, error, description))

    if params["response_type"].strip() != "code":
        # UNCONFIRMED code: hybrid and implicit types need implicit grant, never enabled in the sandbox.
        raise refuse("unsupported_response_type", f"AADSTS700054: response_type '{params['response_type']}' "
                     "is not enabled for the application.")
    if response_mode != request.response_mode:
        raise refuse("invalid_request", f"AADSTS900061: The response_mode '{response_mode}' is not supported.")
    if request.code_challenge and request.code_challenge_method not in ("S256", "plain"):
        raise refuse("invalid_request", "AADSTS50149: Unsupported code_challenge_method "  # UNCONFIRMED wording
                     f"'{request.code_challenge_method}'.")
    scope_error = invalid_scope(request.scopes)
    if scope_error:
        raise refuse(scope_error.error, f"AADSTS70011: {scope_error.description}")
    return realm, app, request


def eligible_mailboxes(world: World, realm: Realm, app: AppRegistration) -> list[Mailbox]:
    return sorted((m for m in world.mailboxes.values() if account_refusal(world, realm, app, m) is None),
                  key=lambda m: m.address.lower())


def sign_in_page(ctx, request: AuthorizeRequest, accounts: list[Mailbox], chosen: Mailbox | None):
    app = ctx.world.apps[request.client_id]
    pending = PendingSignIn(secrets.token_urlsafe(32), request, ctx.now + SIGN_IN_PAGE_LIFETIME)
    state = identity_state(ctx.world)
    state.forget_expired(ctx.now)
    state.pending[pending.flow_token] = pending
    rows = []
    for mailbox in ([chosen] if chosen else accounts):
        kind = "Personal account" if mailbox.personal else "Work or school account"
        checked = " checked" if mailbox is chosen else ""
        rows.append(f'<label class="account"><input type="radio" name="account" value="{html.escape(mailbox.id)}"'
                    f' required{checked}><span class="name">{html.escape(mailbox.display_name)}</span>'
                    f'<span class="address">{html.escape(mailbox.address)}</span>'
                    f'<span class="kind">{kind}</span></label>')
    permissions = []
    for scope in request.scopes:
        description = PERMISSION_DESCRIPTIONS.get(permission_key(scope), permission_key(scope))
        permissions.append(f'<li><span class="permission">{html.escape(description)}</span>'
                           f' <code>{html.escape(scope)}</code></li>')
    hint = ""
    if request.login_hint and chosen is None:
        hint = (f'<p class="notice">No account here is called <strong>{html.escape(request.login_hint)}</strong>;'
                " pick one.</p>")
    page = render("signin.html", app_name=html.escape(app.display_name), client_id=html.escape(app.client_id),
                  action=html.escape(f"/{request.realm_segment}/oauth2/v2.0/authorize"),
                  flow_token=html.escape(pending.flow_token), accounts="\n".join(rows),
                  permissions="\n".join(permissions), hint=hint)
    return reply(200, page, NO_STORE, HTML_TYPE)


@identity_route("GET", "/{tenant}/oauth2/v2.0/authorize")
@locked
def authorize(ctx, tenant):
    params = request_parameters(ctx)
    if ctx.method == "POST" and "flow_token" in params:
        return submit_sign_in(ctx, tenant, params)
    try:
        realm, app, request = parse_authorize(ctx, tenant, params)
    except AuthorizeAnswered as answered:
        return answered.response
    world = ctx.world
    accounts = eligible_mailboxes(world, realm, app)
    chosen = None
    if request.login_hint:
        hinted = world.mailbox_by_address(request.login_hint)
        refusal = hinted and account_refusal(world, realm, app, hinted)
        if refusal:
            return error_page(ctx, refusal)
        chosen = hinted
    if not accounts:
        return error_page(ctx, IdentityError("invalid_request", 50034, "The user account does not exist in the "
                                             f"'{realm.display_name}' directory. To sign into this application, "
                                             "the account must be added to the directory."))
    if chosen is None and world.auto_consent and len(accounts) == 1:
        chosen = accounts[0]
    consented = chosen is not None and not missing_consent(world, chosen, request.client_id, request.scopes)
    if request.prompt == "none":
        # No UI allowed: only a known account that consented (or auto-consent) gets a code.
        if chosen is None:
            return redirect_error(request, "login_required",
                                  "AADSTS50058: A silent sign-in request was sent but no user is signed in.")
        if not (consented or world.auto_consent):
            return redirect_error(request, "consent_required", "AADSTS65001: The user or administrator has not "
                                  f"consented to use the application with ID '{app.client_id}' named "
                                  f"'{app.display_name}'. Send an interactive authorization request for this "
                                  "user and resource.")
        return issue_code(ctx, request, chosen)
    # auto_consent (tests) skips the page whenever the account is known, prompt=consent included.
    if chosen is not None and (world.auto_consent or (consented and request.prompt != "consent")):
        return issue_code(ctx, request, chosen)
    return sign_in_page(ctx, request, accounts, chosen)


# The form may be POSTed (OpenID Connect allows it), and the sign-in page posts back here.
identity_route("POST", "/{tenant}/oauth2/v2.0/authorize")(authorize)


def submit_sign_in(ctx, tenant: str, params: dict[str, str]):
    """The user pressed Accept or Cancel on the sign-in page."""
    state = identity_state(ctx.world)
    pending = state.pending.pop(params["flow_token"], None)
    if pending is None or pending.request.realm_segment != tenant:
        return error_page(ctx, IdentityError("invalid_request", 50089, "Authentication failed due to flow token "
                                             "expired or invalid. Please sign in again."))
    if pending.expires_at <= ctx.now:
        return error_page(ctx, IdentityError("invalid_request", 50089, "Authentication failed due to flow token "
                                             "expired. Please sign in again."))
    request = pending.request
    if params.get("action") == "cancel":
        return redirect_error(request, "access_denied", "AADSTS65004: User declined to consent to access the app.",
                              error_subcode="cancel")
    if params.get("action") != "accept":
        return error_page(ctx, missing_parameter("action"))
    mailbox = ctx.world.mailboxes.get(params.get("account", ""))
    app = ctx.world.apps.get(request.client_id)
    if app is None:
        return error_page(ctx, unknown_client(request.client_id, resolve_realm(ctx.world, tenant)))
    if mailbox is None:
        return error_page(ctx, missing_parameter("account"))
    refusal = account_refusal(ctx.world, resolve_realm(ctx.world, tenant), app, mailbox)
    if refusal:
        return error_page(ctx, refusal)
    return issue_code(ctx, request, mailbox)


@identity_route("GET", "/{tenant}/oauth2/v2.0/logout")
@locked
def logout(ctx, tenant):
    """The ``end_session_endpoint``. The sandbox keeps no browser session, so
    signing out only shows a page, or goes back to ``post_logout_redirect_uri``
    when an app registered that URI."""
    try:
        resolve_realm(ctx.world, tenant)
    except IdentityError as error:
        return error_page(ctx, error)
    target = ctx.query.get("post_logout_redirect_uri")
    if target and any(target in app.redirect_uris for app in ctx.world.apps.values()):
        return reply(302, None, {"Location": target, **NO_STORE})
    return reply(200, render("signed_out.html"), NO_STORE, HTML_TYPE)


# -- /token ---------------------------------------------------------------------


def authenticate_client(ctx, realm: Realm, form: dict[str, str]) -> AppRegistration:
    """The confidential client: ``client_secret`` in the body (MSAL) or HTTP Basic (RFC 6749 §2.3.1)."""
    basic = None
    header = ctx.header("Authorization") or ""
    if header[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise IdentityError("invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
        basic = unquote_plus(user), unquote_plus(password)
    client_id = form.get("client_id") or (basic[0] if basic else "")
    if not client_id:
        raise missing_parameter("client_id")
    # RFC 6749 §5.2: 401 when the client authenticated with the Authorization
    # header; Microsoft's status for invalid_client is UNCONFIRMED, so the body
    # case stays 400 (MSAL reads the JSON either way).
    status = 401 if basic else 400
    app = ctx.world.apps.get(client_id)
    if app is None:
        raise unknown_client(client_id, realm, status)
    secret = form.get("client_secret") or (basic[1] if basic else "")
    if not secret:
        raise IdentityError("invalid_client", 7000218, "The request body must contain the following parameter: "
                            "'client_assertion' or 'client_secret'.")
    matching = [s for s in app.secrets if hmac.compare_digest(s.value.encode(), secret.encode())]
    if not matching:
        raise IdentityError("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                            "sent in the request is the client secret value, not the client secret ID, for a "
                            f"secret added to app '{app.client_id}'.", status)
    if all(s.expires_at is not None and s.expires_at <= ctx.now for s in matching):
        raise IdentityError("invalid_client", 7000222, f"The provided client secret keys for app "
                            f"'{app.client_id}' are expired. Visit the Azure portal to create new keys for your "
                            "app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                            "added security: https://aka.ms/certCreds.", status)
    return app


def token_response(ctx, realm: Realm, app: AppRegistration, mailbox: Mailbox, requested: list[str],
                   granted: list[str], nonce: str | None, wants_client_info: bool,
                   refresh_scopes: list[str] | None) -> dict:
    """The success JSON. ``requested`` is echoed as the client wrote it (MSAL
    caches access tokens under the response's ``scope`` and looks them up by
    exact string, reference §10.5); ``offline_access`` is never echoed."""
    world = ctx.world
    access_scopes = resource_scopes(requested) or resource_scopes(granted)
    access = world.issue_access_token(mailbox, app.client_id, access_scopes, ACCESS_TOKEN_LIFETIME)
    echoed = requested if resource_scopes(requested) else granted
    body = {"token_type": "Bearer",
            "scope": " ".join(s for s in echoed if s.lower() != "offline_access"),
            "expires_in": ACCESS_TOKEN_LIFETIME, "ext_expires_in": ACCESS_TOKEN_LIFETIME,
            "access_token": access.value}
    if refresh_scopes is not None:
        refresh = world.issue_refresh_token(mailbox, app.client_id, refresh_scopes, REFRESH_TOKEN_LIFETIME_DAYS)
        identity_state(world).refresh_issued_at[refresh.value] = ctx.now
        body["refresh_token"] = refresh.value
    if "openid" in {s.lower() for s in granted}:
        body["id_token"] = id_token(ctx, app, mailbox, nonce)
    if wants_client_info:
        body["client_info"] = client_info(mailbox)
    return body


def id_token(ctx, app: AppRegistration, mailbox: Mailbox, nonce: str | None) -> str:
    """A v2.0 id_token signed RS256 (claims as in Microsoft's ID token claims
    reference, https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference):
    ``iss`` names the account's home tenant, the consumer tenant for personal
    accounts."""
    now = int(ctx.now.timestamp())
    tid = home_tenant_id(mailbox)
    claims = {
        "aud": app.client_id,
        "iss": f"{public_host(ctx)}/{tid}/v2.0",
        "iat": now, "nbf": now, "exp": now + ID_TOKEN_LIFETIME,
        "name": mailbox.display_name,
        "oid": mailbox.id,
        "preferred_username": mailbox.address,
        "email": mailbox.address,
        # Pairwise subject (discovery says so): stable per user and app.
        "sub": b64url(hashlib.sha256(f"{mailbox.id}:{app.client_id}".encode()).digest()),
        "tid": tid,
        "uti": b64url(secrets.token_bytes(16)),
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce  # exactly as received at /authorize (MSAL sends a hash already)
    return signing_key().sign(claims)


def check_requested_scopes(world: World, app: AppRegistration, mailbox: Mailbox, requested: list[str]) -> None:
    error = invalid_scope(requested)
    if error:
        raise error
    if missing_consent(world, mailbox, app.client_id, requested):
        raise IdentityError("invalid_grant", 65001, "The user or administrator has not consented to use the "
                            f"application with ID '{app.client_id}' named '{app.display_name}'. Send an "
                            "interactive authorization request for this user and resource.",
                            suberror="consent_required")


def check_account(world: World, realm: Realm, app: AppRegistration, mailbox: Mailbox) -> None:
    refusal = single_tenant_refusal(realm, app) or account_refusal(world, realm, app, mailbox)
    if refusal:
        raise refusal


def redeem_code(ctx, realm: Realm, app: AppRegistration, form: dict[str, str]) -> dict:
    for name in ("code", "redirect_uri"):
        if not form.get(name):
            raise missing_parameter(name)
    code = identity_state(ctx.world).codes.get(form["code"])
    if code is None or code.request.client_id != app.client_id:
        raise IdentityError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    if code.redeemed:
        raise IdentityError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry "
                            "with a new valid code or use an existing refresh token.")
    if code.expires_at <= ctx.now:
        raise IdentityError("invalid_grant", 70008, "The provided authorization code or refresh token has expired "
                            "due to inactivity. Send a new interactive authorization request for this user and "
                            "resource.")
    request = code.request
    if form["redirect_uri"] != request.redirect_uri:
        raise IdentityError("invalid_grant", 500112, f"The reply address '{form['redirect_uri']}' does not match "
                            f"the reply address '{request.redirect_uri}' provided when requesting Authorization "
                            "code.")
    if request.code_challenge:
        verifier = form.get("code_verifier", "")
        expected = pkce_s256(verifier) if request.code_challenge_method == "S256" else verifier
        # A missing verifier counts as a mismatch (Microsoft's code for it is UNCONFIRMED).
        if not verifier or not hmac.compare_digest(expected.encode(), request.code_challenge.encode()):
            raise IdentityError("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge "
                                "supplied in the authorization request.")
    mailbox = ctx.world.mailboxes.get(code.mailbox_id)
    if mailbox is None:
        raise IdentityError("invalid_grant", 50034, "The user account does not exist in the directory.")
    check_account(ctx.world, realm, app, mailbox)
    requested = split_scopes(form.get("scope")) or request.scopes
    check_requested_scopes(ctx.world, app, mailbox, requested)
    code.redeemed = True
    granted = request.scopes
    offline = "offline_access" in {s.lower() for s in granted}
    return token_response(ctx, realm, app, mailbox, requested, granted, request.nonce,
                          form.get("client_info") == "1", resource_scopes(granted) if offline else None)


def redeem_refresh_token(ctx, realm: Realm, app: AppRegistration, form: dict[str, str]) -> dict:
    if not form.get("refresh_token"):
        raise missing_parameter("refresh_token")
    token: RefreshToken | None = ctx.world.refresh_tokens.get(form["refresh_token"])
    if token is None:
        raise IdentityError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    if token.client_id != app.client_id:
        raise IdentityError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    default_issue = token.expires_at - timedelta(days=REFRESH_TOKEN_LIFETIME_DAYS)  # minted elsewhere
    issued = identity_state(ctx.world).refresh_issued_at.get(token.value, default_issue)
    stamp = issued.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    if token.revoked:
        raise IdentityError("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a "
                            "fresh auth token is needed. The user might have changed or reset their password. The "
                            f"grant was issued on '{stamp}' and the TokensValidFrom date (before which tokens are "
                            f"not valid) for this user is '{ctx.now.strftime('%Y-%m-%dT%H:%M:%S.0000000Z')}'.")
    if token.expires_at <= ctx.now:
        inactive = ctx.now - issued
        raise IdentityError("invalid_grant", 700082, "The refresh token has expired due to inactivity. The token "
                            f"was issued on {stamp} and was inactive for {inactive.days}.00:00:00.")
    mailbox = ctx.world.mailboxes.get(token.mailbox_id)
    if mailbox is None:
        raise IdentityError("invalid_grant", 50034, "The user account does not exist in the directory.")
    check_account(ctx.world, realm, app, mailbox)
    requested = split_scopes(form.get("scope"))
    # Without resource scopes in the request the token is for everything the grant covers.
    granted = list(dict.fromkeys([*(requested or ["openid", "profile", "offline_access"]), *token.scopes]))
    check_requested_scopes(ctx.world, app, mailbox,
                           requested if resource_scopes(requested) else token.scopes)
    # Rotation: a fresh refresh token each time; the old one is not revoked.
    return token_response(ctx, realm, app, mailbox, requested, granted, None,
                          form.get("client_info") == "1", token.scopes)


GRANTS = {"authorization_code": redeem_code, "refresh_token": redeem_refresh_token}


@identity_route("POST", "/{tenant}/oauth2/v2.0/token")
@locked
def token(ctx, tenant):
    realm = resolve_realm(ctx.world, tenant)
    form = ctx.form()
    grant_type = form.get("grant_type")
    if not grant_type:
        raise missing_parameter("grant_type")
    app = authenticate_client(ctx, realm, form)
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise IdentityError("unsupported_grant_type", 70003,
                            f"The app requested an unsupported grant type '{grant_type}'.")
    return reply(200, grant(ctx, realm, app, form), NO_STORE, JSON_TYPE)
