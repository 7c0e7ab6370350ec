"""Scheduling the processing cron for the moments jobs become due, one trigger a minute.

Odoo's cron workers look at their databases about once a minute, and at once when an
``ir.cron.trigger`` already due is created (``ir.cron._trigger`` then notifies them).
One trigger per job would flood ``ir_cron_trigger`` (10,000 jobs, 10,000 rows), so the
moments a transaction's jobs become due are collected until it commits, grouped by
minute, and the cron gets a trigger only for a minute that has none pending yet.
"""

import logging
from datetime import timedelta
from functools import partial

from odoo import SUPERUSER_ID, api, fields

_logger = logging.getLogger(__name__)

PROCESSING_CRON_XMLID = "job_worker_cron.ir_cron_process_due_jobs"
TRIGGER_GRANULARITY = timedelta(minutes=1)
"""At most one trigger of the processing cron is created per minute."""
DUE_MOMENTS_KEY = "job_worker_cron.due_moments"
"""Where a cursor's post-commit data keeps the due moments of its transaction."""

# Minutes of [from, until) that have a trigger of the cron that is still to fire.
# A run deletes the triggers due when it starts, but commits that only when it ends, and
# it may have looked for due jobs for the last time before ours were committed: a trigger
# that run deleted still looks pending, yet nothing will come of it. Odoo writes a
# progress row each time it calls the scheduled action, always after the run started:
# a trigger due later than the cron's latest progress row cannot be one the run deleted.
PENDING_TRIGGER_MINUTES = """
SELECT DISTINCT date_trunc('minute', cron_trigger.call_at)
FROM ir_cron_trigger AS cron_trigger
WHERE cron_trigger.cron_id = %(cron_id)s
  AND cron_trigger.call_at >= %(from)s
  AND cron_trigger.call_at < %(until)s
  AND cron_trigger.call_at > coalesce(
      (
          SELECT progress.create_date
          FROM ir_cron_progress AS progress
          WHERE progress.cron_id = %(cron_id)s
          ORDER BY progress.id DESC
          LIMIT 1
      ),
      '-infinity'
  )
"""


def schedule_processing_cron_after_commit(env, due_moments):
    """Schedule the processing cron for ``due_moments`` once ``env``'s transaction commits.

    Nothing is scheduled if it rolls back. Scheduling happens in a transaction of its
    own, after the commit: the jobs are then visible to the run it may start at once.
    """
    collected = env.cr.postcommit.data.get(DUE_MOMENTS_KEY)
    if collected is None:
        collected = env.cr.postcommit.data[DUE_MOMENTS_KEY] = {}
        env.cr.postcommit.add(partial(_schedule_in_own_transaction, env.registry, collected))
    now = fields.Datetime.now()
    for moment in due_moments:
        # A moment already past means now; keeping it as now bounds what is collected
        # when many old jobs are requeued.
        _keep_earliest_per_minute(collected, max(moment, now))


def schedule_processing_cron(env, due_moments):
    """Give the processing cron a trigger at each of ``due_moments`` (naive UTC) whose
    minute has no pending trigger yet; return the triggers created.

    A moment already past becomes now (Odoo then wakes its cron workers at once); within
    a minute, the earliest moment wins. Nothing is scheduled when the cron is archived.
    """
    cron = env.ref(PROCESSING_CRON_XMLID, raise_if_not_found=False)
    if not cron or not cron.sudo().active:
        return env["ir.cron.trigger"]
    now = fields.Datetime.now()
    earliest_by_minute = {}
    for moment in due_moments:
        # call_at keeps whole seconds: round a future moment up, so the run finds it due.
        at = _next_whole_second(moment) if moment > now else now
        _keep_earliest_per_minute(earliest_by_minute, at)
    if not earliest_by_minute:
        return env["ir.cron.trigger"]
    env.cr.execute(
        PENDING_TRIGGER_MINUTES,
        {
            "cron_id": cron.id,
            "from": min(earliest_by_minute),
            "until": max(earliest_by_minute) + TRIGGER_GRANULARITY,
        },
    )
    pending_minutes = {minute for (minute,) in env.cr.fetchall()}
    return cron.sudo()._trigger(
        [at for minute, at in sorted(earliest_by_minute.items()) if minute not in pending_minutes]
    )


def _schedule_in_own_transaction(registry, collected):
    """Post-commit hook: schedule the collected moments; never fail the commit before it."""
    try:
        with registry.cursor() as cursor:
            schedule_processing_cron(
                api.Environment(cursor, SUPERUSER_ID, {}), list(collected.values())
            )
    except Exception:
        _logger.warning(
            "could not schedule %s for jobs due at %s; it runs at its regular interval",
            PROCESSING_CRON_XMLID,
            ", ".join(str(moment) for moment in sorted(collected.values())),
            exc_info=True,
        )


def _keep_earliest_per_minute(earliest_by_minute, moment):
    minute = moment.replace(second=0, microsecond=0)
    if minute not in earliest_by_minute or moment < earliest_by_minute[minute]:
        earliest_by_minute[minute] = moment


def _next_whole_second(moment):
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment
