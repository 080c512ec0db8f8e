"""Installing this repository into Odoo's Python changes none of Odoo's packages.

Where Odoo is installed (the interpreter this test environment was made from
imports ``odoo``), pip's dry run resolves the runtime requirements and the
sandbox's against that interpreter's packages, and no package it would install
may be one that is already there in another version (Odoo's pins: Werkzeug,
cryptography, requests...). Skipped, and says why, where Odoo is not installed.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The venv of tools/run-tests.sh is made from Odoo's interpreter (with its site-packages).
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def _base_imports_odoo():
    return subprocess.run([BASE_PYTHON, "-c", "import odoo"], capture_output=True, timeout=60).returncode == 0


def _installed(python):
    script = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): " \
             "d.version for d in m.distributions()}))"
    return json.loads(subprocess.run([python, "-c", script], capture_output=True, text=True, check=True,
                                     timeout=60).stdout)


@pytest.mark.skipif(not _base_imports_odoo(), reason="Odoo is not installed for " + BASE_PYTHON)
@pytest.mark.parametrize("requirements", ["requirements.txt", "requirements-sandbox.txt"])
def test_installing_into_odoos_python_changes_none_of_its_packages(requirements):
    result = subprocess.run(
        [BASE_PYTHON, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
         "--upgrade-strategy=only-if-needed", "--report", "-",
         "-r", str(ROOT / requirements)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    would_install = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                     for item in json.loads(result.stdout)["install"]}
    installed = _installed(BASE_PYTHON)
    changed = {name: f"{installed[name]} -> {version}" for name, version in would_install.items()
               if name in installed and installed[name] != version}
    assert not changed, f"installing {requirements} would change Odoo's packages: {changed}"
