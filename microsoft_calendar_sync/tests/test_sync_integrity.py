# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Nothing lost, nothing doubled (issue 10): tokens kept after a Graph 401,
undecidable deletion checks retried and visible, creates idempotent across
crashes, deletions found after a lost delta token, If-Match on every write."""

from odoo.tests import tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncIntegrity(SyncCase):

    def test_graph_401_after_refresh_keeps_the_tokens(self):
        self.outlook_create("Kept through a glitch")
        cache = self.account.token_cache
        self.assertTrue(cache)
        # Graph refuses the token twice: before and right after the client's one refresh.
        self.fault(method="GET", path="*delta*", status=401, times=2)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            self.sync()
        self.assertEqual(self.account.state, "error", "a retryable error, not 'needs re-auth'")
        self.assertTrue(self.account.token_cache, "the tokens are kept")
        self.assertIn("refused the access token", self.account.last_error)
        # the next run works with the same sign-in
        self.sync()
        self.assertEqual(self.account.state, "connected", self.account.last_error)
        self.assertEqual(self.env["calendar.event"].sudo().search_count([("name", "=", "Kept through a glitch")]), 1)
