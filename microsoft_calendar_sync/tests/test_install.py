# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install checks for the skeleton: the module, its Odoo dependency and its
Python dependencies are really there."""

import importlib
import importlib.metadata
import subprocess
import sys

# Requirement: packaging's, or Odoo's fallback when packaging is missing
from odoo.modules.module import Manifest, Requirement, check_python_external_dependency
from odoo.tests import TransactionCase


class TestInstall(TransactionCase):
    def test_module_installed(self):
        module = self.env["ir.module.module"].search(
            [("name", "=", "microsoft_calendar_sync")]
        )
        self.assertEqual(len(module), 1)
        self.assertEqual(module.state, "installed")
        self.assertEqual(module.latest_version, "19.0.1.0.0")
        self.assertEqual(module.license, "LGPL-3")

    def test_calendar_dependency_loaded(self):
        module = self.env["ir.module.module"].search(
            [("name", "=", "microsoft_calendar_sync")]
        )
        self.assertEqual(module.dependencies_id.mapped("name"), ["calendar"])
        self.assertEqual(module.dependencies_id.depend_id.state, "installed")
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
