"""Keeping the queue table lean: pruning finished jobs and expired rate-limit starts."""

from __future__ import annotations

from .connection import Connection, rollback_quietly
from .events import JobsPruned, engine_events
from .sql import load_query

PRUNE_BATCH_SIZE = 1000
"""Rows deleted per transaction: short transactions, no long locks, vacuum keeps up."""
PRUNE_MAX_BATCHES = 1000
"""Batches one pruning run deletes at most (a million rows): it resumes at the next run."""


def prune_finished_jobs(
    connection: Connection, batch_size: int = PRUNE_BATCH_SIZE, max_batches: int = PRUNE_MAX_BATCHES
) -> int:
    """Delete done and cancelled jobs older than their channel's removal interval.

    Works in batches of ``batch_size``, each committed, at most ``max_batches``; returns
    how many jobs were deleted, and emits :class:`~.events.JobsPruned`. Failed jobs are
    kept: someone has to look at them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    deleted = 0
    for _ in range(max_batches):
        try:
            with connection.cursor() as cursor:
                cursor.execute(load_query("prune_finished_jobs"), {"batch_size": batch_size})
                count = cursor.rowcount
            connection.commit()
        except BaseException:
            rollback_quietly(connection)
            raise
        deleted += count
        if count < batch_size:
            break
    channel_starts = prune_channel_starts(connection)
    if engine_events.has_subscribers:
        engine_events.emit(
            JobsPruned(database=connection.info.dbname, jobs=deleted, channel_starts=channel_starts)
        )
    return deleted


def prune_channel_starts(connection: Connection) -> int:
    """Forget job starts that fell out of their channel's rate window; return how many."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(load_query("prune_channel_starts"))
            count = cursor.rowcount
        connection.commit()
    except BaseException:
        rollback_quietly(connection)
        raise
    return count
