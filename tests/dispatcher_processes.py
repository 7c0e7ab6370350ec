"""Dispatchers in child processes of their own, and the jobs they run, for the tests.

A child runs one :class:`~job_worker.engine.dispatcher.Dispatcher` until SIGTERM (a
graceful stop) or SIGKILL (a crash). Children are started with the ``spawn`` method, as
fresh interpreters that import this module by name: it registers the bare ``job_worker``
package itself (the addon's ``__init__`` imports Odoo) before importing the engine.

What jobs did is recorded where the tests can read it after any crash:

- ``attempt_log (job_id, pid, thread)``: written first thing by every job function, on an
  autocommit connection of the child's own, so it stands whatever becomes of the job;
- ``execution_log (job_id, pid)``: written by the job in its own transaction, so it
  commits only with the job's outcome.

Job functions are called as ``function(job, cursor, *args, **kwargs)``: the claimed job,
a cursor in the job's transaction, then the job's decoded arguments.
"""

import contextlib
import itertools
import multiprocessing
import os
import signal
import threading
import time
import types

import engine_import  # noqa: F401  (before anything from job_worker)
import psycopg2
from psycopg_job_transaction import (
    PsycopgJobTransaction,
    psycopg_transaction_factory,
)

from job_worker.engine import codec
from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.errors import CorruptJobDataError

DISPATCHER_NAME_PREFIX = "job_worker:test-dispatcher"
START_TIMEOUT_S = 30.0
"""How long a child may take to start its interpreter and connect."""
STOP_TIMEOUT_S = 15.0
"""How long a child may take to exit once asked to stop."""

_dispatcher_numbers = itertools.count(1)
"""Numbers dispatcher names across the session: a name is never used twice."""


# -- the record of what jobs did ---------------------------------------------------------


def create_job_logs(cursor):
    """Create (or empty) ``attempt_log`` and ``execution_log``."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS attempt_log "
        "(id serial PRIMARY KEY, job_id int NOT NULL, pid int NOT NULL, thread text NOT NULL)"
    )
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS execution_log "
        "(id serial PRIMARY KEY, job_id int NOT NULL, pid int NOT NULL)"
    )
    cursor.execute("TRUNCATE attempt_log, execution_log RESTART IDENTITY")


def drop_job_logs(cursor):
    cursor.execute("DROP TABLE IF EXISTS attempt_log, execution_log")


_attempt_log = types.SimpleNamespace(connection=None, lock=threading.Lock())


def open_attempt_log(database):
    """Open the child's autocommit connection for :func:`record_attempt`."""
    connection = psycopg2.connect(dbname=database, application_name="job_worker:test-attempt-log")
    connection.autocommit = True
    _attempt_log.connection = connection


def record_attempt(job):
    """Note that ``job`` started running here, outside its transaction (commits at once)."""
    with _attempt_log.lock, _attempt_log.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO attempt_log (job_id, pid, thread) VALUES (%s, %s, %s)",
            [job.id, os.getpid(), threading.current_thread().name],
        )


def record_execution(job, cursor):
    """Note, in the job's transaction, that ``job`` ran to its end (commits with it)."""
    cursor.execute("INSERT INTO execution_log (job_id, pid) VALUES (%s, %s)", [job.id, os.getpid()])


# -- job functions -----------------------------------------------------------------------


def work_briefly(job, cursor, milliseconds):
    record_attempt(job)
    time.sleep(milliseconds / 1000)
    record_execution(job, cursor)


def nap(job, cursor, seconds):
    """Sleep in one call (no Python bytecode runs until it returns)."""
    record_attempt(job)
    time.sleep(seconds)
    record_execution(job, cursor)


def nap_in_python(job, cursor, seconds):
    """Busy in Python code for ``seconds``: interruptible at any of its small steps."""
    record_attempt(job)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    record_execution(job, cursor)


def sleep_in_sql(job, cursor, seconds):
    """Blocked in one SQL statement of the job's transaction for ``seconds``."""
    record_attempt(job)
    cursor.execute("SELECT pg_sleep(%s)", [seconds])
    record_execution(job, cursor)


class UnprintableError(Exception):
    """An exception that cannot even be turned into text."""

    def __str__(self):
        raise RuntimeError("this exception refuses to be printed")


