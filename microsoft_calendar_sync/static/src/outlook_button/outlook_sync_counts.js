// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { OutlookSyncButton } from "./outlook_sync_button";

const STATUS_LIST = "microsoft_calendar_sync.microsoft_calendar_binding_action";

/**
 * The sync engine's side of the panel (from /microsoft_calendar_sync/status):
 * what the last run did (``last_run_text``), the events in error, the events
 * not synchronized by name and reason (``skipped``) with a link to the status
 * list, and the colleagues' changes waiting for this user's approval.
 */
patch(OutlookSyncButton.prototype, {
    get lastRunText() {
        const s = this.status;
        if (!s.last_run_text) {
            return "";
        }
        return s.last_run_when
            ? _t("Last run (%(when)s): %(what)s", { when: s.last_run_when, what: s.last_run_text })
            : _t("Last run: %s", s.last_run_text);
    },

    get errorsText() {
        const errors = (this.status.counts || {}).errors || 0;
        return errors ? _t("%s events could not be synchronized", errors) : "";
    },

    get skippedItems() {
        return this.status.skipped || [];
    },

    skippedLabel(item) {
        return item.count > 1 ? _t("%(name)s (%(count)s occurrences)", item) : item.name;
    },

    get heldText() {
        const held = (this.status.counts || {}).held || 0;
        return held ? _t("%s changes by others wait for your approval", held) : "";
    },

    openStatusList(filter) {
        return this.action.doAction(STATUS_LIST, {
            additionalContext: { search_default_problems: 0, [`search_default_${filter}`]: 1 },
        });
    },

    openErrors() {
        return this.openStatusList("problems");
    },

    openSkipped() {
        return this.openStatusList("skipped");
    },

    openHeld() {
        return this.action.doAction("microsoft_calendar_sync.microsoft_calendar_binding_action_held");
    },
});
