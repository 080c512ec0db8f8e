# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.exceptions import UserError

# Odoo's own Outlook modules: they claim /microsoft_account/authentication too.
CONFLICTING_MODULES = ("microsoft_calendar", "microsoft_account")


def conflict_message(env, names):
    return env._(
        "Outlook Calendar Sync (microsoft_calendar_sync) cannot be installed together with Odoo's own "
        "%(modules)s: both answer Microsoft's sign-in callback /microsoft_account/authentication and both "
        "would synchronize the same calendars. Uninstall one of them first.",
        modules=", ".join(sorted(names)),
    )


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    def button_install(self):
        """Refuse to schedule Odoo's Outlook modules (or a module that needs
        them) while this one is installed. The manifest's ``excludes`` refuses
        it too, but with a message that does not say why."""
        closure = todo = self
        while todo:
            todo = todo.dependencies_id.depend_id - closure
            closure |= todo
        conflicting = closure.filtered(lambda module: module.name in CONFLICTING_MODULES)
        if conflicting:
            raise UserError(conflict_message(self.env, conflicting.mapped("name")))
        return super().button_install()
