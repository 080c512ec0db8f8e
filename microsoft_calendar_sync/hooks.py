# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo.exceptions import UserError

from .models.ir_module_module import CONFLICTING_MODULES, conflict_message

_logger = logging.getLogger(__name__)


def pre_init_hook(env):
    """Refuse to install next to Odoo's own Outlook modules (same callback route)."""
    installed = env["ir.module.module"].search([
        ("name", "in", CONFLICTING_MODULES),
        ("state", "in", ("installed", "to install", "to upgrade")),
    ])
    if installed:
        raise UserError(conflict_message(env, installed.mapped("name")))


def uninstall_hook(env):
    """Delete the change-notification subscriptions on Graph, then forget the settings
    (the Client Secret among them, which signing in needs: hence this order); events stay."""
    try:
        with env.cr.savepoint():
            env["microsoft.calendar.subscription"].sudo().search([])._mcs_unsubscribe()
    except Exception:  # noqa: BLE001 - best effort: nothing Microsoft answers may block an uninstall
        _logger.warning("Outlook subscriptions could not all be deleted on Graph; Graph drops them when they "
                        "expire (within three days)", exc_info=True)
    env["ir.config_parameter"].sudo().search([("key", "=like", "microsoft_calendar_sync.%")]).unlink()
