# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's settings as one object, read from ``ir.config_parameter``.

Everything that talks to Microsoft (or to the sandbox) goes through
:meth:`MicrosoftCalendarConfig.sign_in`, so the Client Secret is read in one
place, with sudo, and never leaves the server.
"""

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from outlook_sync.auth import MICROSOFT_LOGIN_URL, MicrosoftSignIn
from outlook_sync.client import GRAPH_URL, GraphClient

from odoo import models

PARAM = "microsoft_calendar_sync.%s"
CALLBACK_PATH = "/microsoft_account/authentication"
DEFAULTS = {
    "tenant": "common",
    "sync_days_back": 30,
    "sync_days_forward": 365,
    "polling_minutes": 15,
    "log_retention_days": 30,
}


def is_loopback(host):
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_uri_warning(env, redirect_uri):
    """Why Microsoft will refuse this Redirect URI, or ``""``."""
    parts = urlsplit(redirect_uri or "")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname)):
        return ""
    return env._(
        "Microsoft Entra ID only accepts https Redirect URIs (http is allowed for localhost only). "
        "Serve Odoo over https and set the web.base.url system parameter to its https address."
    )


def _origin(url):
    """``https://host:port`` of a sign-in URL: the sandbox prints its authority
    with a tenant (``.../common``), the setting wants the host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


@dataclass(frozen=True)
class Settings:
    enabled: bool
    client_id: str
    client_secret: str = field(repr=False)  # out of the repr, so out of log lines and error reports
    tenant: str
    use_sandbox: bool
    login_url: str
    graph_url: str
    ca_file: str
    allow_other_mailbox: bool
    redirect_uri: str
    allow_remote_images: bool = False

    @property
    def configured(self):
        return bool(self.client_id and self.client_secret)

    @property
    def verify(self):
        return self.ca_file if self.use_sandbox and self.ca_file else True

    def sign_in(self, token_cache=None, home_account_id=None):
        return MicrosoftSignIn(
            self.client_id, self.client_secret, tenant=self.tenant or "common",
            login_url=self.login_url, verify=self.verify, token_cache=token_cache,
            home_account_id=home_account_id,
        )

    def graph_client(self, token_provider, mailbox=None):
        return GraphClient(token_provider, base_url=self.graph_url, verify=self.verify, mailbox=mailbox)


class MicrosoftCalendarConfig(models.AbstractModel):
    _name = "microsoft.calendar.config"
    _description = "Outlook Calendar Sync settings reader"

    def _mcs_settings(self):
        get = self.env["ir.config_parameter"].sudo().get_param
        use_sandbox = get(PARAM % "use_sandbox") == "True"
        base_url = (get("web.base.url") or "").rstrip("/")
        return Settings(
            enabled=get(PARAM % "enabled") == "True",
            client_id=(get(PARAM % "client_id") or "").strip(),
            client_secret=(get(PARAM % "client_secret") or "").strip(),
            tenant=(get(PARAM % "tenant") or DEFAULTS["tenant"]).strip(),
            use_sandbox=use_sandbox,
            login_url=_origin((get(PARAM % "login_url") or "").strip() if use_sandbox else "") or MICROSOFT_LOGIN_URL,
            graph_url=((get(PARAM % "graph_url") or "").strip() if use_sandbox else "") or GRAPH_URL,
            ca_file=(get(PARAM % "ca_file") or "").strip(),
            allow_other_mailbox=get(PARAM % "allow_other_mailbox") == "True",
            redirect_uri=base_url + CALLBACK_PATH,
            allow_remote_images=get(PARAM % "allow_remote_images") == "True",
        )


# -- Settings > Test connection -------------------------------------------------------

#: Entra ID's answers about the client's own credentials, as the administrator should read them.
_CREDENTIAL_ERRORS = {
    7000215: "The client secret is wrong: enter the secret's Value (not its Secret ID) from Microsoft Entra ID.",
    7000222: "The client secret has expired: create a new one in Microsoft Entra ID (Certificates & secrets).",
    7000218: "No client secret is set.",
    700016: "The Client ID is unknown in this tenant: check the Application (client) ID, or the Tenant.",
    90002: "The Tenant is unknown: check its tenant ID or domain name.",
    900023: "The Tenant is not a valid tenant ID or domain name.",
    50194: "This application is single-tenant: set the Tenant to your directory's tenant ID or domain.",
}


def _aadsts(answer):
    try:
        body = answer.json()
    except ValueError:
        return None, ""
    codes = body.get("error_codes") or []
    return (codes[0] if codes else None), (body.get("error_description") or body.get("error") or "").split("\r\n")[0]


def test_connection(env, stored, *, client_id, client_secret, tenant, use_sandbox, login_url, ca_file,
                    redirect_uri):
    """``(ok, message)``: the client ID, secret, tenant and Redirect URI checked against the sign-in endpoint.

    OpenID discovery of the authority (the tenant), then a client-credentials token request (the client ID
    and secret; an answer other than a credential error means they were accepted), then the authorize
    page with the Redirect URI (Entra ID refuses an unregistered one with AADSTS50011)."""
    import requests

    from outlook_sync.auth import VerifyingSession, authority_url

    _ = env._
    if not client_id:
        return False, _("Enter the Client ID first.")
    if not client_secret:
        return False, _("Enter the Client Secret first.")
    warning = redirect_uri_warning(env, redirect_uri)
    if warning:
        return False, warning
    base = (_origin(login_url) if use_sandbox and login_url else "") or MICROSOFT_LOGIN_URL
    authority = authority_url(base, tenant or "common")
    session = VerifyingSession(ca_file if use_sandbox and ca_file else True, (5.0, 15.0))
    try:
        answer = session.get(authority + "/v2.0/.well-known/openid-configuration")
        if answer.status_code != 200:
            code, description = _aadsts(answer)
            if code in _CREDENTIAL_ERRORS:
                return False, f"{_(_CREDENTIAL_ERRORS[code])} (AADSTS{code})"
            return False, _(
                "%(authority)s is not a usable sign-in authority (%(status)s): %(why)s",
                authority=authority, status=answer.status_code, why=description or _("check the Tenant"))
        endpoints = answer.json()
        answer = session.post(endpoints["token_endpoint"], data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
            "scope": "https://graph.microsoft.com/.default"})
        if answer.status_code != 200:
            code, description = _aadsts(answer)
            if code in _CREDENTIAL_ERRORS:
                return False, f"{_(_CREDENTIAL_ERRORS[code])} (AADSTS{code})"
            if answer.json().get("error") == "invalid_client":
                return False, _("The sign-in endpoint refused the client: %(why)s", why=description)
        answer = session.get(endpoints["authorization_endpoint"], allow_redirects=False, params={
            "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": "openid", "response_mode": "query"})
        if "AADSTS50011" in answer.text:
            return False, _("The Redirect URI %(uri)s is not registered for this application: add it (platform "
                            "\"Web\") on the application's Authentication page in Microsoft Entra ID.",
                            uri=redirect_uri)
    except (requests.RequestException, ValueError, KeyError) as exc:
        return False, _("The sign-in endpoint %(authority)s could not be reached: %(why)s",
                        authority=authority, why=type(exc).__name__)
    return True, _("The Client ID, Client Secret, Tenant and Redirect URI were accepted by %(authority)s.",
                   authority=authority)
