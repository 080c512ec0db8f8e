# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The sign-in result pages are Odoo pages: the company's logo, the footer, who is signed in."""

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestSignInPages(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = new_test_user(cls.env, "alice", name="Alice Martin", groups="base.group_user")
        cls.env["ir.config_parameter"].sudo().set_param("microsoft_calendar_sync.enabled", "False")

    def test_a_result_page_is_in_odoo_layout(self):
        self.authenticate("alice", "alice")
        response = self.url_open("/microsoft_calendar_sync/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 400)
        page = response.text
        self.assertIn("<title>Outlook Calendar is not available</title>", page)
        self.assertIn("/web/binary/company_logo", page)  # Odoo's frontend header
        self.assertIn("o_footer", page)
        self.assertIn("Signed in to Odoo as Alice Martin", page)
        self.assertIn("Ask your administrator", page)

    def test_the_signed_out_page_names_nobody(self):
        response = self.url_open("/microsoft_account/authentication?state=x&code=y", allow_redirects=False)
        self.assertEqual(response.status_code, 401)
        self.assertIn("Sign in to Odoo first", response.text)
        self.assertIn("/web/binary/company_logo", response.text)
        self.assertNotIn("Signed in to Odoo as", response.text)
