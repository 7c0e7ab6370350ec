"""What the pytest modules share: connections, queue databases, jobs written and read back
with plain SQL, waiting for a condition, and the base of the child-process harnesses.

Fixtures live in ``conftest.py`` (pytest finds them there); plain functions live here, so
that test modules and the modules child processes import by name (``spawn`` starts a
fresh interpreter, which never runs ``conftest.py``) use one definition of each.
"""

import multiprocessing
import os
import time
import uuid

import engine_import  # noqa: F401  (before anything from job_worker)
import psycopg2

from job_worker.engine import codec
from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.execution import execute_claimed_job
from job_worker.engine.schema import install_schema

ADMIN_DATABASE = os.environ.get("JOB_WORKER_TEST_ADMIN_DB", "postgres")
"""The database connected to when creating and dropping test databases."""
QUEUE_DATABASE_PREFIX = "job_worker_test_"
PROCESSOR = "job_worker:test-processor"
"""The engine connection of the ``processor`` fixture: the owner of what it claims."""
START_TIMEOUT_S = 30.0
"""How long a child process may take to start its interpreter and connect."""
STOP_TIMEOUT_S = 15.0
"""How long a child process may take to exit once asked to stop."""


# -- connections and databases -----------------------------------------------------------


def connect(dbname, **params):
    """A psycopg2 connection to ``dbname`` (libpq environment for the rest)."""
    return psycopg2.connect(dbname=dbname, **params)


def create_queue_database():
    """A new empty database with the queue schema (no Odoo); return its name.

    Fails the test, without a traceback, when PostgreSQL cannot be reached: these tests
    never skip for want of a database.
    """
    name = f"{QUEUE_DATABASE_PREFIX}{uuid.uuid4().hex[:10]}"
    try:
        admin = connect(ADMIN_DATABASE)
    except psycopg2.OperationalError as error:
        import pytest  # here only: child processes import this module, and need no pytest

        pytest.fail(
            f"PostgreSQL is unreachable ({error}). The engine tests need a real PostgreSQL: "
            "start it, or point PGHOST/PGPORT/PGUSER at one.",
            pytrace=False,
        )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    try:
        with connect(name) as connection, connection.cursor() as cursor:
            install_schema(cursor)
        connection.close()
    except BaseException:
        drop_queue_database(name)
        raise
    return name


def drop_queue_database(name):
    """Drop a database the tests created, whoever is still connected to it."""
    admin = connect(ADMIN_DATABASE)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def is_connected(db, application_name):
    """Whether a connection named ``application_name`` is open on the test database."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0] > 0


# -- channels ----------------------------------------------------------------------------


def add_channel(cursor, complete_name, **values):
    """Configure a channel under its parent (which must exist); return its id."""
    parent_name, _, name = complete_name.rpartition(".")
    cursor.execute("SELECT id FROM queue_job_channel WHERE complete_name = %s", [parent_name])
    (parent_id,) = cursor.fetchone()
    values = {"removal_interval": 30, **values}
    columns = ", ".join(["name", "complete_name", "parent_id", *values])
    placeholders = ", ".join(["%s"] * (3 + len(values)))
    cursor.execute(
        f"INSERT INTO queue_job_channel ({columns}) VALUES ({placeholders}) RETURNING id",
        [name, complete_name, parent_id, *values.values()],
    )
    return cursor.fetchone()[0]


def set_root_channel(cursor, **values):
    """Change the root channel's settings (capacity, paused, …)."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    cursor.execute(
        f"UPDATE queue_job_channel SET {assignments} WHERE parent_id IS NULL", list(values.values())
    )


# -- jobs --------------------------------------------------------------------------------


def insert_job(cursor, **values):
    """Insert a job with plain SQL (the table's defaults fill the rest); return its id."""
    values.setdefault("model_name", "test.model")
    values.setdefault("method_name", "run")
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({column})s" for column in values)
    cursor.execute(
        f"INSERT INTO queue_job ({columns}) VALUES ({placeholders}) RETURNING id", values
    )
    return cursor.fetchone()[0]


def enqueue(db, method_name, *args, **values):
    """Insert a pending job calling ``method_name`` with ``args`` (encoded as the engine
    stores them, unless ``args=`` gives the stored text itself); return its id."""
    values.setdefault("args", codec.dumps(list(args)))
    with db.cursor() as cursor:
        return insert_job(cursor, method_name=method_name, **values)


def job_row(db, job_id, *columns):
    """The job's ``columns``, as a tuple."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM queue_job WHERE id = %s", [job_id])
        return cursor.fetchone()


def job_states(db, job_ids):
    """The state of each of ``job_ids``, in their order."""
    with db.cursor() as cursor:
        cursor.execute("SELECT id, state FROM queue_job WHERE id = ANY(%s)", [list(job_ids)])
        found = dict(cursor.fetchall())
    return [found[job_id] for job_id in job_ids]


def state_counts(db, job_ids=None):
    """``{state: number of jobs}``, of ``job_ids`` or of every job."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT state, count(*) FROM queue_job"
            " WHERE %(ids)s::int[] IS NULL OR id = ANY(%(ids)s) GROUP BY state",
            {"ids": None if job_ids is None else list(job_ids)},
        )
        return dict(cursor.fetchall())


def run_due_job(processor, open_transaction):
    """Claim the one due job on ``processor`` and run it through the execution protocol;
    return its outcome."""
    [job] = claim_due_jobs(processor, 10)
    return execute_claimed_job(job, open_transaction)


# -- waiting -----------------------------------------------------------------------------


def wait_until(condition, timeout_s, message, interval_s=0.02):
    """Poll ``condition()`` until it returns something true; return that, or fail."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"after {timeout_s} s: {message}")
        time.sleep(interval_s)


# -- child processes ---------------------------------------------------------------------


class ChildProcesses:
    """The child processes of one test (started with ``spawn``): stopped (SIGTERM) or
    crashed (SIGKILL) at will, and whatever is still alive killed by :meth:`kill_all`."""

    def __init__(self):
        self._spawn = multiprocessing.get_context("spawn")
        self.processes = []

    def alive(self):
        return [process for process in self.processes if process.is_alive()]

    def stop(self, process, timeout_s=STOP_TIMEOUT_S):
        """SIGTERM ``process`` and wait until it exits; return its exit code."""
        process.terminate()
        process.join(timeout_s)
        assert not process.is_alive(), f"{process.name} did not stop within {timeout_s} s"
        return process.exitcode

    def crash(self, process):
        """SIGKILL ``process``: no cleanup of any kind runs in it."""
        process.kill()
        process.join(STOP_TIMEOUT_S)

    def kill_all(self):
        for process in self.processes:
            if process.is_alive():
                process.kill()
        for process in self.processes:
            process.join(STOP_TIMEOUT_S)
