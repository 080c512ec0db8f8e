# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a run costs: an import writes nothing back to Outlook, an idle run is one
HTTP request (no sign-in discovery) and a number of SQL queries that does not grow
with the calendar, and an incremental run costs in proportion to what changed."""

from datetime import timedelta

from outlook_sync.client import BatchRequest

from odoo.tests import tagged

from .sync_common import SyncCase


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncCost(SyncCase):

    def outlook_create_many(self, count, prefix):
        start = self.tomorrow
        with self.outlook() as client:
            client.batch([BatchRequest("POST", "/me/events", {
                "subject": f"{prefix} {i}",
                "start": {"dateTime": (start + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=i, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                        "timeZone": "UTC"}}) for i in range(count)])

    def measured_sync(self):
        """(run counts, sandbox requests by endpoint, SQL queries) of one run."""
        self.env.flush_all()
        self.env.invalidate_all()  # a cron run starts with an empty cache
        self.control("DELETE", "/stats")
        before = self.env.cr.sql_log_count
        counts = self.sync()
        self.env.flush_all()
        return counts, self.control("GET", "/stats")["by_endpoint"], self.env.cr.sql_log_count - before

    def test_import_writes_nothing_back_and_idle_runs_cost_the_same_whatever_the_size(self):
        _counts, _requests, empty_idle = self.measured_sync()
        self.outlook_create_many(10, "Small")
        counts, requests, _queries = self.measured_sync()
        self.assertEqual(counts["odoo_created"], 10)
        self.assertFalse([name for name in requests if name.startswith(("POST /$batch", "PATCH"))],
                         f"an import sends nothing to Outlook: {requests}")

        _counts, requests, small_idle = self.measured_sync()
        self.assertEqual(sum(requests.values()), 1, f"an idle run is one delta request: {requests}")

        self.outlook_create_many(40, "Large")
        counts, _requests, _queries = self.measured_sync()
        self.assertEqual(counts["odoo_created"], 40)
        self.assertFalse(self.measured_sync()[0]["received"], "our import does not come back in the next round")
        _counts, requests, large_idle = self.measured_sync()
        self.assertEqual(sum(requests.values()), 1, requests)
        self.assertEqual((small_idle, large_idle), (empty_idle, empty_idle),
                         "an idle run's SQL does not depend on the calendar's size (0, 10, 50 events): "
                         "it reads no sync status row")

    def test_incremental_run_costs_what_changed(self):
        self.outlook_create_many(30, "Known")
        self.sync()
        odoo_edited, outlook_edited = (self.Event.search([("name", "=", name)]) for name in ("Known 3", "Known 5"))
        odoo_edited.location = "Room 7"
        self.outlook_update(self.binding(outlook_edited).graph_id, {"subject": "Known 5 (moved)"})
        counts, requests, queries = self.measured_sync()
        self.assertEqual((counts["sent"], counts["received"]), (1, 1), counts)
        self.assertEqual(outlook_edited.name, "Known 5 (moved)")
        # one delta request and one $batch holding the PATCH (the sandbox counts both, as
        # Outlook's limits do): nothing in proportion to the 30 events
        self.assertEqual(requests, {"GET /me/calendarView/delta": 1, "POST /$batch": 1,
                                    "PATCH /me/events/{event_id}": 1})
        # our PATCH comes back in the next round: known by its changeKey, nothing is read or decided
        echo, _requests, echo_queries = self.measured_sync()
        self.assertEqual((echo["unchanged"], echo["received"], echo["sent"]), (1, 0, 0), echo)
        _counts, _requests, idle = self.measured_sync()
        self.assertLess(echo_queries - idle, 5, f"an echo costs {echo_queries} queries, an idle run {idle}")
        self.assertLess(queries - idle, 40, f"two changes cost {queries} queries, an idle run {idle}")
