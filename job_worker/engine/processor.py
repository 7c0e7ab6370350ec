"""Processing due jobs in batches, within a job count and a time budget.

This is what every processor that runs in bounded rounds (the cron processor, the HTTP
trigger, the Process and Run now buttons) calls; they differ only in their budget and in
the :data:`~.execution.JobTransactionFactory` that runs a job.
:func:`process_due_jobs_of_database` and :func:`run_jobs_now` open what a round needs
from connection parameters alone: the claiming connection and the watchdog.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import partial

import psycopg2

from .claim import claim_due_jobs, release_claimed_jobs
from .connection import (
    Connection,
    cancel_backend_statement,
    connect_engine,
    engine_application_name,
)
from .events import emit_recovered
from .execution import (
    JobResult,
    JobTransactionFactory,
    JobWatcher,
    execute_claimed_job,
    unwatched,
)
from .recovery import recover_orphaned_jobs
from .sql import load_query
from .timeouts import DEFAULT_JOB_TIMEOUT_S, ExecutionWatchdog

_logger = logging.getLogger(__name__)

CLAIM_BATCH_SIZE = 1
"""Jobs claimed per statement. One: jobs run one after the other here, and a job claimed
but waiting would hold a channel slot (and a rate-limit start) it does not use."""
PROCESSOR_ROLE = "process"
"""A round's claiming connection is ``job_worker:process:<random>:<pid>`` unless named."""


@dataclass
class ProcessingReport:
    """What one call to :func:`process_due_jobs` did."""

    results: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def processed(self) -> int:
        """Jobs executed, whatever their outcome."""
        return sum(self.results.values())

    @property
    def done(self) -> int:
        """Jobs that ended done."""
        return self.results[JobResult.DONE]

    @property
    def failed(self) -> int:
        """Jobs that ended failed."""
        return self.results[JobResult.FAILED]


def process_due_jobs(
    connection: Connection,
    open_transaction: JobTransactionFactory,
    max_jobs: int,
    max_seconds: float,
    watch: JobWatcher = unwatched,
    only_job_ids: Collection[int] | None = None,
) -> ProcessingReport:
    """Claim and run due jobs until none is due, ``max_jobs`` ran, or ``max_seconds`` passed.

    ``connection`` is the psycopg2 connection that claims (its ``application_name``
    becomes the jobs' owner and must stay open while they run). Orphaned jobs are
    recovered first. Jobs claimed but not started when the time budget runs out are
    released, their attempt not counted. ``watch`` interrupts jobs past their timeout
    (see :class:`~.timeouts.ExecutionWatchdog`). ``only_job_ids``: run only those jobs
    ("run now" on selected jobs), under the same limits.
    """
    if max_jobs < 1:
        raise ValueError(f"max_jobs must be at least 1, got {max_jobs}")
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    started = time.monotonic()
    deadline = started + max_seconds
    report = ProcessingReport()
    emit_recovered(connection, recover_orphaned_jobs(connection))
    while report.processed < max_jobs and time.monotonic() < deadline:
        claimed = claim_due_jobs(
            connection, min(CLAIM_BATCH_SIZE, max_jobs - report.processed), only_job_ids
        )
        if not claimed:
            break
        _run_claimed_batch(claimed, connection, open_transaction, watch, deadline, report)
    report.elapsed_s = time.monotonic() - started
    return report


def _run_claimed_batch(claimed, connection, open_transaction, watch, deadline, report) -> None:
    """Run a claimed batch in order; give back whatever was not started.

    Jobs are given back when the time budget runs out, and also when a job's execution
    escapes the protocol (its transaction cannot even be opened, the process is
    interrupted): the rest of the batch must not wait for recovery.
    """
    next_index = 0
    try:
        for job in claimed:
            if time.monotonic() >= deadline:
                break
            next_index += 1
            outcome = execute_claimed_job(job, open_transaction, watch)
            report.results[outcome.result] += 1
    finally:
        unstarted = claimed[next_index:]
        if unstarted:
            try:
                release_claimed_jobs(connection, unstarted)
            except Exception:
                _logger.exception(
                    "could not give back %d claimed job(s); recovery will", len(unstarted)
                )


