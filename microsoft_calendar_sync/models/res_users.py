# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Which Outlook mailbox a user may connect, as an administrator says.

The rule must rest on something the user cannot change alone: users edit
their own e-mail address in their preferences (res.users
SELF_WRITEABLE_FIELDS), but not their login nor this field: writing a user
takes Odoo's Access Rights (user administrators); Outlook Calendar Sync
managers may read it.
"""

from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    mcs_expected_mailbox = fields.Char(
        "Outlook mailbox",
        groups="base.group_erp_manager,microsoft_calendar_sync.group_microsoft_calendar_sync_manager",
        help="The Outlook mailbox this user may connect, when it is not their login. Set by an administrator; "
             "the user cannot change it.")

    def _mcs_expected_mailbox(self):
        """The address the user's mailbox must have: set by an administrator, else the login if it is an address."""
        self.ensure_one()
        user = self.sudo()
        expected = (user.mcs_expected_mailbox or "").strip().lower()
        if not expected and "@" in (user.login or ""):
            expected = user.login.strip().lower()
        return expected
