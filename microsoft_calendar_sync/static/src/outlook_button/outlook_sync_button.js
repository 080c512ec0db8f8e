// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime } from "@web/core/l10n/dates";
import { rpc } from "@web/core/network/rpc";
import { useService } from "@web/core/utils/hooks";

/** What the server sends the user's tabs when a sync run changed their Odoo events. */
export const CHANGED_NOTIFICATION = "microsoft_calendar_sync/changed";

/**
 * The Outlook button of the Calendar app: one status line ("Synced 2 min ago",
 * "Syncing…", "Paused", "Needs you to sign in again", "Error: …") and a panel
 * saying what the last run did, what is not synchronized and why, and the
 * actions (Sync now, Stop synchronization, Resume, Reconnect, Disconnect).
 * Everything goes through /microsoft_calendar_sync/* (the server checks who asks).
 *
 * ``onChange`` is called when a sync changed the user's Odoo events: after
 * "Sync now", or when a background run says so on the bus.
 */
export class OutlookSyncButton extends Component {
    static template = "microsoft_calendar_sync.OutlookSyncButton";
    static components = { Dropdown, DropdownItem };
    static props = { onChange: { type: Function, optional: true } };

    setup() {
        this.notification = useService("notification");
        this.action = useService("action");
        this.busService = useService("bus_service");
        this.state = useState({ status: null, busy: false });
        this.onChanged = this.onChanged.bind(this);
        this.busService.subscribe(CHANGED_NOTIFICATION, this.onChanged);
        onWillUnmount(() => this.busService.unsubscribe(CHANGED_NOTIFICATION, this.onChanged));
        onWillStart(() => this.refresh());
    }

    async refresh() {
        const status = await rpc("/microsoft_calendar_sync/status");
        if (status.flash) {
            this.notification.add(status.flash.message, { type: status.flash.type });
        }
        this.state.status = status;
        if (status.flash && status.flash.review_first_sync) {
            // just connected, with existing meetings: what the first synchronization does with them
            await this.reviewFirstSync();
        }
    }

    /** The first synchronization waits for the user's review (existing meetings). */
    get firstSyncText() {
        return (this.status.first_sync && this.status.first_sync.text) || "";
    }

    async reviewFirstSync() {
        const action = await rpc("/microsoft_calendar_sync/review_first_sync");
        await this.action.doAction(action, { onClose: () => this.refresh() });
    }

    /** A background run changed the user's events: show its outcome and reload the calendar. */
    async onChanged() {
        await this.refresh();
        await this.props.onChange?.();
    }

    get status() {
        return this.state.status || {};
    }

    get visible() {
        return this.status.enabled || this.status.is_admin;
    }

    get available() {
        return this.status.enabled && this.status.configured;
    }

    /** "2 min ago", or "just now" under a minute (the clocks of browser and server differ a little). */
    relative(value) {
        const moment = deserializeDateTime(value);
        if (Math.abs(moment.diffNow("seconds").seconds) < 60) {
            return _t("just now");
        }
        return moment.toRelative({ style: "short" });
    }

    /** The status in one line. */
    get statusLine() {
        const s = this.status;
        if (!this.available) {
            return _t("Outlook Calendar is not set up yet (Settings > General Settings > Integrations).");
        }
        switch (s.state) {
            case "connected":
                return s.last_sync
                    ? _t("Synced %s", this.relative(s.last_sync))
                    : _t("Connected, not synced yet");
            case "syncing":
                return _t("Syncing…");
            case "paused":
                return _t("Paused");
            case "needs_reauth":
                return _t("Needs you to sign in again");
            case "error":
                return _t("Error: %s", s.last_error || _t("the last synchronization failed."));
            default:
                return _t("Connect your Outlook calendar");
        }
    }

    get tooltip() {
        return this.status.mailbox ? `${this.statusLine}\n${this.status.mailbox}` : this.statusLine;
    }

    /** Instant updates (change notifications) on or off, and why; absent on servers without them. */
    get pushText() {
        return (this.status.push && this.status.push.text) || "";
    }

    connect() {
        if (!this.available) {
            if (this.status.is_admin) {
                this.action.doAction("base_setup.action_general_configuration");
            } else {
                this.notification.add(
                    _t("An administrator must set up Outlook Calendar before you can connect."),
                    { type: "warning" }
                );
            }
            return;
        }
        window.location.assign("/microsoft_calendar_sync/connect");
    }

    async call(route, successMessage) {
        this.state.busy = true;
        try {
            const result = await rpc(`/microsoft_calendar_sync/${route}`);
            if (result.status) {
                this.state.status = result.status;
                this.notification.add(result.message, { type: result.type });
            } else {
                this.state.status = result;
                if (successMessage) {
                    this.notification.add(successMessage, { type: "success" });
                }
            }
            return result;
        } finally {
            this.state.busy = false;
        }
    }

    async syncNow() {
        await this.call("sync_now");
        if (this.status.last_run_changed) {
            await this.props.onChange?.();
        }
    }

    pause() {
        return this.call("pause", _t("Outlook synchronization stopped."));
    }

    resume() {
        return this.call("resume", _t("Outlook synchronization resumed."));
    }

    startAfresh() {
        return this.call("start_afresh", _t("Outlook synchronization started afresh with this mailbox."));
    }

    disconnect() {
        return this.call("disconnect", _t("Outlook disconnected. Your events stay in Odoo and in Outlook."));
    }
}
