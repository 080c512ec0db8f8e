# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings > General Settings > Integrations > Outlook Calendar."""

from lxml import etree

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):

    def settings(self, **values):
        return self.env["res.config.settings"].create(values)

    def param(self, key):
        return self.env["ir.config_parameter"].sudo().get_param(f"microsoft_calendar_sync.{key}")

    def test_defaults(self):
        settings = self.settings()
        self.assertFalse(settings.mcs_enabled)
        self.assertEqual(settings.mcs_tenant, "common")
        self.assertEqual(settings.mcs_sync_days_back, 30)
        self.assertEqual(settings.mcs_sync_days_forward, 365)
        self.assertEqual(settings.mcs_polling_minutes, 15)
        self.assertFalse(settings.mcs_allow_other_mailbox)
        self.assertFalse(settings.mcs_use_sandbox)

    def test_round_trip(self):
        values = {
            "mcs_enabled": True, "mcs_client_id": "6731de76-14a6-49ae-97bc-6eba6914391e",
            "mcs_client_secret": "secret~value", "mcs_tenant": "contoso.onmicrosoft.com",
            "mcs_sync_days_back": 7, "mcs_sync_days_forward": 90, "mcs_polling_minutes": 5,
            "mcs_allow_other_mailbox": True, "mcs_use_sandbox": True,
            "mcs_login_url": "https://localhost:8443", "mcs_graph_url": "https://localhost:8443/v1.0",
        }
        self.settings(**values).execute()
        self.assertEqual(self.param("enabled"), "True")
        self.assertEqual(self.param("client_id"), values["mcs_client_id"])
        self.assertEqual(self.param("client_secret"), "secret~value")
        self.assertEqual(self.param("tenant"), "contoso.onmicrosoft.com")
        self.assertEqual(self.param("sync_days_forward"), "90")
        self.assertEqual(self.param("login_url"), "https://localhost:8443")
        reopened = self.settings()
        for field, value in values.items():
            if field != "mcs_client_secret":
                self.assertEqual(reopened[field], value, field)
        # the secret is write-only: the form says one is set, never what it is
        self.assertFalse(reopened.mcs_client_secret)
        self.assertTrue(reopened.mcs_client_secret_set)
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        self.assertTrue(settings.enabled and settings.configured and settings.use_sandbox)
        self.assertEqual(settings.graph_url, "https://localhost:8443/v1.0")
        # the authority URL the sandbox prints (with a tenant) is taken as its host
        self.settings(**{**values, "mcs_login_url": "https://localhost:8443/common"}).execute()
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        self.assertEqual(settings.login_url, "https://localhost:8443")
        self.assertEqual(settings.sign_in().authority, "https://localhost:8443/contoso.onmicrosoft.com")
        # unticking the sandbox goes back to Microsoft's URLs
        self.settings(**{**values, "mcs_use_sandbox": False}).execute()
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        self.assertEqual(settings.login_url, "https://login.microsoftonline.com")
        self.assertEqual(settings.graph_url, "https://graph.microsoft.com/v1.0")
        self.assertIs(settings.verify, True)

    def test_redirect_uri_and_its_warning(self):
        icp = self.env["ir.config_parameter"].sudo()
        cases = {
            "https://odoo.example.com": False,
            "http://localhost:8069": False,
            "http://127.0.0.1:8069": False,
            "http://odoo.example.com": True,
        }
        for base_url, warns in cases.items():
            icp.set_param("web.base.url", base_url)
            settings = self.settings()
            self.assertEqual(settings.mcs_redirect_uri, base_url + "/microsoft_account/authentication")
            self.assertEqual(bool(settings.mcs_redirect_uri_warning), warns, base_url)
            if warns:
                self.assertIn("https", settings.mcs_redirect_uri_warning)

    def test_invalid_values_are_refused(self):
        for values in ({"mcs_tenant": "not a tenant!"}, {"mcs_polling_minutes": 0},
                       {"mcs_sync_days_back": -1}, {"mcs_sync_days_forward": 0},
                       {"mcs_enabled": True, "mcs_use_sandbox": True, "mcs_login_url": "http://localhost:8443",
                        "mcs_graph_url": "https://localhost:8443/v1.0"},
                       {"mcs_enabled": True, "mcs_use_sandbox": True, "mcs_login_url": "https://localhost:8443",
                        "mcs_graph_url": "https://localhost:8443/v1.0", "mcs_ca_file": "/nonexistent/ca.pem"}):
            with self.subTest(values=values), self.assertRaises(ValidationError):
                self.settings(**values)

    def test_settings_form_shows_the_option_in_integrations(self):
        arch = self.env["res.config.settings"].get_views([(False, "form")])["views"]["form"]["arch"]
        form = etree.fromstring(arch)
        block = form.xpath("//block[@name='integration']")[0]
        setting = block.xpath(".//setting[@id='microsoft_calendar_sync_setting']")[0]
        names = set(setting.xpath(".//field/@name"))
        self.assertLessEqual({"mcs_enabled", "mcs_client_id", "mcs_client_secret", "mcs_tenant", "mcs_redirect_uri",
                              "mcs_use_sandbox", "mcs_login_url", "mcs_graph_url", "mcs_ca_file",
                              "mcs_sync_days_back", "mcs_sync_days_forward", "mcs_polling_minutes",
                              "mcs_allow_other_mailbox"}, names)
        secret = setting.xpath(".//field[@name='mcs_client_secret']")[0]
        self.assertEqual(secret.get("password"), "True")
        # Calendar's own option (which installs Odoo's microsoft_calendar) is hidden
        calendar_option = form.xpath("//setting[@id='sync_outlook_calendar_setting']")[0]
        self.assertEqual(calendar_option.get("invisible"), "1")

    def test_instant_updates_switch_survives_a_save(self):
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions")
        Trigger = self.env["ir.cron.trigger"].sudo()

        def triggers():
            return Trigger.search_count([("cron_id", "=", cron.id)])

        self.assertTrue(self.settings().mcs_change_notifications)  # on by default
        before = triggers()
        self.settings(mcs_change_notifications=False).execute()
        self.assertEqual(self.param("change_notifications"), "False")
        self.assertFalse(self.settings().mcs_change_notifications)
        self.assertFalse(self.env["microsoft.calendar.subscription"]._mcs_enabled())
        self.assertEqual(triggers(), before + 1, "switching off has the subscriptions cron run")
        # an unrelated save keeps it off and triggers nothing
        self.settings(mcs_change_notifications=False, mcs_polling_minutes=20).execute()
        self.assertEqual(self.param("change_notifications"), "False")
        self.assertEqual(triggers(), before + 1)
        self.settings(mcs_change_notifications=True).execute()
        self.assertEqual(self.param("change_notifications"), "True")
        self.assertTrue(self.env["microsoft.calendar.subscription"]._mcs_enabled())
        self.assertEqual(triggers(), before + 2)

    def test_notification_url_or_why_instant_updates_cannot_work(self):
        icp = self.env["ir.config_parameter"].sudo()
        icp.set_param("web.base.url", "https://odoo.example.com")
        settings = self.settings()
        self.assertEqual(settings.mcs_notification_url, "https://odoo.example.com/microsoft_calendar_sync/notifications")
        self.assertFalse(settings.mcs_notification_url_warning)
        icp.set_param("web.base.url", "http://odoo.example.com")
        settings = self.settings()
        self.assertFalse(settings.mcs_notification_url)
        self.assertIn("https", settings.mcs_notification_url_warning)

    def test_every_option_has_help_in_the_form(self):
        arch = self.env["res.config.settings"].get_views([(False, "form")])["views"]["form"]["arch"]
        setting = etree.fromstring(arch).xpath("//setting[@id='microsoft_calendar_sync_setting']")[0]
        self.assertIn("col-lg-12", setting.get("class", ""))
        for field in setting.xpath(".//field[not(@invisible='1')]"):
            name = field.get("name")
            if name in ("mcs_enabled", "mcs_redirect_uri_warning", "mcs_notification_url_warning"):
                continue
            # the help sits next to the field (a checkbox: next to its label), or in the row that follows it
            # ("Changes made by others", which another view inserts after the conflict policy's row)
            parent = field.getparent()
            texts = parent.xpath(".//div[contains(@class, 'text-muted')]") or parent.xpath(
                "following-sibling::div[1]//div[contains(@class, 'text-muted')]")
            self.assertTrue(texts, f"{name} has no help shown next to it")
        buttons = set(setting.xpath(".//button/@name"))
        self.assertLessEqual({"action_mcs_test_connection", "action_mcs_open_accounts"}, buttons)
