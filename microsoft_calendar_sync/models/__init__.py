# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import microsoft_calendar_config
from . import microsoft_calendar_credential
from . import microsoft_calendar_account
from . import microsoft_calendar_sign_in
from . import ir_module_module
from . import res_config_settings
from . import res_users
from . import microsoft_calendar_binding
from . import calendar_event
from . import microsoft_calendar_sync
from . import sync_push
from . import sync_pull
from . import sync_apply
from . import outbound_consent
from . import microsoft_calendar_subscription
from . import microsoft_calendar_account_overview
from . import microsoft_calendar_sync_run
