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
        { trigger: ".o_mcs_status[title*='Syncing…'][title*='alice@contoso.com']" },
    ],
    connected: [
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_icon_synced.text-success" },
        { trigger: ".o_mcs_status[title*='Synced just now'][title*='alice@contoso.com']" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_status_line:contains('Synced just now')" },
        { trigger: ".o_mcs_sync_now" },
        { trigger: ".o_mcs_pause" },
        { trigger: ".o_mcs_disconnect" },
        { trigger: ".o-dropdown--menu:not(:has(.o_mcs_resume))" },
    ],
    paused: [
        { trigger: ".o_mcs_outlook[data-mcs-state='paused'] .o_mcs_icon_paused" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_status_line:contains('Paused')" },
        { trigger: ".o_mcs_resume" },
        { trigger: ".o-dropdown--menu:not(:has(.o_mcs_pause))" },
    ],
    needs_reauth: [
        { trigger: ".o_mcs_outlook[data-mcs-state='needs_reauth'] .o_mcs_icon_reauth" },
        { trigger: ".o_mcs_status:contains('sign in again')" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_status_line:contains('Needs you to sign in again')" },
        { trigger: ".o_mcs_error_message:contains('Your Outlook connection has expired.')" },
        { trigger: ".o_mcs_reconnect" },
    ],
    error: [
        { trigger: ".o_mcs_outlook[data-mcs-state='error'] .o_mcs_icon_error.text-danger" },
        { trigger: ".o_mcs_status[title*='Graph is unhappy']" },
        { trigger: ".o_mcs_status", run: "click" },
        { trigger: ".o_mcs_status_line.text-danger:contains('Error: Graph is unhappy (503).')" },
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

// The panel in words: the last run, the events not synchronized by name and reason, the link to them.
registry.category("web_tour.tours").add("microsoft_calendar_sync_panel", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_status_line:contains('Synced just now')" },
        { trigger: ".o_mcs_last_run:contains('2 sent to Outlook, 1 received from Outlook')" },
        { trigger: ".o_mcs_push:contains('Instant updates are off: not https')" },
        { trigger: ".o_mcs_panel:not(:has(.o_mcs_counts))" },
        { trigger: ".o_mcs_errors:contains('1 events could not be synchronized')" },
        {
            trigger:
                ".o_mcs_skipped_item:contains('Weekly standup (19 occurrences)'):contains('existed before the synchronization started')",
        },
        { trigger: ".o_mcs_skipped_item:contains('Broken invite'):contains('cannot be read')" },
        { trigger: ".o_mcs_open_skipped", run: "click" },
        { trigger: ".o_facet_value:contains('Skipped')" },
        { trigger: ".o_list_view .o_data_row:contains('Weekly standup')" },
    ],
});

// "Sync now" brings an Outlook rename into the calendar without a reload.
registry.category("web_tour.tours").add("microsoft_calendar_sync_refresh_after_sync_now", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_calendar_renderer .fc-event:contains('Before the rename')" },
        { trigger: ".o_mcs_outlook[data-mcs-state='connected'] .o_mcs_status", run: "click" },
        { trigger: ".o_mcs_sync_now", run: "click" },
        { trigger: ".o_notification:contains('Synchronized with alice@contoso.com')" },
        { trigger: ".o_calendar_renderer .fc-event:contains('Renamed in Outlook')" },
        { trigger: ".o_calendar_renderer:not(:has(.fc-event:contains('Before the rename')))" },
    ],
});

// A run the user did not start (here: the sync route called from outside the button)
// tells the open calendar on the bus, and the calendar reloads.
registry.category("web_tour.tours").add("microsoft_calendar_sync_refresh_on_bus", {
    url: "/odoo/calendar",
    steps: () => [
        { trigger: ".o_calendar_renderer .fc-event:contains('Before the rename')" },
        { trigger: ".o_mcs_outlook[data-mcs-state='connected']" },
        {
            trigger: ".o_calendar_renderer",
            run: async () => {
                await fetch("/microsoft_calendar_sync/sync_now", {
                    method: "POST",
                    headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({ jsonrpc: "2.0", method: "call", params: {} }),
                });
            },
        },
        { trigger: ".o_calendar_renderer .fc-event:contains('Renamed in Outlook')" },
    ],
});

// The event's Outlook state: a line in the calendar's popover, a page on its form.
registry.category("web_tour.tours").add("microsoft_calendar_sync_event_state", {
    url: "/odoo/calendar",
    steps: () => [
        {
            // as calendar's own tours do: the calendar tells a click from a double click after a delay
            trigger: ".o_calendar_renderer .fc-event-main:contains('Synced meeting')",
            async run(actions) {
                await actions.click();
                await new Promise((resolve) => setTimeout(resolve, 1000));
                document.querySelector(".o_cw_custom_highlight")?.click();
            },
        },
        { trigger: ".o_popover:contains('Synchronized with alice@contoso.com')" },
        { trigger: ".o_popover .o_cw_popover_edit", run: "click" },
        { trigger: ".o_form_view .o_notebook a.nav-link:contains('Outlook')", run: "click" },
        { trigger: ".o_form_view [name='mcs_binding_ids'] .o_data_row:contains('Alice Martin')" },
        { trigger: ".o_form_view [name='mcs_binding_ids'] .o_data_row .badge:contains('Synchronized')" },
    ],
});
