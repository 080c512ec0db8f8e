# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fixtures of the sync tests: Alice connected through the real flow, her
Outlook side driven through Graph as she would in Outlook, the sandbox's
control API (mail log, faults, stats, delta eviction) and the runs."""

import importlib.util
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest.mock import patch

import requests
from outlook_sandbox import faults
from outlook_sync.mapping import MappingError

from odoo import fields

from ..models import microsoft_calendar_sync as sync_module
from ..models import sync_apply, sync_pull, sync_push
from .common import OutlookCase


class WorkerKilled(Exception):
    """A cron worker dying in the middle of a run."""


class SyncCase(OutlookCase):

    def setUp(self):
        super().setUp()
        self.account = self.assert_connected(self.connect(self.alice), self.alice, "alice@contoso.com")
        # a first (empty) sync, so each test starts from an incremental state
        self.sync()
        self.clear_mail()
        self.Event = self.env["calendar.event"].with_user(self.alice)
        self.tomorrow = (datetime.now() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)

    # -- runs ------------------------------------------------------------------

    def push(self):
        return self.account._mcs_sync(pull=False)

    def sync(self, **context):
        account = self.account.with_context(**context) if context else self.account
        return account._mcs_sync()

    def run_killed(self, *patches, pull=True):
        """A run that ``patches`` kill (they raise :class:`WorkerKilled`); True if it was killed.

        Tests cannot commit, so the run's commit points become savepoints and the
        kill rolls back to the last one: what the worker had not committed is lost,
        what Outlook received stays, as when a worker dies."""
        account_class = type(self.account)

        def commit_point(account, relock=True):
            account.env.flush_all()
            account.env.cr.execute("SAVEPOINT mcs_commit_point")

        with ExitStack() as stack:
            stack.enter_context(patch.object(account_class, "_mcs_commit", commit_point))
            for active in patches:
                stack.enter_context(active)
            try:
                self.account._mcs_sync(pull=pull)
            except WorkerKilled:
                self.env.cr.execute("ROLLBACK TO SAVEPOINT mcs_commit_point")
                self.env.cr.clear()  # the ORM's caches and pending writes die with the worker
                return True
        return False

    def killed_at_call(self, method, number):
        """A patch of the account's ``method`` that kills the run at its ``number``-th call."""
        account_class = type(self.account)
        original = getattr(account_class, method)
        calls = []

        def dying(account, *args, **kwargs):
            calls.append(method)
            if len(calls) >= number:
                raise WorkerKilled()
            return original(account, *args, **kwargs)

        return patch.object(account_class, method, dying)

    def migrate(self, version, from_version):
        """Run the addon's post-migration script of ``version`` as an upgrade from ``from_version`` would."""
        path = Path(__file__).parent.parent / "migrations" / version / "post-migrate.py"
        spec = importlib.util.spec_from_file_location(f"mcs_migration_{version.replace('.', '_')}", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        self.env.flush_all()
        migration.migrate(self.env.cr, from_version)
        self.env.invalidate_all()

    # -- Outlook, as Alice uses it -----------------------------------------------

    def outlook(self):
        settings = self.env["microsoft.calendar.config"]._mcs_settings()
        return settings.graph_client(self.account._mcs_sign_in())

    def outlook_create(self, subject="From Outlook", start=None, hours=1, **extra):
        start = start or self.tomorrow.replace(tzinfo=timezone.utc)
        body = {
            "subject": subject,
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            **extra,
        }
        with self.outlook() as client:
            return client.create_event(body)

    def outlook_update(self, graph_id, changes):
        with self.outlook() as client:
            return client.update_event(graph_id, changes)

    def outlook_get(self, graph_id):
        with self.outlook() as client:
            return client.get_event(graph_id)

    def outlook_delete(self, graph_id):
        with self.outlook() as client:
            client.delete_event(graph_id)

    def outlook_events(self, address="alice@contoso.com"):
        """Every event of the mailbox, as the sandbox stores it (control API)."""
        response = requests.get(f"{self.sandbox.base_url}/_sandbox/mailboxes/{address}/events",
                                verify=self.sandbox.ca_path, timeout=10)
        response.raise_for_status()
        return response.json()["value"]

    # -- sandbox control ---------------------------------------------------------

    def control(self, method, path, payload=None):
        response = requests.request(method, f"{self.sandbox.base_url}/_sandbox{path}", json=payload,
                                    verify=self.sandbox.ca_path, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else None

    def clear_mail(self):
        self.control("DELETE", "/mail")

    def sent_mail(self):
        return self.control("GET", "/mail")["value"]

    def fault(self, **spec):
        rule = faults.add_rule(self.sandbox.world, spec)
        self.addCleanup(self.sandbox.world.extra.get("faults", []).clear)
        return rule

    def unreadable_in_outlook(self, subject):
        """While active, the pull cannot read the payload of the Outlook event ``subject``."""
        real = sync_pull.event_from_graph

        def damaged(payload, **kwargs):
            if payload.get("subject") == subject:
                raise MappingError("start.dateTime is not a date")
            return real(payload, **kwargs)
        return patch.object(sync_pull, "event_from_graph", damaged)

    # -- Odoo --------------------------------------------------------------------

    def odoo_mails(self):
        return self.env["mail.mail"].sudo().search_count([])

    def binding(self, event):
        return self.env["microsoft.calendar.binding"].sudo().search([("event_id", "=", event.id)])

    def make_event(self, name="Odoo meeting", **values):
        return self.Event.create({"name": name, "start": self.tomorrow, "stop": self.tomorrow + timedelta(hours=1),
                                  "user_id": self.alice.id, **values})

    def due_now(self, bindings):
        """Let the backoff of ``bindings`` pass."""
        bindings.sudo().write({"next_retry": fields.Datetime.now() - timedelta(seconds=1)})

    @staticmethod
    def patch_module(name, value):
        """Patch ``name`` in the sync run's module that defines it (the orchestrator or a flow)."""
        module = next(module for module in (sync_module, sync_pull, sync_push, sync_apply)
                      if hasattr(module, name) and name in vars(module))
        return _Patch(module, name, value)


class _Patch:
    def __init__(self, module, name, value):
        self.module, self.name, self.value = module, name, value

    def __enter__(self):
        self.old = getattr(self.module, self.name)
        setattr(self.module, self.name, self.value)

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.old)
