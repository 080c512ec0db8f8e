// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import { AttendeeCalendarController } from "@calendar/views/attendee_calendar/attendee_calendar_controller";
import { patch } from "@web/core/utils/patch";
import { OutlookSyncButton } from "./outlook_sync_button";

// The Outlook button goes in the header's synchronization area (see the template).
patch(AttendeeCalendarController, {
    components: { ...AttendeeCalendarController.components, OutlookSyncButton },
});

patch(AttendeeCalendarController.prototype, {
    /** A sync changed the user's events (Sync now, or a background run): show them as they are now. */
    onOutlookChanged() {
        return this.model.load();
    },
});
