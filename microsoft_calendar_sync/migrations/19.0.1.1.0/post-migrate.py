# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.addons.microsoft_calendar_sync.utils.token_migration import move_tokens_to_credentials


def migrate(cr, version):
    move_tokens_to_credentials(cr)
