# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A tracking pixel in an Outlook event's body does not reach Odoo, unless the
"Load remote images" setting says so (issue 9, item 7)."""

from odoo.tests import tagged

from .sync_common import SyncCase

PIXEL = "https://track.example/open.gif?who=alice"
BODY = f'<p>Quarterly <b>review</b></p><img src="{PIXEL}" width="1" height="1"><p>Room 4</p>'


@tagged("post_install", "-at_install", "mcs_sync")
class TestSyncRemoteImages(SyncCase):

    def pulled_description(self, subject):
        created = self.outlook_create(subject, body={"contentType": "html", "content": BODY})
        self.sync()
        binding = self.env["microsoft.calendar.binding"].sudo().search([("graph_id", "=", created["id"])])
        self.assertTrue(binding.event_id, "the Outlook event was imported")
        return str(binding.event_id.description)

    def test_tracking_pixel_is_removed_by_default(self):
        description = self.pulled_description("Review")
        self.assertNotIn("track.example", description)
        self.assertNotIn("<img", description)
        self.assertIn("Quarterly", description)
        self.assertIn("Room 4", description)

    def test_remote_images_are_kept_when_the_setting_is_on(self):
        settings = self.env["res.config.settings"].create({"mcs_allow_remote_images": True})
        settings.execute()
        self.assertTrue(self.env["microsoft.calendar.config"]._mcs_settings().allow_remote_images)
        description = self.pulled_description("Review with images")
        self.assertIn('<img src="https://track.example/open.gif', description)
        self.assertIn("Room 4", description)
