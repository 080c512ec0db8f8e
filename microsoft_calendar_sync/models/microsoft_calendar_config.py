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
