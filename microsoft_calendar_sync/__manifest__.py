# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Outlook Calendar Sync",
    "summary": "Two-way sync between Odoo Calendar and Microsoft Outlook "
    "calendars through Microsoft Graph",
    "version": "19.0.1.4.0",
    "category": "Productivity/Calendar",
    "author": "Outlook Calendar Sync contributors",
    "website": "https://github.com/outlook-calendar-sync/microsoft_calendar_sync",
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["base_setup", "mail", "calendar"],
    # Odoo's own Outlook modules answer the same sign-in callback
    # (/microsoft_account/authentication): never both at once.
    "excludes": ["microsoft_calendar", "microsoft_account"],
    # Odoo 19 checks these as PEP 508 requirements by *distribution* name
    # (importlib.metadata), not by import name: "outlook-calendar-sync" is the
    # distribution of the repository's setup.py (packages outlook_sync and
    # outlook_sandbox).
    "external_dependencies": {
        "python": ["msal>=1.31", "outlook-calendar-sync"],
    },
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "security/microsoft_calendar_binding_security.xml",
        "security/microsoft_calendar_sync_log_security.xml",
        "security/first_sync_security.xml",
        "data/ir_cron_data.xml",
        "data/ir_cron_subscription.xml",
        "data/ir_cron_sync_log.xml",
        "views/res_config_settings_views.xml",
        "views/microsoft_calendar_account_views.xml",
        "views/microsoft_calendar_binding_views.xml",
        "views/outbound_consent_views.xml",
        "views/res_users_views.xml",
        "views/templates.xml",
        "views/calendar_event_views.xml",
        "wizard/reset_account_views.xml",
        "wizard/cleanup_views.xml",
        "wizard/first_sync_views.xml",
        "views/microsoft_calendar_sync_run_views.xml",
    ],
    # demo users matching the sandbox seed's mailboxes, and a few events
    "demo": [
        "demo/demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "microsoft_calendar_sync/static/src/outlook_button/*",
        ],
        "web.assets_tests": [
            "microsoft_calendar_sync/static/tests/tours/*",
        ],
    },
    "pre_init_hook": "pre_init_hook",
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": False,
}
