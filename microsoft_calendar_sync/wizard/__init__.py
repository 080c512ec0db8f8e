# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import reset_account
from . import cleanup
from . import first_sync