def process_due_jobs_of_database(
    connection_params: Mapping[str, object],
    open_transaction: JobTransactionFactory,
    max_jobs: int,
    max_seconds: float,
    *,
    application_name: str | None = None,
    only_job_ids: Collection[int] | None = None,
    default_timeout_s: float | None = DEFAULT_JOB_TIMEOUT_S,
    jobs_end_within_budget: bool = False,
) -> ProcessingReport:
    """:func:`process_due_jobs` on the database of ``connection_params`` (libpq keywords).

    Claims through an engine connection of its own named ``application_name`` (by
    default ``job_worker:process:<random>:<pid>``: it owns the jobs while they run), and
    interrupts jobs past their timeout (``default_timeout_s`` for a job that sets none)
    through a watchdog cancelling their statements on connections of the same
    parameters; both are closed when the round ends. With ``jobs_end_within_budget``
    (a processor bound by a request), a job still running when ``max_seconds`` are
    spent is interrupted then and given back uncounted, whatever its own timeout.
    """
    run_until = time.monotonic() + max_seconds if jobs_end_within_budget else None
    with _round(connection_params, application_name, default_timeout_s, run_until) as (
        connection,
        watch,
    ):
        return process_due_jobs(
            connection, open_transaction, max_jobs, max_seconds, watch, only_job_ids
        )


def run_jobs_now(
    connection_params: Mapping[str, object],
    open_transaction: JobTransactionFactory,
    job_ids: Collection[int],
    max_seconds: float,
    *,
    application_name: str | None = None,
    default_timeout_s: float | None = DEFAULT_JOB_TIMEOUT_S,
    jobs_end_within_budget: bool = False,
) -> ProcessingReport:
    """Run the jobs ``job_ids`` now, within ``max_seconds``: the pending ones whose ETA is
    still ahead are brought to now (:func:`bring_jobs_due_now`), then they are claimed
    and run as in :func:`process_due_jobs_of_database`, under every channel's limits (a
    job whose channel is full stays pending, due). Jobs not pending are left as they are.
    ``jobs_end_within_budget`` as in :func:`process_due_jobs_of_database`.
    """
    job_ids = list(job_ids)
    if not job_ids:
        return ProcessingReport()
    run_until = time.monotonic() + max_seconds if jobs_end_within_budget else None
    with _round(connection_params, application_name, default_timeout_s, run_until) as (
        connection,
        watch,
    ):
        bring_jobs_due_now(connection, job_ids)
        return process_due_jobs(
            connection, open_transaction, len(job_ids), max_seconds, watch, job_ids
        )


def bring_jobs_due_now(connection: Connection, job_ids: Collection[int]) -> list[int]:
    """Make those of ``job_ids`` that are pending with an ETA still ahead due now, on the
    database's clock, and commit; return their ids. ``connection`` is a psycopg2
    connection with no transaction of its own under way."""
    with connection.cursor() as cursor:
        cursor.execute(load_query("bring_jobs_due_now"), {"job_ids": list(job_ids)})
        moved = sorted(job_id for (job_id,) in cursor.fetchall())
    connection.commit()
    return moved


@contextmanager
def _round(
    connection_params: Mapping[str, object],
    application_name: str | None,
    default_timeout_s: float | None,
    run_until: float | None = None,
) -> Iterator[tuple[Connection, JobWatcher]]:
    """The claiming connection of one round and the watcher of its jobs, closed after."""
    params = dict(connection_params)
    connection = connect_engine(params, application_name or engine_application_name(PROCESSOR_ROLE))
    with closing(connection):
        watchdog = ExecutionWatchdog(
            partial(cancel_backend_statement, partial(psycopg2.connect, **params)),
            default_timeout_s,
            run_until=run_until,
        )
        try:
            yield connection, watchdog.watch
        finally:
            watchdog.close()
