"""Running due jobs from a scheduled action, within the time Odoo's scheduler grants it.

Odoo 19 gives each run of a scheduled action a time budget: ``ir.cron._commit_progress``
commits, records what was done and what remains, and returns the seconds left of the run
(Odoo grants at least 10 s, then calls the action again or reschedules it at once while
it reports work remaining). A run here claims due jobs through the engine in batches,
reports after each batch, and starts no batch once its time is spent. The engine decides
which jobs run, as for every other processor: priorities, channels, capacities, rate
limits and retry patterns hold across all of them.
"""

import time

from odoo.addons.job_worker.engine.backlog import count_due_jobs
from odoo.addons.job_worker.engine.connection import engine_application_name
from odoo.addons.job_worker.engine.wakeup import read_next_wakeup
from odoo.addons.job_worker.processing.database_processing import (
    DEFAULT_MAX_SECONDS,
    process_due_jobs_in_database,
)

from .cron_triggers import schedule_processing_cron

DEFAULT_BATCH_SIZE = 200
"""Jobs run between two progress reports of a cron run."""
ENGINE_ROLE = "cron"
"""Jobs a cron run starts are owned by ``job_worker:cron:<random>:<pid>``."""

DUE_JOBS_COUNTED_AT_MOST = 10_000
"""The due jobs a run reports as remaining are counted up to this: Odoo only needs to know
that some remain, and counting a backlog of millions after each batch would cost more
than the batch."""


def process_due_jobs_within_cron_budget(env, batch_size=DEFAULT_BATCH_SIZE):
    """Run due jobs of ``env``'s database in batches of ``batch_size`` while the cron run's
    time lasts; return how many ran.

    Commits ``env.cr`` first and after each batch, with the run's progress (jobs run in
    transactions of their own, claimed by an engine connection). When due jobs are left,
    the cron workers are woken as the transaction commits, so that the run Odoo schedules
    "as soon as possible" starts at once rather than at their next poll. When none is
    left, the cron gets a trigger for the next moment a job becomes due. Called outside
    a scheduled action, it stops after ``DEFAULT_MAX_SECONDS``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"batch_size must be a whole number of jobs, at least 1; got {batch_size!r}"
        )
    ir_cron = env["ir.cron"]
    deadline = time.monotonic() + DEFAULT_MAX_SECONDS
    due = count_due_jobs(env.cr, DUE_JOBS_COUNTED_AT_MOST)
    seconds_left = min(ir_cron._commit_progress(remaining=due), deadline - time.monotonic())
    processed = 0
    while due and seconds_left > 0:
        batch_ends = time.monotonic() + seconds_left
        report = process_due_jobs_in_database(
            env.cr.dbname,
            batch_size,
            seconds_left,
            application_name=engine_application_name(ENGINE_ROLE),
        )
        processed += report.processed
        # Time was left, yet nothing could be claimed although jobs are due: their
        # channels are paused, full or held by a failed sequential job. Reporting them
        # would make Odoo run the action again at once, for nothing; a trigger or the
        # regular interval brings it back.
        blocked = not report.processed and time.monotonic() < batch_ends
        due = 0 if blocked else count_due_jobs(env.cr, DUE_JOBS_COUNTED_AT_MOST)
        seconds_left = min(
            ir_cron._commit_progress(report.processed, remaining=due),
            deadline - time.monotonic(),
        )
    if due:
        env.cr.postcommit.add(ir_cron._notifydb)
    else:
        schedule_at_next_wakeup(env)
    return processed


def schedule_at_next_wakeup(env):
    """Give the processing cron a trigger for when the next pending job becomes due (or a
    rate-limited channel has room again), if there is such a moment."""
    wakeup = read_next_wakeup(env.cr)
    if wakeup is not None:
        schedule_processing_cron(env, [wakeup.at])
