# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Turning what Microsoft's identity platform said into a sentence a user can
act on: what happened, and what to do next.

The identity platform answers with an OAuth2 ``error`` (``access_denied``,
``invalid_client``, ``invalid_grant``...) and AADSTS numbers; the numbers are
what tells the cases apart (reference: graph-and-msal.md §10 and Microsoft's
"AADSTS error codes" page). Nothing here ever repeats a token or a secret:
the only inputs are the error name, the AADSTS numbers and, for the user's
own eyes, the first line of Microsoft's description.
"""

import re

from outlook_sync.errors import OutlookSyncError, SignInError, TransientError

_AADSTS = re.compile(r"AADSTS(\d+)")

# AADSTS numbers grouped by what the person reading can do about them.
CONSENT_DECLINED = {65004}
ADMIN_CONSENT_NEEDED = {65001, 90094, 90095, 900941}
WRONG_SECRET = {7000215, 7000218}
EXPIRED_SECRET = {7000222}
UNKNOWN_CLIENT = {700016}
REDIRECT_URI_NOT_REGISTERED = {50011, 500112, 500113}
TENANT_NOT_ALLOWED = {50020, 50034, 50194, 90002, 900023, 700003}
CODE_UNUSABLE = {54005, 70008, 501481, 9002313}
REFRESH_UNUSABLE = {700082, 50173, 50076, 50079, 70000}


def error_codes(error):
    """The AADSTS numbers of a :class:`SignInError` or of a redirect's description."""
    if isinstance(error, SignInError):
        codes = set(error.error_codes)
        codes.update(int(n) for n in _AADSTS.findall(error.description or ""))
        return codes
    return {int(n) for n in _AADSTS.findall(str(error or ""))}


def explain_sign_in_error(env, error, *, is_admin=False):
    """``(title, explanation, next_step)`` for a failed sign-in.

    :param error: a :class:`SignInError`, a :class:`TransientError` or a
        ``(error, error_description)`` pair from the redirect's query.
    """
    _ = env._
    if isinstance(error, tuple):
        name, description = error
        codes = error_codes(description)
    elif isinstance(error, SignInError):
        name, codes = error.error, error_codes(error)
    elif isinstance(error, TransientError):
        return (_("Microsoft could not be reached"),
                _("Microsoft's sign-in service did not answer in time or answered with an error."),
                _("Try again in a few minutes. If it keeps failing, ask your administrator to check "
                  "that the Odoo server can reach Microsoft (login.microsoftonline.com)."))
    elif isinstance(error, OutlookSyncError):
        name, codes = type(error).__name__, set()
    else:
        name, codes = str(error or ""), set()
    ask_admin = _("Ask your administrator to fix it.") if not is_admin else ""

    if codes & CONSENT_DECLINED or (name == "access_denied" and not codes & ADMIN_CONSENT_NEEDED):
        return (_("You declined the permissions"),
                _("Odoo needs your permission to read and write your Outlook calendar; without it the "
                  "calendars cannot be synchronized."),
                _("Click the Outlook button in Calendar again and choose Accept on Microsoft's page."))
    if codes & ADMIN_CONSENT_NEEDED or name == "consent_required":
        return (_("An administrator must approve this application"),
                _("Your organization only lets administrators allow applications to read calendars."),
                _("Ask your Microsoft 365 administrator to grant admin consent to the Odoo application in "
                  "Microsoft Entra ID (Enterprise applications), then connect again."))
    if codes & EXPIRED_SECRET:
        return (_("The Client Secret has expired"),
                _("The client secret configured in Odoo for the Microsoft Entra ID application has expired."),
                _("In Microsoft Entra ID, open the application, Certificates & secrets, create a new client "
                  "secret and paste its Value in Settings > General Settings > Outlook Calendar. %s",
                  ask_admin).strip())
    if codes & WRONG_SECRET or name == "invalid_client" and not codes & UNKNOWN_CLIENT:
        return (_("The Client Secret is wrong"),
                _("Microsoft refused the client secret configured in Odoo."),
                _("Copy the secret's Value (not its Secret ID) from Microsoft Entra ID, Certificates & "
                  "secrets, into Settings > General Settings > Outlook Calendar. %s", ask_admin).strip())
    if codes & UNKNOWN_CLIENT:
        return (_("The Client ID is not known to Microsoft"),
                _("Microsoft found no application with the Client ID configured in Odoo in this directory."),
                _("Copy the Application (client) ID from Microsoft Entra ID into Settings > General Settings "
                  "> Outlook Calendar, and check the Tenant setting. %s", ask_admin).strip())
    if codes & REDIRECT_URI_NOT_REGISTERED:
        return (_("The Redirect URI is not registered"),
                _("The address Microsoft sends you back to is not one of the application's Redirect URIs."),
                _("In Microsoft Entra ID, open the application, Authentication, and add the Redirect URI shown "
                  "in Settings > General Settings > Outlook Calendar (platform: Web). %s", ask_admin).strip())
    if codes & TENANT_NOT_ALLOWED or name in ("invalid_authority", "invalid_tenant"):
        return (_("This account or tenant is not allowed"),
                _("The Microsoft account you signed in with is not accepted by the application or by the "
                  "tenant configured in Odoo (for example a personal account with an application that only "
                  "accepts work accounts, or an account from another organization)."),
                _("Sign in with your work account, or ask your administrator to check the Tenant setting "
                  "and the application's supported account types in Microsoft Entra ID."))
    if codes & CODE_UNUSABLE or name == "invalid_auth_response":
        return (_("This sign-in can no longer be used"),
                _("The answer from Microsoft was already used, has expired or does not belong to this "
                  "sign-in attempt."),
                _("Click the Outlook button in Calendar to start again."))
    if codes & REFRESH_UNUSABLE or name in ("invalid_grant", "interaction_required", "login_required"):
        return (_("Microsoft asks you to sign in again"),
                _("Your Outlook connection has expired or was revoked (for example after a password change)."),
                _("Click the Outlook button in Calendar and choose Reconnect."))
    return (_("Microsoft refused the sign-in"),
            _("Microsoft answered: %s", name or _("unknown error")),
            _("Try again. If it keeps failing, ask your administrator to check the Outlook Calendar settings."))
