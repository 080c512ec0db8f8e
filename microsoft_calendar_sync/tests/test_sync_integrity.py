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

    # -- defect 3: an undecidable deletion check ----------------------------------

    def odoo_event(self, graph_id):
        binding = self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", graph_id)])
        return binding.event_id.with_context(active_test=False)

    def test_undecidable_deletion_check_is_a_visible_error_retried_until_decided(self):
        created = self.outlook_create("Maybe gone")
        self.sync()
        event = self.odoo_event(created["id"])
        binding = self.binding(event)
        self.outlook_delete(created["id"])
        # Outlook reports it @removed; the GET that tells a deletion from a move answers 400
        self.fault(method="GET", path="/me/events/*", status=400, times=None)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            self.sync()
        self.assertTrue(event.active, "not decided: not archived")
        self.assertEqual(binding.state, "error", "never a silent keep")
        self.assertTrue(binding.deletion_check)
        self.assertIn("asked again", binding.last_error)
        self.assertEqual(self.account.sync_error_count, 1)
        self.assertTrue(self.account.last_error, "the account says something is wrong")
        # still no answer: asked again by the next run (no new @removed needed)
        with self.assertLogs("odoo.addons.microsoft_calendar_sync", "WARNING"):
            counts = self.sync()
        self.assertEqual(counts["graph batch"], 1, counts)
        self.assertEqual((binding.state, binding.attempts), ("error", 2))
        # Outlook answers 404: a deletion, settled by the usual rules (archived)
        self.sandbox.world.extra["faults"].clear()
        self.sync()
        self.assertFalse(event.active)
        self.assertFalse(binding.exists())
        self.assertEqual(self.account.sync_error_count, 0)
        self.assertEqual(self.account.state, "connected")
