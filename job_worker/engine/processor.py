"""Processing due jobs in batches, within a job count and a time budget.

This is what every processor (the embedded leader, the cron processor, the HTTP trigger,
the Process button) calls; they differ only in their budget and in the
:data:`~.execution.JobTransactionFactory` that runs a job.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from .claim import claim_due_jobs, release_claimed_jobs
from .connection import Connection
from .events import emit_recovered
from .execution import (
    JobResult,
    JobTransactionFactory,
    JobWatcher,
    execute_claimed_job,
    unwatched,
)
from .recovery import recover_orphaned_jobs

_logger = logging.getLogger(__name__)

CLAIM_BATCH_SIZE = 1
"""Jobs claimed per statement. One: jobs run one after the other here, and a job claimed
but waiting would hold a channel slot (and a rate-limit start) it does not use."""


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
