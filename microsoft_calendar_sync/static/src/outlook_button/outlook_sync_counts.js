// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { OutlookSyncButton } from "./outlook_sync_button";

/**
 * The sync engine's figures on the Outlook button: how many events are
 * synchronized, waiting, in error or skipped, and the last run's summary
 * (from /microsoft_calendar_sync/status: ``counts`` and ``last_run``); and,
 * when colleagues' changes wait for this user's approval, a link to them.
 */
patch(OutlookSyncButton.prototype, {
    get countsText() {
        const counts = this.status.counts || {};
        if (!Object.keys(counts).length) {
            return "";
        }
        return _t(
            "%(synced)s synchronized, %(pending)s waiting, %(errors)s in error, %(skipped)s skipped",
            {
                synced: counts.synced || 0,
                pending: counts.pending || 0,
                errors: counts.errors || 0,
                skipped: counts.skipped || 0,
            }
        );
    },

    get heldText() {
        const held = (this.status.counts || {}).held || 0;
        return held ? _t("%s changes by others wait for your approval", held) : "";
    },

    openHeld() {
        return this.action.doAction("microsoft_calendar_sync.microsoft_calendar_binding_action_held");
    },

    get tooltip() {
        const lines = [super.tooltip];
        if (["connected", "error", "syncing"].includes(this.status.state)) {
            if (this.countsText) {
                lines.push(this.countsText);
            }
            if (this.heldText) {
                lines.push(this.heldText);
            }
            if (this.status.state === "connected" && this.status.last_error) {
                lines.push(this.status.last_error);
            }
        }
        return lines.join("\n");
    },
});
