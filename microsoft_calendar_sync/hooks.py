# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import UserError

from .models.ir_module_module import CONFLICTING_MODULES, conflict_message


def pre_init_hook(env):
    """Refuse to install next to Odoo's own Outlook modules (same callback route)."""
    installed = env["ir.module.module"].search([
        ("name", "in", CONFLICTING_MODULES),
        ("state", "in", ("installed", "to install", "to upgrade")),
    ])
    if installed:
        raise UserError(conflict_message(env, installed.mapped("name")))


def uninstall_hook(env):
    """Forget the settings (the Client Secret among them); events stay."""
    env["ir.config_parameter"].sudo().search([("key", "=like", "microsoft_calendar_sync.%")]).unlink()
