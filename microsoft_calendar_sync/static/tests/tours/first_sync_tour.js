// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

// The first synchronization waits for the user's review: the Outlook panel says so and opens the
// review (what is imported, created, e-mailed), whose choice starts it.
registry.category("web_tour.tours").add("microsoft_calendar_sync_first_sync_review", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_mcs_outlook .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_first_sync:contains('waits for your review')" },
        { trigger: ".o_mcs_review_first_sync", run: "click" },
        { trigger: ".modal div[name='past_count']:contains('1')" },
        { trigger: ".modal div[name='invitation_count']:contains('0')" },
        { trigger: ".modal div[name='future_meetings'] input[data-value='with_attendees']", run: "click" },
        { trigger: ".modal div[name='invitation_count']:contains('2')" },
        { trigger: ".modal div[name='recipients']:contains('erin@fabrikam.example (external)')" },
        { trigger: ".modal button[name='action_confirm']", run: "click" },
        { trigger: ".o_notification:contains('The first synchronization starts now')" },
        { trigger: "body:not(:has(.modal))" },
    ],
});
