# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install checks: the module, its Odoo dependencies, its Python dependencies,
and the refusal to live next to Odoo's own Outlook modules."""

import importlib
import importlib.metadata
import subprocess
import sys

# Requirement: packaging's, or Odoo's fallback when packaging is missing
from odoo.modules.module import Manifest, Requirement, check_python_external_dependency
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..hooks import pre_init_hook
from ..models.ir_module_module import IrModuleModule


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    def module(self, name):
        return self.env["ir.module.module"].search([("name", "=", name)])

    def test_module_installed(self):
        module = self.module("microsoft_calendar_sync")
        self.assertEqual(len(module), 1)
        self.assertEqual(module.state, "installed")
        self.assertEqual(module.latest_version, Manifest.for_addon("microsoft_calendar_sync")["version"])
        self.assertEqual(module.license, "LGPL-3")

    def test_dependencies_loaded(self):
        module = self.module("microsoft_calendar_sync")
        self.assertEqual(sorted(module.dependencies_id.mapped("name")), ["base_setup", "calendar", "mail"])
        self.assertEqual(set(module.dependencies_id.depend_id.mapped("state")), {"installed"})
        self.assertEqual(sorted(module.exclusion_ids.mapped("name")), ["microsoft_account", "microsoft_calendar"])
        self.assertIn("calendar.event", self.env)

    def test_external_dependencies_present(self):
        manifest = Manifest.for_addon("microsoft_calendar_sync")
        python_deps = manifest["external_dependencies"]["python"]
        self.assertEqual(len(python_deps), 2)
        for requirement in python_deps:
            # the check Odoo runs before installing (raises when missing) ...
            check_python_external_dependency(requirement)
            # ... and by distribution name, so Odoo logs no "not a valid PyPI
            # package" warning for it
            name = Requirement(requirement).name
            self.assertTrue(importlib.metadata.version(name), name)
        msal = importlib.import_module("msal")
        self.assertTrue(hasattr(msal, "ConfidentialClientApplication"))
        outlook_sync = importlib.import_module("outlook_sync")
        self.assertEqual(outlook_sync.__name__, "outlook_sync")

    def test_core_does_not_import_odoo(self):
        # outlook_sync must stay usable without Odoo (DESIGN.md §2)
        probe = (
            "import sys, outlook_sync; "
            "sys.exit(any(m == 'odoo' or m.startswith('odoo.') for m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_odoo_outlook_modules_cannot_be_installed_next_to_it(self):
        for name in ("microsoft_calendar", "microsoft_account"):
            with self.subTest(name), self.assertRaisesRegex(UserError, "/microsoft_account/authentication"):
                self.module(name).button_install()
            self.assertEqual(self.module(name).state, "uninstalled")

    def test_install_refused_when_odoo_outlook_module_is_installed(self):
        pre_init_hook(self.env)  # nothing conflicting: no error
        self.module("microsoft_account").state = "installed"
        with self.assertRaisesRegex(UserError, "cannot be installed together with Odoo's own microsoft_account"):
            pre_init_hook(self.env)

    def test_manifest_excludes_refuse_it_too(self):
        # base's own exclusion check (without our override): installing ours
        # next to an installed microsoft_calendar is refused before anything is written
        self.module("microsoft_calendar").state = "installed"
        ours = self.module("microsoft_calendar_sync")
        with self.assertRaisesRegex(UserError, "incompatible"):
            super(IrModuleModule, ours).button_install()
