# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_install
from . import test_settings
from . import test_security
from . import test_explain
from . import test_connect
from . import test_tokens
from . import test_ui
from . import test_uninstall
from . import test_event_mapping
from . import test_sync_outbound
from . import test_sync_inbound
from . import test_sync_conflicts
from . import test_sync_status
from . import test_sync_benchmark
from . import test_sync_integrity
from . import test_sync_chaos
