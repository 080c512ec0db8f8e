# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Uninstalling keeps the calendar: run for real on a second database, in
separate Odoo processes (module operations are not allowed inside tests)."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import uuid

from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

MARK = "UNINSTALL-RESULT "


@tagged("post_install", "-at_install")
class TestUninstall(TransactionCase):

    def odoo(self, conf, *args, stdin=None):
        result = subprocess.run(
            [sys.executable, "-m", "odoo", *args, "-c", conf, "-d", self.db, "--no-http", "--log-level=warn"],
            input=stdin, capture_output=True, text=True, timeout=600, check=False,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.assertEqual(result.returncode, 0, result.stdout[-3000:] + result.stderr[-3000:])
        return result.stdout

    def drop_db(self):
        with db_connect("postgres").cursor() as cr:
            cr._cnx.autocommit = True
            cr.execute(f'DROP DATABASE IF EXISTS "{self.db}"')

    def test_uninstall_keeps_events_and_forgets_settings(self):
        self.db = f"{self.env.cr.dbname}_uninstall_{uuid.uuid4().hex[:8]}"
        self.addCleanup(self.drop_db)
        with tempfile.TemporaryDirectory() as tmp:
            conf = os.path.join(tmp, "odoo.conf")
            with open(conf, "w", encoding="utf-8") as handle:
                handle.write("[options]\n")
                for key in ("db_host", "db_port", "db_user", "db_password", "addons_path", "data_dir"):
                    if config.get(key):
                        value = ",".join(config[key]) if isinstance(config[key], list) else config[key]
                        handle.write(f"{key} = {value}\n")
            self.odoo(conf, "-i", "microsoft_calendar_sync", "--stop-after-init")
            self.odoo(conf, "shell", stdin=textwrap.dedent("""
                admin = env.ref("base.user_admin")
                env["calendar.event"].create({"name": "Keep me", "start": "2026-12-01 10:00:00",
                                              "stop": "2026-12-01 11:00:00", "user_id": admin.id})
                env["microsoft.calendar.account"].create({"user_id": admin.id, "mailbox": "admin@example.com",
                                                          "state": "connected", "token_cache": "{}"})
                env["ir.config_parameter"].set_param("microsoft_calendar_sync.client_secret", "s3cr3t")
                env.cr.commit()
                env["ir.module.module"].search([("name", "=", "microsoft_calendar_sync")]).button_immediate_uninstall()
            """))
            out = self.odoo(conf, "shell", stdin=textwrap.dedent(f"""
                import json
                from odoo.tools.sql import table_exists
                module = env["ir.module.module"].search([("name", "=", "microsoft_calendar_sync")])
                print({MARK!r} + json.dumps({{
                    "state": module.state,
                    "events": env["calendar.event"].search_count([("name", "=", "Keep me")]),
                    "account_table": table_exists(env.cr, "microsoft_calendar_account"),
                    "params": env["ir.config_parameter"].search_count([("key", "=like", "microsoft_calendar_sync.%")]),
                }}))
            """))
        result = json.loads(next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK):])
        self.assertEqual(result, {"state": "uninstalled", "events": 1, "account_table": False, "params": 0})
