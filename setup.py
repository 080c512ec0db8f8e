"""Installs the two pure-Python packages beside the Odoo addon.

``outlook_sync`` is the sync core the addon imports; ``outlook_sandbox`` is the
local Microsoft Graph + identity emulator (console script ``outlook-sandbox``).
The addon's manifest names this distribution in ``external_dependencies``.

``pip install .`` brings what the addon needs at run time, nothing more;
``pip install .[sandbox]`` adds what the sandbox needs. Every lower bound is
at or below what Odoo 19 pins in its requirements.txt for Python 3.11 and
3.12, so installing either into Odoo's Python changes none of Odoo's packages
(tests/test_packaging.py checks it where Odoo is installed). Python 3.10 is
left out: Odoo pins older requests (2.25.1) and Werkzeug (2.0.2) there than
what this is tested with.
"""
from setuptools import find_packages, setup

RUNTIME = [  # requirements.txt says the same
    "msal>=1.31",
    "requests>=2.31",
    "python-dateutil>=2.8.2",
    "tzlocal>=5.2",
    "tzdata>=2024.1",
    "nh3>=0.2.14",
]
SANDBOX = [  # requirements-sandbox.txt says the same
    "werkzeug>=2.2",  # Odoo 19 pins 2.2.2 on Python 3.11
    "trustme>=1.1",
    "cryptography>=3.4",  # Odoo 19 pins 3.4.8 on Python 3.11 (with pyOpenSSL 21)
]

setup(
    name="outlook-calendar-sync",
    version="19.0.1.2.0",
    description="Outlook (Microsoft Graph) calendar sync core and Graph sandbox for Odoo 19",
    license="LGPL-3.0-only",
    python_requires=">=3.11",
    packages=find_packages(include=["outlook_sync", "outlook_sync.*", "outlook_sandbox", "outlook_sandbox.*"]),
    package_data={"outlook_sandbox": ["templates/*.html", "seeds/*.json"]},
    install_requires=RUNTIME,
    extras_require={"sandbox": SANDBOX},
    entry_points={"console_scripts": ["outlook-sandbox=outlook_sandbox.__main__:main"]},
)
