"""Running due jobs of one database in this Odoo process, through the engine: the
buttons, the HTTP endpoints and the cron call this; the leader's dispatcher uses the
same job transaction (:mod:`.job_transaction`)."""

import logging
from contextlib import closing

from ..engine.connection import connect_engine, engine_application_name
from ..engine.housekeeping import prune_finished_jobs
from ..engine.processor import ProcessingReport, process_due_jobs_of_database, run_jobs_now
from .job_transaction import engine_connection_params, odoo_transaction_factory, thread_serving

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20
"""Jobs one manual or request-bound processing runs at most."""
DEFAULT_MAX_SECONDS = 50.0
"""Seconds one manual or request-bound processing may take (under Odoo's request limits)."""


def process_due_jobs_in_database(
    dbname,
    max_jobs,
    max_seconds,
    application_name=None,
    only_job_ids=None,
    jobs_end_within_budget=False,
):
    """Run due jobs of ``dbname`` in this process until none is due or a budget is spent
    (only those of ``only_job_ids``, when given).

    Claims through a dedicated engine connection named ``application_name`` (by default
    ``job_worker:process:<random>:<pid>``: pids repeat across hosts and containers),
    which owns the jobs while they run. With ``jobs_end_within_budget``, a job still
    running when ``max_seconds`` are spent is interrupted and given back uncounted,
    whatever its own timeout (a request must not outlive Odoo's ``limit_time_real``).
    """
    with thread_serving(dbname):
        report: ProcessingReport = process_due_jobs_of_database(
            engine_connection_params(dbname),
            odoo_transaction_factory(dbname),
            max_jobs,
            max_seconds,
            application_name=application_name,
            only_job_ids=only_job_ids,
            jobs_end_within_budget=jobs_end_within_budget,
        )
    _log_report(dbname, report)
    return report


def run_jobs_now_in_database(dbname, job_ids, max_seconds):
    """Run the jobs ``job_ids`` of ``dbname`` now, in this process, within ``max_seconds``:
    an ETA still ahead is brought to now, channels and capacities still apply (see
    :func:`~..engine.processor.run_jobs_now`)."""
    with thread_serving(dbname):
        report = run_jobs_now(
            engine_connection_params(dbname), odoo_transaction_factory(dbname), job_ids, max_seconds
        )
    _log_report(dbname, report)
    return report


def _log_report(dbname, report: ProcessingReport) -> None:
    _logger.debug(
        "processed %d job(s) of %s in %.2fs: %d done, %d failed",
        report.processed,
        dbname,
        report.elapsed_s,
        report.done,
        report.failed,
    )


def prune_finished_jobs_in_database(dbname):
    """Delete done and cancelled jobs of ``dbname`` past their channel's removal interval,
    in committed batches, through an engine connection; return how many."""
    connection = connect_engine(
        engine_connection_params(dbname), engine_application_name("housekeeping")
    )
    with closing(connection):
        return prune_finished_jobs(connection)
