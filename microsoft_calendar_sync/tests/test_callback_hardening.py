# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sign-in callback against hostile requests: forged log lines, form POSTs."""

import logging
from urllib.parse import urlencode

from odoo.tests import tagged

from .common import CapturingHandler, OutlookCase

FORGED_LINE = "\n2026-12-02 10:00:00,000 1 ERROR odoo_test odoo.http: admin password changed\x1b[0m"


@tagged("post_install", "-at_install")
class TestCallbackHardening(OutlookCase):

    def test_error_parameter_cannot_forge_a_log_line(self):
        state = self.query_of(self.start_connect(self.alice))["state"]
        handler = CapturingHandler()
        logger = logging.getLogger("odoo.addons.microsoft_calendar_sync")
        logger.addHandler(handler)
        try:
            response = self.come_back(self.redirect_uri + "?" + urlencode(
                {"error": "access_denied" + FORGED_LINE, "state": state}))
        finally:
            logger.removeHandler(handler)
        self.assertEqual(response.status_code, 400)
        [line] = [line for line in handler.lines if "answered with error" in line]
        self.assertNotIn("\n", line)
        self.assertNotIn("\x1b", line)
        self.assertIn("access_denied\\n2026-12-02", line, "the value is kept, escaped")

    def test_callback_answers_get_only(self):
        state = self.query_of(self.start_connect(self.alice))["state"]
        # a cross-site form POST (response_mode=form_post, or a forged page) is not taken
        response = self.url_open(self.redirect_uri, data={"code": "x", "state": state}, allow_redirects=False)
        self.assertEqual(response.status_code, 405)
        self.assertTrue(self.env["microsoft.calendar.sign.in"].sudo().search([("user_id", "=", self.alice.id)]),
                        "the refused POST did not use up the sign-in")
