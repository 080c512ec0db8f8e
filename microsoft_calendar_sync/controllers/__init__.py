# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from ..utils import log_redaction
from . import main
from . import notifications

log_redaction.install()
