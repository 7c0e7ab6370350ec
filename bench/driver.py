"""A psycopg2 driver for the engine's execution protocol, for benchmarks.

The tests' ``PsycopgJobTransaction`` (``tests/psycopg_job_transaction.py``), but the
job's "method" is a Python callable given the
:class:`~job_worker.engine.claim.ClaimedJob` (a no-op, or one that records when it
started), and connections are reused: each worker thread keeps one connection
for all the jobs it runs, as an Odoo worker reuses its pooled connections. Pass
``reuse=False`` for a fresh connection per job (what the test driver does).

Every job still goes through the whole protocol: its own transaction, the row lock, a
savepoint around the method, the settlement and the commit.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2
import psycopg2.extensions
from psycopg_job_transaction import ODOO_ISOLATION_LEVEL, PsycopgJobTransaction

JOB_APPLICATION_NAME = "job_worker:bench-job"


class BenchJobTransaction(PsycopgJobTransaction):
    """One job's own transaction on a psycopg2 connection: the tests' driver, whose
    "method" is a Python callable given the claimed job."""

    def __init__(self, connection, job, perform, settled=None):
        super().__init__(connection, job, job_functions={})
        self._perform = perform
        self._settled = settled
        # Read by the engine's watchdog, to cancel the statement of a job past its timeout.
        self.backend_pid = connection.get_backend_pid()

    def perform(self):
        return self._perform(self.job)

    def on_settled(self, job, result):
        if self._settled is not None:
            self._settled(job, result)


def noop(job):
    """A job that does nothing."""
    return None


class TransactionFactory:
    """The engine's ``JobTransactionFactory``: ``open_transaction(job)`` for a Dispatcher.

    With ``reuse`` (the default) each thread keeps one connection; whatever a job left
    uncommitted is rolled back when its block ends, and a broken connection is replaced.
    Without it, each job opens and closes a connection of its own. ``settled(job, result)``
    is called in each job's settling transaction (the engine's ``on_settled`` seam).
    """

    def __init__(self, dbname, perform=noop, reuse=True, connection_factory=None, settled=None):
        self.dbname = dbname
        self.perform = perform
        self.settled = settled
        self.reuse = reuse
        self.connection_factory = connection_factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections = []
        self.connections_opened = 0

    def _connect(self):
        connection = psycopg2.connect(
            dbname=self.dbname,
            application_name=JOB_APPLICATION_NAME,
            connection_factory=self.connection_factory,
        )
        connection.set_session(isolation_level=ODOO_ISOLATION_LEVEL)
        with self._lock:
            self.connections_opened += 1
            if self.reuse:
                self._connections.append(connection)
        return connection

    def _thread_connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._local.connection = self._connect()
        return connection

    @contextmanager
    def __call__(self, job):
        if not self.reuse:
            connection = self._connect()
            try:
                yield BenchJobTransaction(connection, job, self.perform, self.settled)
            finally:
                connection.close()
            return
        connection = self._thread_connection()
        try:
            yield BenchJobTransaction(connection, job, self.perform, self.settled)
        finally:
            if connection.closed:
                self._local.connection = None
            elif connection.status != psycopg2.extensions.STATUS_READY:
                try:
                    connection.rollback()
                except psycopg2.Error:
                    connection.close()
                    self._local.connection = None

    def close(self):
        """Close every connection the threads kept (once they no longer run jobs)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            if not connection.closed:
                connection.close()
