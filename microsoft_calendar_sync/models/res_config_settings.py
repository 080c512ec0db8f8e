# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .microsoft_calendar_config import CALLBACK_PATH, DEFAULTS, PARAM, redirect_uri_warning, test_connection

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mcs_enabled = fields.Boolean(
        "Outlook Calendar", config_parameter="microsoft_calendar_sync.enabled",
        help="Let users connect their Outlook calendar from the Calendar app.")
    mcs_client_id = fields.Char(
        "Client ID", config_parameter="microsoft_calendar_sync.client_id",
        help="The Application (client) ID of the application registered in Microsoft Entra ID.")
    # Write-only. Not a config_parameter field: Odoo's settings read those with
    # sudo in default_get whatever the field's groups, so any logged-in user
    # (portal included) could read it. The input always opens empty;
    # set_values stores a typed value and leaves the stored one alone when
    # the input is empty.
    mcs_client_secret = fields.Char(
        "Client Secret", groups="base.group_system",
        help="The Value of a client secret of that application (not its Secret ID). Once saved it is "
        "never shown again; type a new one to replace it.")
    mcs_client_secret_set = fields.Boolean("A client secret is set", compute="_compute_mcs_client_secret_set")
    # a Date is not a config_parameter type Odoo converts: stored by hand (see get_values/set_values)
    mcs_client_secret_expiry = fields.Date(
        "Client secret expires on",
        help="The expiry date Microsoft Entra ID shows for this client secret (Certificates & secrets). "
        "Administrators get a reminder activity 30 days before it; synchronization stops when it expires.")
    mcs_tenant = fields.Char(
        "Tenant", config_parameter="microsoft_calendar_sync.tenant", default=DEFAULTS["tenant"],
        help="common (work, school and personal accounts), organizations, consumers, "
        "or your directory's tenant ID or domain for a single-tenant application.")
    mcs_redirect_uri = fields.Char("Redirect URI", compute="_compute_mcs_redirect_uri")
    mcs_redirect_uri_warning = fields.Char(compute="_compute_mcs_redirect_uri")
    mcs_use_sandbox = fields.Boolean(
        "Use the Outlook sandbox", config_parameter="microsoft_calendar_sync.use_sandbox",
        help="Talk to a local Outlook sandbox (outlook-sandbox) instead of Microsoft, to try the "
        "module without a Microsoft tenant.")
    mcs_login_url = fields.Char(
        "Sign-in URL", config_parameter="microsoft_calendar_sync.login_url",
        help="The sandbox's sign-in (authority) URL it prints, e.g. https://localhost:8443/common "
        "(the tenant part is ignored: the Tenant setting applies).")
    mcs_graph_url = fields.Char(
        "Graph URL", config_parameter="microsoft_calendar_sync.graph_url",
        help="The sandbox's Graph root, e.g. https://localhost:8443/v1.0")
    mcs_ca_file = fields.Char(
        "CA file", config_parameter="microsoft_calendar_sync.ca_file",
        help="Path, on the Odoo server, of the sandbox's CA certificate (it prints it at start).")
    mcs_sync_days_back = fields.Integer(
        "Days back", config_parameter="microsoft_calendar_sync.sync_days_back",
        default=DEFAULTS["sync_days_back"], help="Synchronize events that start up to this many days ago.")
    mcs_sync_days_forward = fields.Integer(
        "Days forward", config_parameter="microsoft_calendar_sync.sync_days_forward",
        default=DEFAULTS["sync_days_forward"], help="Synchronize events that start up to this many days ahead.")
    mcs_log_retention_days = fields.Integer(
        "Sync log retention (days)", config_parameter=PARAM % "log_retention_days",
        default=DEFAULTS["log_retention_days"],
        help="Sync log entries, errors and conflicts older than this are deleted every day.")
    mcs_polling_minutes = fields.Integer(
        "Polling interval (minutes)", config_parameter="microsoft_calendar_sync.polling_minutes",
        default=DEFAULTS["polling_minutes"],
        help="How often to ask Outlook for changes when no change notification arrives.")
    mcs_allow_other_mailbox = fields.Boolean(
        "Allow any mailbox address", config_parameter="microsoft_calendar_sync.allow_other_mailbox",
        help="By default a user can only connect the Outlook mailbox an administrator vouches for: their login, "
        "or the Outlook mailbox set on their user. Tick to let users connect any mailbox they can sign in to.")
    mcs_conflict_policy = fields.Selection(
        [("later_wins", "The later change wins"), ("odoo_wins", "Odoo wins"), ("outlook_wins", "Outlook wins")],
        "When both sides changed a field", config_parameter="microsoft_calendar_sync.conflict_policy",
        default="later_wins",
        help="A field changed differently in Odoo and in Outlook between two synchronizations is settled "
        "this way; the conflict is noted on the event.")
    mcs_hard_delete = fields.Boolean(
        "Delete events deleted in Outlook", config_parameter="microsoft_calendar_sync.hard_delete",
        help="By default an event deleted in Outlook is archived in Odoo (recoverable). Tick to delete it.")
    mcs_no_new_contacts = fields.Boolean(
        "Do not create contacts for unknown attendees", config_parameter="microsoft_calendar_sync.no_new_contacts",
        help="By default an attendee of an Outlook meeting whom Odoo does not know becomes a contact (as Odoo "
        "does for invitations). Tick to leave such attendees out of the Odoo event: Outlook keeps them, and "
        "Odoo never removes them from the meeting.")
    mcs_allow_remote_images = fields.Boolean(
        "Load remote images in imported event descriptions",
        config_parameter="microsoft_calendar_sync.allow_remote_images",
        help="By default images are removed from the descriptions of events that come from Outlook: a remote "
        "image (a tracking pixel, for one) would tell its sender who opened the event, when, and from where. "
        "Tick to keep images from http(s) addresses; inline (cid:) and data: images are never kept.")

    # Stored by hand as "True"/"False" (see get_values/set_values): as a config_parameter
    # Boolean, False would delete the parameter and its reader's default ("True") would
    # switch instant updates back on.
    mcs_change_notifications = fields.Boolean(
        "Instant updates (change notifications)", default=True,
        help="Outlook tells Odoo at once when an event changes (a Graph subscription per connected "
        "account), so changes arrive within seconds instead of at the next polling. Needs an Odoo "
        "reachable from the Internet over https. Untick to rely on polling only.")
    mcs_notification_url = fields.Char(
        "Notification URL", compute="_compute_mcs_notification_url",
        help="Where Outlook sends its change notifications (this Odoo's address).")
    mcs_notification_url_warning = fields.Char(compute="_compute_mcs_notification_url")

    def _compute_mcs_client_secret_set(self):
        is_set = bool(self.env["ir.config_parameter"].sudo().get_param(PARAM % "client_secret"))
        for settings in self:
            settings.mcs_client_secret_set = is_set

    @api.model
    def get_values(self):
        res = super().get_values()
        expiry = self.env["ir.config_parameter"].sudo().get_param(PARAM % "client_secret_expiry")
        res["mcs_client_secret_expiry"] = fields.Date.to_date(expiry) if expiry else False
        res["mcs_change_notifications"] = self.env["microsoft.calendar.subscription"]._mcs_enabled()
        return res

    def set_values(self):
        super().set_values()
        self._mcs_store_client_secret()
        if self.env.is_superuser() or self.env.user.has_group("base.group_system"):
            self.env["ir.config_parameter"].sudo().set_param(
                PARAM % "client_secret_expiry", fields.Date.to_string(self.mcs_client_secret_expiry) or False)
            self._mcs_store_change_notifications()
        # the synchronization cron follows the polling interval
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_pull", raise_if_not_found=False)
        if cron and self.mcs_polling_minutes and (cron.interval_number, cron.interval_type) != (
                self.mcs_polling_minutes, "minutes"):
            cron.sudo().write({"interval_number": self.mcs_polling_minutes, "interval_type": "minutes"})

    def _mcs_store_client_secret(self):
        """A typed secret replaces the stored one (system administrators only); no input keeps it."""
        if not (self.env.is_superuser() or self.env.user.has_group("base.group_system")):
            return
        for settings in self:
            secret = (settings.mcs_client_secret or "").strip()
            if secret:
                self.env["ir.config_parameter"].sudo().set_param(PARAM % "client_secret", secret)
                # not kept on the settings row either (transient, but still a table)
                settings.mcs_client_secret = False

    def _mcs_store_change_notifications(self):
        """The switch as an explicit "True"/"False"; a change has the subscriptions cron follow it."""
        if bool(self.mcs_change_notifications) == self.env["microsoft.calendar.subscription"]._mcs_enabled():
            return
        self.env["ir.config_parameter"].sudo().set_param(
            PARAM % "change_notifications", "True" if self.mcs_change_notifications else "False")
        cron = self.env.ref("microsoft_calendar_sync.ir_cron_mcs_subscriptions", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.depends("company_id")
    def _compute_mcs_notification_url(self):
        url = self.env["microsoft.calendar.subscription"].sudo()._mcs_notification_url()
        warning = False if url else self.env._(
            "Instant updates cannot work here: Outlook only sends change notifications to an https address "
            "(or to this machine, for tests), and this Odoo's address (web.base.url) is neither. Changes still "
            "arrive at each polling.")
        for settings in self:
            settings.mcs_notification_url = url or False
            settings.mcs_notification_url_warning = warning

    @api.depends("company_id")
    def _compute_mcs_redirect_uri(self):
        base_url = (self.env["ir.config_parameter"].sudo().get_param("web.base.url") or "").rstrip("/")
        for settings in self:
            settings.mcs_redirect_uri = base_url + CALLBACK_PATH
            settings.mcs_redirect_uri_warning = redirect_uri_warning(self.env, settings.mcs_redirect_uri)

    @api.constrains("mcs_tenant", "mcs_login_url", "mcs_graph_url", "mcs_ca_file", "mcs_use_sandbox",
                    "mcs_sync_days_back", "mcs_sync_days_forward", "mcs_polling_minutes")
    def _check_mcs_values(self):
        _ = self.env._
        for settings in self:
            if settings.mcs_tenant and not _TENANT.match(settings.mcs_tenant.strip()):
                raise ValidationError(_(
                    "The Tenant must be common, organizations, consumers, a tenant ID or a domain name."))
            if settings.mcs_sync_days_back < 0 or settings.mcs_sync_days_forward < 1:
                raise ValidationError(_(
                    "The sync window needs zero or more days back and at least one day forward."))
            if settings.mcs_polling_minutes < 1:
                raise ValidationError(_("The polling interval must be at least one minute."))
            if not (settings.mcs_enabled and settings.mcs_use_sandbox):
                continue
            for label, url in ((_("Sign-in URL"), settings.mcs_login_url), (_("Graph URL"), settings.mcs_graph_url)):
                parts = urlsplit((url or "").strip())
                if parts.scheme != "https" or not parts.hostname:
                    raise ValidationError(_("The sandbox's %(label)s must be an https URL.", label=label))
            if settings.mcs_ca_file and not os.path.isfile(settings.mcs_ca_file.strip()):
                raise ValidationError(_("The CA file %(path)s does not exist on the Odoo server.",
                                        path=settings.mcs_ca_file))

    # -- Test connection ----------------------------------------------------------

    def action_mcs_test_connection(self):
        """Check the typed (or stored) client ID, secret, tenant and Redirect URI against the sign-in endpoint."""
        self.ensure_one()
        self.env["ir.config_parameter"].check_access("write")  # administrators only
        stored = self.env["microsoft.calendar.config"]._mcs_settings()
        ok, message = test_connection(
            self.env, stored,
            client_id=(self.mcs_client_id or "").strip(),
            client_secret=(self.mcs_client_secret or "").strip() or stored.client_secret,
            tenant=(self.mcs_tenant or DEFAULTS["tenant"]).strip(),
            use_sandbox=self.mcs_use_sandbox, login_url=(self.mcs_login_url or "").strip(),
            ca_file=(self.mcs_ca_file or "").strip(), redirect_uri=self.mcs_redirect_uri)
        return {
            "type": "ir.actions.client", "tag": "display_notification",
            "params": {"title": self.env._("Outlook connection works") if ok
                       else self.env._("Outlook connection failed"),
                       "message": message, "type": "success" if ok else "danger", "sticky": not ok},
        }

    def action_mcs_open_accounts(self):
        return self.env["microsoft.calendar.account"]._mcs_action_overview()

    # -- client secret expiry reminder --------------------------------------------------

    @api.model
    def _mcs_cron_secret_expiry_reminder(self):
        """Daily: a personal To-Do (no document) for each administrator when the client secret expires within 30 days (once per date)."""
        icp = self.env["ir.config_parameter"].sudo()
        expiry = icp.get_param(PARAM % "client_secret_expiry")
        if not expiry or icp.get_param(PARAM % "client_secret_expiry_reminded") == expiry:
            return
        expiry = fields.Date.to_date(expiry)
        if expiry - fields.Date.context_today(self) > timedelta(days=30):
            return
        _ = self.env._
        admins = self.env.ref("base.group_system").sudo().all_user_ids.filtered(lambda u: u.active and not u.share)
        todo = self.env.ref("mail.mail_activity_data_todo")
        for admin in admins:
            self.env["mail.activity"].sudo().create({
                "activity_type_id": todo.id, "user_id": admin.id, "date_deadline": expiry,
                "summary": _("Outlook Calendar: the client secret expires on %(date)s", date=expiry),
                "note": _("Create a new client secret for the application in Microsoft Entra ID "
                          "(Certificates & secrets), then enter it and its expiry date in Settings > "
                          "Integrations > Outlook Calendar. Synchronization stops when the secret expires."),
            })
        icp.set_param(PARAM % "client_secret_expiry_reminded", fields.Date.to_string(expiry))
