"""A psycopg2 driver for the engine's execution protocol: the tests' stand-in for Odoo.

Where the Odoo side calls a model's method in an environment, this driver calls a plain
Python function, looked up by the job's ``method_name``, with the job's cursor and its
decoded arguments: ``function(cursor, *args, **kwargs)``.
"""

from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

from job_worker.engine import codec

JOB_APPLICATION_NAME = "job_worker:test-job"
ODOO_ISOLATION_LEVEL = psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ
"""Odoo's cursors run REPEATABLE READ: a job's transaction keeps one snapshot."""


class PsycopgJobTransaction:
    """One job's own transaction, on a psycopg2 connection of its own."""

    def __init__(self, connection, job, job_functions):
        self.connection = connection
        self.job = job
        self.job_functions = job_functions

    def execute(self, query, params):
        with self.connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    @contextmanager
    def savepoint(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SAVEPOINT job")
        try:
            yield
        except BaseException:
            with self.connection.cursor() as cursor:
                cursor.execute("ROLLBACK TO SAVEPOINT job")
            raise
        with self.connection.cursor() as cursor:
            cursor.execute("RELEASE SAVEPOINT job")

    def perform(self):
        function = self.job_functions[self.job.method_name]
        args = codec.loads(self.job.args) if self.job.args else []
        kwargs = codec.loads(self.job.kwargs) if self.job.kwargs else {}
        with self.connection.cursor() as cursor:
            return function(cursor, *args, **kwargs)

    def commit(self):
        self.connection.commit()

    def rollback(self):
        self.connection.rollback()

    def on_settled(self, job, result):
        """Nothing to add to the settling transaction (Odoo posts a failure here)."""


def psycopg_transaction_factory(
    database, job_functions, transaction_class=None, isolation_level=None
):
    """A :data:`~job_worker.engine.execution.JobTransactionFactory` running ``job_functions``.

    Each job gets a new connection, closed when its block ends: whatever it did not
    commit is rolled back. ``transaction_class`` (default :class:`PsycopgJobTransaction`)
    wraps it. ``isolation_level`` (a ``psycopg2.extensions.ISOLATION_LEVEL_*``; default
    the server's, READ COMMITTED) is the job transaction's: Odoo runs jobs at
    :data:`ODOO_ISOLATION_LEVEL`.
    """
    transaction_class = transaction_class or PsycopgJobTransaction

    @contextmanager
    def open_transaction(job):
        connection = psycopg2.connect(dbname=database, application_name=JOB_APPLICATION_NAME)
        if isolation_level is not None:
            connection.set_session(isolation_level=isolation_level)
        try:
            yield transaction_class(connection, job, job_functions)
        finally:
            connection.close()

    return open_transaction
