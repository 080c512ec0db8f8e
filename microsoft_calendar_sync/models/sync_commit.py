# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A run's transaction: the account row's lock, the commit points, the "Synchronizing" state.

A run holds the account row with ``SELECT ... FOR UPDATE SKIP LOCKED``: a
second worker skips an account that is being synced, and a run that finds at a
commit point that the user paused, disconnected or reconnected the account
meanwhile stops there (:class:`LockLost`).

What an idle run costs (issue 16): most runs find nothing to do, so such a run
is one transaction with one commit, at its end. It does not commit the
transient "Synchronizing..." state first: a run commits it (:meth:`_mcs_mark_syncing`)
only once it has work, that is before its second Graph request (more delta
pages, Outlook writes, checks) or at its first commit point that follows work,
so people see it during every run that lasts. The commit points a run reaches
before its push while it has read nothing but delta pages without changes (its
first one, at its start, among them) are deferred to the run's end: what they
would make durable is a newer resume link only, and a run killed before its end
reads the same empty pages again from the previous link. The push's commit
points are never deferred (its creates' transactionIds are durable before the
POST). The account row is locked and read in one query (:meth:`_mcs_lock`).
"""

import weakref

import odoo
from odoo import api, models
from odoo.tools import SQL, Query

#: States a user (or a failed refresh) puts an account in that end a run under way.
STOPPED_STATES = ("paused", "not_connected", "needs_reauth")


class LockLost(Exception):
    """Another worker took the account between two commit points: this run stops."""


#: The runs under way, by cursor then account id (what the commit points and the lock ask of their run).
_RUNS = weakref.WeakKeyDictionary()
#: "Whatever the account row says": the connection a run works for when it has read none yet.
_ROW_KEY = object()


class _Run:
    """One run of one account while it goes on: the connection it works for, whether
    people were told it synchronizes (``marked``), whether it is still reading; and the
    token provider of its Graph client, which sees every request before it leaves."""

    __slots__ = ("account", "signin", "connection_key", "counts", "requests", "marked", "reading")

    def __init__(self, account, signin, connection_key, counts):
        self.account, self.signin, self.connection_key, self.counts = account, signin, connection_key, counts
        self.requests = 0
        self.marked = False
        #: Until the push: a commit point reached while the run changed nothing may wait (see _mcs_commit).
        self.reading = True

    def get_token(self, force_refresh=False):
        self.requests += 1
        if self.requests > 1 and not self.marked:
            # A second request (another page, a check, an Outlook write, a retry): the run
            # has work; people see "Synchronizing..." before it is done.
            self.account._mcs_mark_syncing()
        return self.signin.get_token(force_refresh)


class MicrosoftCalendarAccount(models.Model):
    _inherit = "microsoft.calendar.account"

    @api.model
    def _mcs_commit_allowed(self):
        return not odoo.modules.module.current_test

    def _mcs_run(self):
        """The run of this account under way in this transaction, or None."""
        return _RUNS.get(self.env.cr, {}).get(self.id)

    def _mcs_commit(self, relock=True):
        """A commit point of the run (no-op inside tests, which cannot commit).

        Before the push, a commit point reached while the run has done nothing but read (one
        Graph request at most: a second one commits "Synchronizing...", see :class:`_Run`; and
        no change in its counts) is deferred to the next one or to the run's end: it would only make a newer resume link
        durable (pages read again from the previous link bring the same nothing). Any other
        commit point of a run commits, and its run is "Synchronizing..." from there on: the
        push's, which make the creates' transactionIds durable before the POST, always do."""
        run = self._mcs_run()
        if run is not None and not run.marked:
            if run.reading and self._mcs_run_outcome(run.counts, None) == "idle":
                return
            run.marked = True
            self._mcs_set_values({"state": "syncing"})
        if self._mcs_commit_allowed():
            # What was applied (Odoo records, bindings, resume link) is now
            # durable: a crash after this point resumes from here.
            self.env.cr.commit()
            # The commit released the account row: hold it again, or stop if another worker has it.
            if relock and not self._mcs_lock():
                raise LockLost()

    def _mcs_mark_syncing(self):
        """The run has work: commit the "Synchronizing..." state people see while it goes on."""
        run = self._mcs_run()
        if run is not None and not run.marked:
            run.marked = True
            self._mcs_set_values({"state": "syncing"})
            self._mcs_commit()

    def _mcs_set_values(self, values):
        """Write the values that differ from the account's (a write of equal values costs an
        UPDATE of write_date, and the chatter's tracking of the state)."""
        account = self.sudo()
        changed = {name: value for name, value in values.items() if account[name] != value}
        if changed:
            account.write(changed)

    def _mcs_lock(self):
        """Hold the account row for this run; False if another worker holds it, or if the
        user paused, disconnected or reconnected the account since the run read it (the
        connection the run works for is not the row's): the run must then stop, not write
        over it.

        One query locks the row (``FOR UPDATE SKIP LOCKED``, in a sub-select) and reads it
        into the cache, as the run is about to read it anyway (after a commit the cache is
        empty)."""
        account = self.sudo()
        run = account._mcs_run()
        if run is not None:
            connection_key = run.connection_key
        elif account.env.cache.contains(account, account._fields["connection_key"]):
            connection_key = account.connection_key
        else:
            connection_key = _ROW_KEY  # nothing read yet: the run works for the row's connection
        # this transaction's own pause or resume first; then the row's values, not the cache's
        account.invalidate_recordset(["state", "connection_key"])
        table = SQL.identifier(account._table)
        query = Query(account.env, account._table, account._table_sql)
        query.add_where(SQL("%s IN (SELECT id FROM %s WHERE id = %s FOR UPDATE SKIP LOCKED)",
                            SQL.identifier(account._table, "id"), table, account.id))
        if not account._fetch_query(query, account._determine_fields_to_fetch()):
            return False
        return account.state not in STOPPED_STATES and connection_key in (_ROW_KEY, account.connection_key)
