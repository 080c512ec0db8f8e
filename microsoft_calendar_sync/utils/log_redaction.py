# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Keep the sign-in callback's secrets out of Odoo's HTTP access log.

Microsoft sends the authorization code and our state to
``/microsoft_account/authentication`` in the query string, and Odoo's request
handler logs every request line through the ``werkzeug`` logger. The code is
short-lived and single-use, but a log line is no place for it: this filter
masks those parameters in that one path's lines before any handler sees them.
"""

import logging
import re

CALLBACK_PATH = "/microsoft_account/authentication"
_SECRET_PARAMS = re.compile(r"([?&](?:code|state|session_state|client_info|id_token)=)[^&\s\"]*")


class SignInCallbackRedaction(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        if CALLBACK_PATH in message:
            record.msg = _SECRET_PARAMS.sub(r"\1***", message)
            record.args = ()
        return True


def install(logger_name="werkzeug"):
    """Add the filter once (module reloads in tests must not stack copies)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, SignInCallbackRedaction) for f in logger.filters):
        logger.addFilter(SignInCallbackRedaction())
