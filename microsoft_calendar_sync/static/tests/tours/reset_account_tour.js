// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// A manager resets a user's Outlook account from the user's form: the preview counts, then the result.
registry.category("web_tour.tours").add("microsoft_calendar_sync_reset_account", {
    steps: () => [
        { trigger: ".o_form_view .o_notebook a.nav-link:contains('Outlook Calendar')", run: "click" },
        { trigger: ".o_form_view button[name='action_mcs_open_reset_account']", run: "click" },
        { trigger: ".modal div[name='delete_mode'] input[data-value='outlook']", run: "click" },
        { trigger: ".modal div[name='preview_outlook']:contains('1')" },
        { trigger: ".modal div[name='preview_odoo']:contains('0')" },
        { trigger: ".modal button[name='action_confirm']", run: "click" },
        { trigger: ".modal div[name='result']:contains('1 events deleted from Outlook')" },
        { trigger: ".modal div[name='result']:contains('0 events deleted from Odoo')" },
        { trigger: ".modal button.btn-secondary:contains('Close')", run: "click" },
        { trigger: "body:not(:has(.modal))" },
    ],
});
