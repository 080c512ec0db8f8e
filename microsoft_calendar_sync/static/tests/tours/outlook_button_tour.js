// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { registry } from "@web/core/registry";

/**
 * One tour per state of the Outlook button: the Python test sets the user's
 * account to that state, opens the Calendar and lets the tour check what is
 * rendered (icon, label, tooltip, menu entries).
 */
const STATE_CHECKS = {
    not_connected: [
        { trigger: ".o_mcs_outlook[data-mcs-state='not_connected'] button.o_mcs_connect[title='Connect your Outlook calendar']" },
    ],
    syncing: [
        { trigger: ".o_mcs_outlook[data-mcs-state='syncing'] .o_mcs_icon_syncing" },
        { trigger: ".o_mcs_status[title*='Synchronizing with alice@contoso.com']" },
    ],
    connected: [
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_icon_synced.text-success" },
        { trigger: ".o_mcs_status[title*='Connected to alice@contoso.com'][title*='Last synchronization: ']" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_sync_now" },
        { trigger: ".o_mcs_pause" },
        { trigger: ".o_mcs_disconnect" },
        { trigger: ".o-dropdown--menu:not(:has(.o_mcs_resume))" },
    ],
    paused: [
        { trigger: ".o_mcs_outlook[data-mcs-state='paused'] .o_mcs_icon_paused" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_resume" },
        { trigger: ".o-dropdown--menu:not(:has(.o_mcs_pause))" },
    ],
    needs_reauth: [
        { trigger: ".o_mcs_outlook[data-mcs-state='needs_reauth'] .o_mcs_icon_reauth" },
        { trigger: ".o_mcs_status:contains('sign in again')" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_reconnect" },
    ],
    error: [
        { trigger: ".o_mcs_outlook[data-mcs-state='error'] .o_mcs_icon_error.text-danger" },
        { trigger: ".o_mcs_status[title*='Graph is unhappy']" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_error_message:contains('Graph is unhappy')" },
        { trigger: ".o_mcs_reconnect" },
    ],
};

for (const [state, steps] of Object.entries(STATE_CHECKS)) {
    registry.category("web_tour.tours").add(`microsoft_calendar_sync_button_${state}`, {
        url: "/odoo/calendar",
        steps: () => [{ trigger: ".o_calendar_container" }, ...steps],
    });
}

// An administrator sees the button before the option is set up; it leads to the settings.
registry.category("web_tour.tours").add("microsoft_calendar_sync_button_setup", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_mcs_outlook[data-mcs-state='unavailable'] .o_mcs_connect[title*='not set up yet']", run: "click" },
        { trigger: "#microsoft_calendar_sync_setting" },
    ],
});

// The menu acts on the server: stop, resume, disconnect.
registry.category("web_tour.tours").add("microsoft_calendar_sync_button_menu", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_pause", run: "click" },
        { trigger: ".o_notification:contains('Outlook synchronization stopped')" },
        { trigger: ".o_mcs_outlook[data-mcs-state='paused'] .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_resume", run: "click" },
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_disconnect", run: "click" },
        { trigger: ".o_mcs_outlook[data-mcs-state='not_connected'] .o_mcs_connect" },
    ],
});
