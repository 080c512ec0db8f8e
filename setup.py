"""Installs the two pure-Python packages beside the Odoo addon.

``outlook_sync`` is the sync core the addon imports; ``outlook_sandbox`` is the
local Microsoft Graph + identity emulator (console script ``outlook-sandbox``).
The addon's manifest names this distribution in ``external_dependencies``.
"""
from setuptools import find_packages, setup

setup(
    name="outlook-calendar-sync",
    version="19.0.1.0.0",
    description="Outlook (Microsoft Graph) calendar sync core and Graph sandbox for Odoo 19",
    license="LGPL-3.0-only",
    python_requires=">=3.10",
    packages=find_packages(include=["outlook_sync", "outlook_sync.*", "outlook_sandbox", "outlook_sandbox.*"]),
    package_data={"outlook_sandbox": ["templates/*.html", "seeds/*.json"]},
    install_requires=[
        "msal>=1.31",
        "requests>=2.31",
        "python-dateutil>=2.8.2",
        "tzlocal>=5.2",
        "tzdata>=2024.1",
        "nh3>=0.2.14",
        "werkzeug>=2.3",
        "trustme>=1.1",
    ],
    entry_points={"console_scripts": ["outlook-sandbox=outlook_sandbox.__main__:main"]},
)
