"""Signing a user in to Microsoft and keeping a Graph access token: a thin
layer over MSAL's ``ConfidentialClientApplication``.

The web app (the Odoo addon) drives the authorization-code flow with PKCE::

    signin = MicrosoftSignIn(client_id, client_secret, tenant="common")
    flow = signin.start_sign_in(redirect_uri)        # keep ``flow`` server-side
    redirect(flow["auth_uri"])
    ...
    account = signin.finish_sign_in(flow, request.args)   # on the redirect back
    store(account.home_account_id, signin.serialize_cache())

and later, per sync run, rebuilds the object from what it stored; the object
is then the :class:`~outlook_sync.client.TokenProvider` of the Graph client::

    signin = MicrosoftSignIn(client_id, client_secret, token_cache=stored_cache,
                             home_account_id=stored_account_id)
    client = GraphClient(signin, ...)
    ...
    if signin.cache_changed:
        store(stored_account_id, signin.serialize_cache())

An expired or revoked refresh token raises :class:`ReauthenticationRequired`:
the user must sign in again, which the addon shows as "needs re-auth".

The authority is Microsoft's (``https://login.microsoftonline.com/<tenant>``,
tenant ``common``, ``organizations``, ``consumers``, a GUID or a domain) or the
sandbox's. MSAL insists on https; for a host it does not know it would first
ask login.microsoftonline.com about it ("instance discovery"), which we turn
off for non-Microsoft hosts only.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

import msal
import requests

from .client import GraphClient
from .errors import ReauthenticationRequired, SignInError, TransientError

_logger = logging.getLogger(__name__)

# MSAL's http_cache keeps the sign-in discovery answers (OpenID configuration, instance
# discovery) for a day, so that a sync run, which builds a new application per account, does
# not fetch them again every time. One cache per thread: MSAL guards its view of the cache
# with a lock of each application, so applications of different threads must not share one.
_HTTP_CACHES = threading.local()


def _http_cache() -> dict:
    cache = getattr(_HTTP_CACHES, "cache", None)
    if cache is None:
        cache = _HTTP_CACHES.cache = {}
    return cache

MICROSOFT_LOGIN_URL = "https://login.microsoftonline.com"
GRAPH_SCOPES = ("https://graph.microsoft.com/Calendars.ReadWrite", "https://graph.microsoft.com/User.Read")
# MSAL adds these itself and raises ValueError when a caller passes them.
_OIDC_SCOPES = frozenset({"openid", "profile", "offline_access"})
# Hosts of Microsoft's public and national clouds, where MSAL's instance discovery applies.
MICROSOFT_AUTHORITY_HOSTS = frozenset({
    "login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
    "login.chinacloudapi.cn", "login.partner.microsoftonline.cn", "login.microsoftonline.de",
    "login.microsoftonline.us", "login.usgovcloudapi.net",
})
# OAuth2 errors after which only a new interactive sign-in helps.
_REAUTH_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


class _RedactGrantFields(logging.Filter):
    """Masks the authorization code and the PKCE verifier in MSAL's token-cache
    debug log: MSAL 1.39 redacts secrets and tokens there, but not these two."""

    _FIELD = re.compile(r'("(?:code|code_verifier)"\s*:\s*)"[^"]*"')

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._FIELD.sub(r'\1"********"', a) if isinstance(a, str) else a
                                for a in record.args)
        return True


_msal_cache_logger = logging.getLogger("msal.token_cache")
if not any(isinstance(f, _RedactGrantFields) for f in _msal_cache_logger.filters):
    _msal_cache_logger.addFilter(_RedactGrantFields())


@dataclass(frozen=True)
class SignedInAccount:
    """Who signed in, as MSAL's token cache knows them.

    ``home_account_id`` (``"<oid>.<tid>"``) is what to store to find the account
    in the cache later; ``username`` is the sign-in name (UPN or e-mail).
    """

    home_account_id: str
    username: str
    tenant_id: str | None


@dataclass(frozen=True)
class MailboxIdentity:
    """The mailbox behind a token, from ``GET /me``. ``address`` is ``mail``,
    or ``userPrincipalName`` for accounts without a ``mail`` value."""

    id: str
    address: str
    display_name: str
    user_principal_name: str
    #: the mailbox's other addresses (Graph's ``proxyAddresses``, the ``smtp:`` ones), lower case
    aliases: tuple[str, ...] = ()


class VerifyingSession(requests.Session):
    """A ``requests.Session`` that passes ``verify`` and a timeout on every request.

    MSAL only sets ``Session.verify``, and ``REQUESTS_CA_BUNDLE`` (set on many
    corporate hosts) overrides that silently; a per-request ``verify`` wins.
    """

    def __init__(self, verify: bool | str = True, timeout: tuple[float, float] = (5.0, 30.0)):
        super().__init__()
        self._verify = verify
        self._timeout = timeout
        # A minimal retry of broken connections, as MSAL's own session has.
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method, url, *args, **kwargs):
        kwargs["verify"] = self._verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, *args, **kwargs)


def authority_url(login_url: str, tenant: str) -> str:
    """``https://host/<tenant>``; raises ValueError for http or a malformed tenant."""
    parts = urlsplit(login_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"The sign-in URL must be https (MSAL refuses anything else): {login_url!r}")
    if not _TENANT.match(tenant or ""):
        raise ValueError(f"Not a tenant: {tenant!r} (use common, organizations, consumers, a GUID or a domain)")
    return login_url.rstrip("/") + "/" + tenant


