"""What the channel tests run in child processes: engine processors whose jobs log themselves.

Children are started with the ``spawn`` method, as a fresh interpreter that imports this
module by name: it cannot rely on ``conftest.py`` having run, so it registers the bare
``job_worker`` package itself (the addon's ``__init__`` imports Odoo) before importing the
engine.

Every job function here writes its execution to ``execution_log`` from inside the job's
own transaction: the row commits with the job's outcome, or not at all. Its times come
from ``clock_timestamp()``, so executions in every process are measured on one clock.
"""

import os
import threading
import time
from contextlib import contextmanager
from functools import partial

import engine_import  # noqa: F401  (before anything from job_worker)
from psycopg_job_transaction import psycopg_transaction_factory

from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.processor import process_due_jobs

START_TIMEOUT_S = 20.0
"""How long a child waits for the others (and the test) to be ready before giving up."""
LIFETIME_S = 60.0
"""A child stops by itself after this long, even if the test that started it is gone."""
SHUTDOWN_GRACE_S = 5.0
"""Time a stopping dispatcher gives its running jobs to finish."""
PROCESSING_BUDGET_S = 5.0
"""Time budget of one ``process_due_jobs`` call."""
IDLE_WAIT_S = 0.05
"""Pause of a processor that found nothing due, before it looks again."""

EXECUTION_LOG_TABLE = """
    CREATE TABLE IF NOT EXISTS execution_log (
        id          serial PRIMARY KEY,
        job_id      integer NOT NULL,
        channel     varchar NOT NULL,
        pid         integer NOT NULL,
        started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        ended_at    timestamptz
    )
"""


class JobFailsOnPurpose(Exception):
    """What ``log_execution_then_raise`` raises."""


def log_execution(job, cursor, seconds):
    """Log this execution's start, sleep ``seconds`` (so executions overlap), log its end."""
    cursor.execute(
        "INSERT INTO execution_log (job_id, channel, pid) VALUES (%s, %s, %s) RETURNING id",
        [job.id, job.channel, os.getpid()],
    )
    (log_id,) = cursor.fetchone()
    time.sleep(seconds)
    cursor.execute("UPDATE execution_log SET ended_at = clock_timestamp() WHERE id = %s", [log_id])


def log_execution_then_raise(job, cursor, seconds):
    """Log a whole execution like ``log_execution``, then fail: the log must not commit."""
    log_execution(job, cursor, seconds)
    raise JobFailsOnPurpose(f"job {job.id} fails on purpose")


JOB_FUNCTIONS = {
    "log_execution": log_execution,
    "log_execution_then_raise": log_execution_then_raise,
}


def logging_transaction_factory(database):
    """A job transaction factory running :data:`JOB_FUNCTIONS`, each told which job it is."""

    @contextmanager
    def open_transaction(job):
        functions = {name: partial(function, job) for name, function in JOB_FUNCTIONS.items()}
        with psycopg_transaction_factory(database, functions)(job) as transaction:
            yield transaction

    return open_transaction


def process_until_stopped(database, application_name, start_together, stop):
    """Call ``process_due_jobs`` again and again, as the cron processor does, until ``stop``.

    ``start_together`` is a barrier shared with the other processors and the test;
    ``stop`` an event the test sets once it has seen what it waits for. The processor
    stops by itself after :data:`LIFETIME_S` whatever happens to the test.
    """
    connection = connect_engine({"dbname": database}, application_name)
    open_transaction = logging_transaction_factory(database)
    try:
        start_together.wait(START_TIMEOUT_S)
        give_up = time.monotonic() + LIFETIME_S
        while not stop.is_set() and time.monotonic() < give_up:
            report = process_due_jobs(connection, open_transaction, 1000, PROCESSING_BUDGET_S)
            if not report.processed:
                stop.wait(IDLE_WAIT_S)
    finally:
        connection.close()


def dispatch_until_stopped(database, application_name, max_threads, start_together, stop):
    """Run a :class:`Dispatcher` with ``max_threads`` threads until ``stop`` is set.

    ``start_together`` is a barrier shared with the other dispatchers and the test;
    ``stop`` an event the test sets once it has seen what it waits for. The dispatcher
    stops by itself after :data:`LIFETIME_S` whatever happens to the test.
    """
    dispatcher = Dispatcher(
        partial(connect_engine, {"dbname": database}, application_name),
        logging_transaction_factory(database),
        DispatcherConfig(max_threads=max_threads, shutdown_grace_s=SHUTDOWN_GRACE_S),
    )

    def stop_when_told():
        stop.wait(LIFETIME_S)
        dispatcher.stop()

    start_together.wait(START_TIMEOUT_S)
    threading.Thread(target=stop_when_told, daemon=True).start()
    dispatcher.run()
