"""Running due jobs of one database in this Odoo process, through the engine: the
buttons, the HTTP endpoints and the cron call this; the leader's dispatcher uses the
same job transaction (:mod:`.job_transaction`)."""

import logging
from contextlib import closing
from functools import partial

import psycopg2

from ..engine.connection import cancel_backend_statement, connect_engine, engine_application_name
from ..engine.housekeeping import prune_finished_jobs
from ..engine.processor import ProcessingReport, process_due_jobs
from ..engine.timeouts import ExecutionWatchdog
from .job_transaction import engine_connection_params, odoo_transaction_factory, thread_serving

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20
"""Jobs one manual or request-bound processing runs at most."""
DEFAULT_MAX_SECONDS = 50.0
"""Seconds one manual or request-bound processing may take (under Odoo's request limits)."""


def process_due_jobs_in_database(
    dbname, max_jobs, max_seconds, application_name=None, only_job_ids=None
):
    """Run due jobs of ``dbname`` in this process until none is due or a budget is spent
    (only those of ``only_job_ids``, when given).

    Claims through a dedicated engine connection named ``application_name`` (by default
    ``job_worker:process:<random>:<pid>``: pids repeat across hosts and containers),
    which owns the jobs while they run.
    """
    application_name = application_name or engine_application_name("process")
    with thread_serving(dbname):
        params = engine_connection_params(dbname)
        connection = connect_engine(params, application_name)
        watchdog = ExecutionWatchdog(
            partial(cancel_backend_statement, partial(psycopg2.connect, **params))
        )
        with closing(connection):
            try:
                report: ProcessingReport = process_due_jobs(
                    connection,
                    odoo_transaction_factory(dbname),
                    max_jobs,
                    max_seconds,
                    watchdog.watch,
                    only_job_ids,
                )
            finally:
                watchdog.close()
    _logger.debug(
        "processed %d job(s) of %s in %.2fs: %d done, %d failed",
        report.processed,
        dbname,
        report.elapsed_s,
        report.done,
        report.failed,
    )
    return report


def prune_finished_jobs_in_database(dbname):
    """Delete done and cancelled jobs of ``dbname`` past their channel's removal interval,
    in committed batches, through an engine connection; return how many."""
    connection = connect_engine(
        engine_connection_params(dbname), engine_application_name("housekeeping")
    )
    with closing(connection):
        return prune_finished_jobs(connection)