def is_microsoft_authority(authority: str) -> bool:
    """Whether ``authority`` is on one of Microsoft's login hosts, where MSAL's
    instance discovery is meaningful (elsewhere it would call Microsoft about
    a host Microsoft does not know)."""
    return (urlsplit(authority).hostname or "").lower() in MICROSOFT_AUTHORITY_HOSTS


class MicrosoftSignIn:
    """Authorization-code sign-in and silent token refresh for one app
    registration and one serialized MSAL token cache.

    :param client_id: the app registration's Application (client) ID.
    :param client_secret: its client secret (never logged, never in errors).
    :param tenant: ``common``, ``organizations``, ``consumers``, a tenant GUID or domain.
    :param login_url: Microsoft's login host or the sandbox's ``login_url``.
    :param verify: CA bundle for the login host (``True``: the system store).
    :param scopes: resource scopes to request; MSAL adds openid, profile and
        offline_access itself.
    :param token_cache: a cache serialized earlier by :meth:`serialize_cache`.
    :param home_account_id: which cached account to use (from
        :meth:`finish_sign_in`); ``None``: the only one in the cache.
    """

    def __init__(self, client_id: str, client_secret: str, *, tenant: str = "common",
                 login_url: str = MICROSOFT_LOGIN_URL, verify: bool | str = True,
                 timeout: tuple[float, float] = (5.0, 30.0), scopes: tuple[str, ...] = GRAPH_SCOPES,
                 token_cache: str | None = None, home_account_id: str | None = None):
        reserved = _OIDC_SCOPES & {s.lower() for s in scopes}
        if reserved:
            raise ValueError(f"Do not request {', '.join(sorted(reserved))}: MSAL adds them itself")
        self.client_id = client_id
        self.authority = authority_url(login_url, tenant)
        self.scopes = list(scopes)
        self.home_account_id = home_account_id
        self._client_secret = client_secret
        self._verify = verify
        self._timeout = timeout
        self._cache = msal.SerializableTokenCache()
        if token_cache:
            self._cache.deserialize(token_cache)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()  # MSAL apps are shared by the client's worker threads

    def __repr__(self) -> str:
        return f"<MicrosoftSignIn client_id={self.client_id} authority={self.authority}>"

    # -- the MSAL application ----------------------------------------------------

    def _application(self) -> msal.ConfidentialClientApplication:
        # Built lazily: the constructor reads the OpenID configuration (from the http cache
        # after the thread's first application for this authority).
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self._client_secret, authority=self.authority,
                    token_cache=self._cache, http_client=VerifyingSession(self._verify, self._timeout),
                    http_cache=_http_cache(),
                    instance_discovery=None if is_microsoft_authority(self.authority) else False)
            except requests.RequestException as exc:
                raise _unreachable(exc, "reading the sign-in configuration") from None
            except ValueError:  # MSAL: the authority answered 4xx or a document without endpoints
                raise SignInError("invalid_authority", f"{self.authority} is not a usable sign-in authority "
                                  "(check the tenant).") from None
        return self._app

    # -- interactive sign-in -------------------------------------------------------

    def start_sign_in(self, redirect_uri: str, *, login_hint: str | None = None, state: str | None = None,
                      prompt: str | None = None, response_mode: str | None = None) -> dict:
        """Begin the auth-code flow with PKCE.

        Returns MSAL's flow dict: redirect the browser to ``flow["auth_uri"]``
        and keep the whole dict server-side (it holds the PKCE verifier) until
        the redirect comes back to ``redirect_uri``. ``state`` defaults to a
        random value; bind it to the user's session.

        ``response_mode="form_post"`` keeps the code out of URLs and access
        logs, but whether the cross-site POST back carries the application's
        session cookie depends on that cookie's SameSite attribute and on the
        browser, so the flow must then be found by its state, not the session.
        The default (``None``) is the query string.
        """
        return self._application().initiate_auth_code_flow(
            self.scopes, redirect_uri=redirect_uri, state=state, prompt=prompt, login_hint=login_hint,
            response_mode=response_mode)

    def finish_sign_in(self, flow: dict, auth_response: Mapping[str, str]) -> SignedInAccount:
        """Redeem the code from the redirect's query (or form) parameters.

        Raises :class:`SignInError`: ``invalid_auth_response`` (not our flow's
        state, or replayed), the identity platform's ``error`` (``access_denied`` when
        the user declined consent, ``invalid_grant``...), or
        :class:`~outlook_sync.errors.TransientError` when it did not answer.
        """
        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_by_auth_code_flow(flow, dict(auth_response), scopes=self.scopes)
            except ValueError:
                # MSAL's message repeats both state values; ours says what went wrong.
                raise SignInError("invalid_auth_response", "The sign-in answer does not belong to this sign-in "
                                  "attempt (wrong or reused state, or neither code nor error).") from None
            except RuntimeError:
                raise SignInError("nonce_mismatch", "The ID token was not issued for this sign-in "
                                  "attempt.") from None
            except requests.RequestException as exc:
                raise _unreachable(exc, "redeeming the authorization code") from None
        if "error" in result:
            raise SignInError.from_result(result)
        claims = result.get("id_token_claims") or {}
        account = self._cached_account(claims)
        self.home_account_id = account["home_account_id"]
        return SignedInAccount(account["home_account_id"], account.get("username") or "",
                               claims.get("tid") or account.get("realm"))

    def _cached_account(self, claims: Mapping[str, Any]) -> dict:
        local_id = claims.get("oid") or claims.get("sub")
        accounts = self._application().get_accounts()
        match = next((a for a in accounts if local_id and a.get("local_account_id") == local_id), None)
        if match is None:  # MSAL had neither client_info nor an id_token to make an account from
            raise SignInError("no_account", "The identity platform returned no account for this sign-in.")
        return match

    # -- the token provider --------------------------------------------------------

    def get_token(self, force_refresh: bool = False) -> str:
        """An access token for :attr:`scopes`, from the cache or refreshed.

        ``force_refresh`` redeems the refresh token even if the cached access
        token looks valid (Graph has just refused it). Raises
        :class:`ReauthenticationRequired` when no refresh token is usable.
        """
        with self._lock:
            app = self._application()
            account = self._account(app)
            try:
                result = app.acquire_token_silent_with_error(self.scopes, account, force_refresh=force_refresh)
            except requests.RequestException as exc:
                raise _unreachable(exc, "refreshing the access token") from None
        if result is None:
            raise ReauthenticationRequired("no_refresh_token", "The token cache has no usable refresh token.")
        if "access_token" in result:
            return result["access_token"]
        error = SignInError.from_result(result)
        if error.error in _REAUTH_ERRORS:
            _logger.info("Microsoft refused the refresh token (%s %s): the user must sign in again",
                         error.error, ",".join(map(str, error.error_codes)))
            raise ReauthenticationRequired(error.error, error.description, error.error_codes)
        raise error

    def _account(self, app: msal.ConfidentialClientApplication) -> dict:
        accounts = app.get_accounts()
        if self.home_account_id is not None:
            accounts = [a for a in accounts if a.get("home_account_id") == self.home_account_id]
        if len(accounts) != 1:
            raise ReauthenticationRequired(
                "no_account", "The token cache holds no signed-in account" if not accounts
                else "The token cache holds several accounts; say which one (home_account_id)")
        return accounts[0]

    # -- the serialized cache ------------------------------------------------------

    @property
    def cache_changed(self) -> bool:
        """Whether tokens changed since the cache was loaded or last serialized."""
        return self._cache.has_state_changed

    def serialize_cache(self) -> str:
        """The token cache as a string for the caller to store (a secret)."""
        return self._cache.serialize()


def discover_mailbox(client: GraphClient) -> MailboxIdentity:
    """``GET /me`` through a :class:`~outlook_sync.client.GraphClient`: which
    mailbox the signed-in user's token opens."""
    me = client.get_me(select="id,displayName,mail,userPrincipalName,proxyAddresses")
    upn = me.get("userPrincipalName") or ""
    address = me.get("mail") or upn
    # "SMTP:" is the primary address, "smtp:" the others; other kinds (X500:, SIP:) are not mail addresses
    proxies = me.get("proxyAddresses") if isinstance(me.get("proxyAddresses"), list) else []
    aliases = tuple(dict.fromkeys(
        entry[5:].strip().lower() for entry in proxies
        if isinstance(entry, str) and entry[:5].lower() == "smtp:" and "@" in entry
        and entry[5:].strip().lower() != address.strip().lower()))
    return MailboxIdentity(id=me["id"], address=address, display_name=me.get("displayName") or "",
                           user_principal_name=upn, aliases=aliases)


def _unreachable(exc: Exception, doing: str) -> TransientError:
    # Only the exception's type: requests' texts repeat URLs with query strings.
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return TransientError(f"The sign-in service failed while {doing} ({type(exc).__name__}).",
                          status=status, code="IdentityUnavailable")
