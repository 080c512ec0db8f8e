// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

/**
 * Settings > Integrations > Outlook Calendar: the block at full width, and its
 * Test connection button with the saved credentials (good) and with a typed
 * wrong secret (bad), the message saying what is wrong.
 */
registry.category("web_tour.tours").add("microsoft_calendar_sync_test_connection", {
    url: "/odoo/settings",
    steps: () => [
        { trigger: "#microsoft_calendar_sync_setting.col-lg-12 .o_mcs_settings" },
        { trigger: "#microsoft_calendar_sync_setting [name='mcs_redirect_uri'] .o_clipboard_button" },
        { trigger: "#microsoft_calendar_sync_setting .o_mcs_open_accounts" },
        { trigger: "#microsoft_calendar_sync_setting button.o_mcs_test_connection", run: "click" },
        { trigger: ".o_notification:contains('Outlook connection works')" },
        { trigger: ".o_notification .o_notification_close", run: "click" },
        { trigger: "body:not(:has(.o_notification))" },
        { trigger: "#microsoft_calendar_sync_setting [name='mcs_client_secret'] input", run: "edit not-the-secret" },
        { trigger: "#microsoft_calendar_sync_setting button.o_mcs_test_connection", run: "click" },
        { trigger: ".o_notification:contains('Outlook connection failed'):contains('client secret is wrong')" },
    ],
});
