// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { Component, onWillStart, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { rpc } from "@web/core/network/rpc";
import { useService } from "@web/core/utils/hooks";

/**
 * The Outlook button of the Calendar app: shows the user's Outlook connection
 * (not connected, synchronizing, synchronized, paused, needs re-authentication,
 * error) and offers Sync now, Stop synchronization, Resume and Disconnect.
 * Everything goes through /microsoft_calendar_sync/* (the server checks who asks).
 */
export class OutlookSyncButton extends Component {
    static template = "microsoft_calendar_sync.OutlookSyncButton";
    static components = { Dropdown, DropdownItem };
    static props = { onChange: { type: Function, optional: true } };

    setup() {
        this.notification = useService("notification");
        this.action = useService("action");
        this.state = useState({ status: null, busy: false });
        onWillStart(() => this.refresh());
    }

    async refresh() {
        const status = await rpc("/microsoft_calendar_sync/status");
        if (status.flash) {
            this.notification.add(status.flash.message, { type: status.flash.type });
        }
        this.state.status = status;
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

    get lastSyncText() {
        return this.formatMoment(this.status.last_sync);
    }

    formatMoment(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    get tooltip() {
        const s = this.status;
        if (!this.available) {
            return _t("Outlook Calendar is not set up yet (Settings > General Settings > Integrations).");
        }
        switch (s.state) {
            case "connected": {
                const lines = [_t("Connected to %s.", s.mailbox)];
                lines.push(
                    s.last_sync
                        ? _t("Last synchronization: %s", this.lastSyncText)
                        : _t("Not synchronized yet.")
                );
                if (s.last_check) {
                    lines.push(_t("Last connection check: %s", this.formatMoment(s.last_check)));
                }
                return lines.join("\n");
            }
            case "syncing":
                return _t("Synchronizing with %s…", s.mailbox);
            case "paused":
                return _t("Synchronization with %s is stopped.", s.mailbox);
            case "needs_reauth":
                return _t("Microsoft asks you to sign in again. %s", s.last_error || "");
            case "error":
                return s.last_error || _t("The last synchronization failed.");
            default:
                return _t("Connect your Outlook calendar");
        }
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
            this.props.onChange?.();
        } finally {
            this.state.busy = false;
        }
    }

    syncNow() {
        return this.call("sync_now");
    }

    pause() {
        return this.call("pause", _t("Outlook synchronization stopped."));
    }

    resume() {
        return this.call("resume", _t("Outlook synchronization resumed."));
    }

    disconnect() {
        return this.call("disconnect", _t("Outlook disconnected. Your Odoo events are kept."));
    }
}
