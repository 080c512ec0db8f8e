# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Keep secrets and forged lines out of Odoo's log.

:func:`untrusted` escapes a value that came from outside (a query parameter,
a remote error text) before it goes into a log line, so a crafted value can
neither start a line of its own nor pass for another record.


Microsoft sends the authorization code and our state to
``/microsoft_account/authentication`` in the query string, and Odoo's request
handler logs every request line through the ``werkzeug`` logger. The code is
short-lived and single-use, but a log line is no place for it: this filter
masks those parameters in that one path's lines before any handler sees them.
"""

import logging
import re

UNTRUSTED_MAX = 200

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


def untrusted(value, limit=UNTRUSTED_MAX):
    """``value`` as one printable, quoted line: control characters (CR, LF, ANSI
    escapes, ...) and non-ASCII are shown escaped, long values cut.

    ``ascii()`` escapes every character a forged log line needs (``\\n``,
    ``\\r``, ``\\x1b``) and quotes the whole value, so it cannot be mistaken
    for the rest of the message.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    return ascii(text)
