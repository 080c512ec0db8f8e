# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Writes the Outlook Calendar Sync settings from environment variables.

Run through Odoo's shell, which provides ``env``:

    MCS_CLIENT_ID=... odoo shell -d DB --no-http < apply_settings.py

Used by the Docker image's entrypoint (docker/odoo/entrypoint.sh) at every
start and by tools/run_demo.py, so the demo's settings come from one place.
The environment is the source of truth for the keys it names: a variable
that is unset leaves its setting alone; an empty one clears it.

| variable           | ir.config_parameter                      |
|--------------------|------------------------------------------|
| MCS_ENABLED        | microsoft_calendar_sync.enabled          |
| MCS_CLIENT_ID      | microsoft_calendar_sync.client_id        |
| MCS_CLIENT_SECRET  | microsoft_calendar_sync.client_secret    |
| MCS_TENANT         | microsoft_calendar_sync.tenant           |
| MCS_USE_SANDBOX    | microsoft_calendar_sync.use_sandbox      |
| MCS_LOGIN_URL      | microsoft_calendar_sync.login_url        |
| MCS_GRAPH_URL      | microsoft_calendar_sync.graph_url        |
| MCS_CA_FILE        | microsoft_calendar_sync.ca_file          |
| ODOO_BASE_URL      | web.base.url (and web.base.url.freeze)   |

Booleans accept True/False/1/0/yes/no. ``ODOO_BASE_URL`` is frozen because
the Redirect URI registered at Microsoft (or in the sandbox) is built from
it: Odoo would otherwise rewrite it with whatever host name an administrator
logs in through (127.0.0.1 vs localhost), and sign-in would then be refused.
"""
import os
import sys

# tests/test_docker_files.py reads this table (with ast) and checks every key
# against the addon's source: keep it a plain literal.
ENV_TO_PARAM = {
    "MCS_ENABLED": "enabled",
    "MCS_CLIENT_ID": "client_id",
    "MCS_CLIENT_SECRET": "client_secret",
    "MCS_TENANT": "tenant",
    "MCS_USE_SANDBOX": "use_sandbox",
    "MCS_LOGIN_URL": "login_url",
    "MCS_GRAPH_URL": "graph_url",
    "MCS_CA_FILE": "ca_file",
}
BOOLEANS = {"MCS_ENABLED", "MCS_USE_SANDBOX"}
SECRETS = {"MCS_CLIENT_SECRET"}


def _boolean(name, value):
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return "True"
    if lowered in ("", "0", "false", "no", "off"):
        return "False"
    raise SystemExit(f"apply_settings: {name}={value!r} is not a boolean (True/False)")


def apply(env, environ=os.environ):
    icp = env["ir.config_parameter"].sudo()
    applied = []
    for name, param in ENV_TO_PARAM.items():
        if name not in environ:
            continue
        value = environ[name].strip()
        if name in BOOLEANS:
            value = _boolean(name, value)
        icp.set_param(f"microsoft_calendar_sync.{param}", value or False)  # False deletes the key
        shown = "(set)" if name in SECRETS and value else (value or "(cleared)")
        applied.append(f"microsoft_calendar_sync.{param} = {shown}")
    base_url = environ.get("ODOO_BASE_URL", "").strip().rstrip("/")
    if base_url:
        icp.set_param("web.base.url", base_url)
        icp.set_param("web.base.url.freeze", "True")
        applied.append(f"web.base.url = {base_url} (frozen)")
    ca_file = icp.get_param("microsoft_calendar_sync.ca_file")
    if icp.get_param("microsoft_calendar_sync.use_sandbox") == "True" and ca_file and not os.path.isfile(ca_file):
        print(f"apply_settings: WARNING: the sandbox CA file {ca_file} does not exist (yet)", file=sys.stderr)
    return applied


if "env" in globals():  # inside `odoo shell`
    for line in apply(env):  # noqa: F821 - provided by odoo shell
        print(f"apply_settings: {line}", flush=True)
    # odoo shell rolls back when the script ends: commit what was set
    env.cr.commit()  # noqa: F821