def raise_unprintable(job, cursor):
    record_attempt(job)
    raise UnprintableError()


JOB_FUNCTIONS = {
    "work_briefly": work_briefly,
    "nap": nap,
    "nap_in_python": nap_in_python,
    "sleep_in_sql": sleep_in_sql,
    "raise_unprintable": raise_unprintable,
}


# -- the driver --------------------------------------------------------------------------


class DispatcherJobTransaction(PsycopgJobTransaction):
    """The tests' driver, strict about stored data, and cancellable by the watchdog."""

    @property
    def backend_pid(self):
        """The job connection's server process: the watchdog cancels its statement."""
        return self.connection.info.backend_pid

    def perform(self):
        function = self.job_functions.get(self.job.method_name)
        if function is None:
            raise LookupError(f"no job function named {self.job.method_name!r}")
        args = self._decode("args", self.job.args, [])
        kwargs = self._decode("kwargs", self.job.kwargs, {})
        with self.connection.cursor() as cursor:
            return function(self.job, cursor, *args, **kwargs)

    def _decode(self, field, text, empty):
        if not text:
            return empty
        try:
            return codec.loads(text, path=field)
        except ValueError as error:
            raise CorruptJobDataError(
                f"the stored {field} of job {self.job.id} cannot be decoded: {error}"
            ) from error


def dispatcher_transaction_factory(database, job_functions=None):
    """Open each job's transaction on a connection of its own, closed after the job."""
    job_functions = JOB_FUNCTIONS if job_functions is None else job_functions
    return psycopg_transaction_factory(database, job_functions, DispatcherJobTransaction)


# -- the child process -------------------------------------------------------------------


def run_dispatcher(database, application_name, config):
    """The child's main: run a dispatcher named ``application_name`` until SIGTERM."""
    open_attempt_log(database)
    dispatcher = Dispatcher(
        connect=lambda: connect_engine({"dbname": database}, application_name),
        open_transaction=dispatcher_transaction_factory(database),
        config=config,
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: dispatcher.stop())
    dispatcher.run()


# -- the test's side ---------------------------------------------------------------------


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


def attempts(db, job_id):
    """``[(pid, thread)]`` of every attempt of the job, in order."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pid, thread FROM attempt_log WHERE job_id = %s ORDER BY id", [job_id]
        )
        return cursor.fetchall()


def executions(db, job_id):
    """How many times the job's transaction committed its ``execution_log`` row."""
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM execution_log WHERE job_id = %s", [job_id])
        return cursor.fetchone()[0]


def is_connected(db, application_name):
    """Whether a connection named ``application_name`` is open on the test database."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0] > 0


class ChildProcesses:
    """The child processes of one test: stopped (SIGTERM) or crashed (SIGKILL) at will,
    and whatever is still alive killed by :meth:`kill_all`."""

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


class DispatcherProcesses(ChildProcesses):
    """The dispatcher children of one test; :meth:`close` ends every one still alive."""

    def __init__(self, database, db):
        super().__init__()
        self.database = database
        self.db = db

    def start(self, config: DispatcherConfig, wait=True):
        """Start a child running a dispatcher under a name of its own; return the process.

        ``wait``: return once its engine connection is open (it is dispatching).
        """
        name = f"{DISPATCHER_NAME_PREFIX}-{next(_dispatcher_numbers)}"
        process = self._spawn.Process(
            target=run_dispatcher, args=(self.database, name, config), name=name, daemon=True
        )
        process.start()
        self.processes.append(process)
        if wait:
            self.wait_connected(process)
        return process

    def wait_connected(self, process):
        wait_until(
            lambda: is_connected(self.db, process.name) or not process.is_alive(),
            START_TIMEOUT_S,
            f"{process.name} did not connect",
        )
        assert process.is_alive(), f"{process.name} exited with {process.exitcode}"

    def close(self):
        """Kill every child still alive, and end whatever it left running in PostgreSQL."""
        self.kill_all()
        # A killed child's server processes outlive it while a statement runs (pg_sleep):
        # they would hold row locks into the next test.
        with contextlib.suppress(psycopg2.Error), self.db.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name LIKE 'job_worker:test-%'"
            )
