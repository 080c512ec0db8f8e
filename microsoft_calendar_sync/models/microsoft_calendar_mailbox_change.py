# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A user connects another mailbox than the one their sync status rows belong to.

The rows name events of the old mailbox: their Graph ids mean nothing in the new
one, and a run would find them "gone" and archive their Odoo events. So the
account stays paused until its owner (or a manager) says what to do: start
afresh with the new mailbox (the links are removed, every event stays where it
is), or disconnect; a manager may also run Reset Account first.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    linked_mailbox_id = fields.Char(
        readonly=True, copy=False,
        help="The Microsoft user ID of the mailbox the sync status rows belong to (kept after a disconnect).")
    linked_mailbox = fields.Char("Synchronized mailbox", readonly=True, copy=False,
                                 help="The address of the mailbox the sync status rows belong to.")
    mailbox_change = fields.Boolean(
        readonly=True, copy=False,
        help="Another mailbox was connected than the one the sync status rows belong to: waiting for a choice.")

    @api.model
    def _mcs_connect(self, user, signin, signed_in):
        previous = self._mcs_for_user(user)
        linked_to = previous.linked_mailbox_id if previous else False
        account = super()._mcs_connect(user, signin, signed_in)
        if linked_to and linked_to != account.microsoft_user_id and account.binding_ids:
            account.write({"state": "paused", "mailbox_change": True})
            account.message_post(body=self.env._(
                "%(new)s was connected, but the synchronized events are linked to %(old)s. Nothing is "
                "synchronized until you choose: \"Start afresh with this mailbox\" removes those links (every "
                "event stays, in Odoo and in %(old)s), or disconnect; a manager can also reset the account.",
                new=account.mailbox, old=account.linked_mailbox or self.env._("the previous mailbox")))
        else:
            account.write({"linked_mailbox_id": account.microsoft_user_id, "linked_mailbox": account.mailbox,
                           "mailbox_change": False})
        return account

    @api.model
    def _mcs_status(self, user=None):
        status = super()._mcs_status(user)
        account = self._mcs_for_user(user or self.env.user)
        status["mailbox_change"] = self.env._(
            "Your events are linked to %(old)s: nothing is synchronized with %(new)s until you start afresh with "
            "it (the links are removed, every event stays where it is) or disconnect.",
            old=account.linked_mailbox or self.env._("the previous mailbox"), new=account.mailbox) \
            if account.mailbox_change else ""
        return status

    def action_mcs_start_afresh(self):
        """Forget the links to the previous mailbox and start as a first connection of this one."""
        self._mcs_check_may_manage()
        accounts = self.sudo().filtered("mailbox_change")
        if not accounts:
            return
        for account in accounts:
            links = account.binding_ids
            count = len(links)
            links.unlink()
            account.write({
                "delta_link": False, "delta_window_start": False, "delta_window_end": False, "last_sync": False,
                "linked_mailbox_id": account.microsoft_user_id, "linked_mailbox": account.mailbox,
                "mailbox_change": False, "state": "connected"})
            account.message_post(body=self.env._(
                "Started afresh with %(mailbox)s: %(count)s links to the previous mailbox removed; its events "
                "stay where they are.", mailbox=account.mailbox, count=count))
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull").sudo()._trigger()
        self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions").sudo()._trigger()

    def action_resume(self):
        if self.sudo().filtered("mailbox_change"):
            raise UserError(self.env._(
                "This account is connected to another mailbox than the one its events are linked to. Choose "
                "\"Start afresh with this mailbox\" on the account, or disconnect."))
        return super().action_resume()

    def action_disconnect(self):
        result = super().action_disconnect()
        self.sudo().mailbox_change = False  # the choice is made: the links stay for that mailbox
        return result
