# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Outlook Calendar Sync",
    "summary": "Two-way sync between Odoo Calendar and Microsoft Outlook "
    "calendars through Microsoft Graph",
    "version": "19.0.1.0.0",
    "category": "Productivity/Calendar",
    "author": "Outlook Calendar Sync contributors",
    "website": "https://github.com/outlook-calendar-sync/microsoft_calendar_sync",
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["calendar"],
    # Odoo 19 checks these as PEP 508 requirements by *distribution* name
    # (importlib.metadata), not by import name: "outlook-calendar-sync" is the
    # distribution of the repository's setup.py (packages outlook_sync and
    # outlook_sandbox).
    "external_dependencies": {
        "python": ["msal>=1.31", "outlook-calendar-sync"],
    },
    # Security files go first once the addon has models.
    "data": [],
    "installable": True,
    "application": False,
}
