# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import controllers
from . import models
from .hooks import pre_init_hook, uninstall_hook
