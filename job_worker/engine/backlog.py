"""How much work waits in the queue: what the keep-alive endpoint reports, and what a
processor that runs in rounds (the cron) asks before each."""

from __future__ import annotations

from dataclasses import dataclass

from .connection import Cursor
from .sql import load_query


@dataclass(frozen=True)
class Backlog:
    """Pending jobs, those due now, and the age in seconds of the oldest due one."""

    pending: int
    due: int
    oldest_due_age_s: float | None


def read_backlog(cursor: Cursor) -> Backlog:
    """The queue's backlog now, read through ``cursor``."""
    cursor.execute(load_query("queue_backlog"))
    pending, due, oldest_due_age_s = cursor.fetchone()
    return Backlog(
        pending=pending,
        due=due,
        oldest_due_age_s=None if oldest_due_age_s is None else float(oldest_due_age_s),
    )


def count_due_jobs(cursor: Cursor, at_most: int) -> int:
    """Pending jobs due now, counted up to ``at_most``."""
    cursor.execute(load_query("count_due_jobs"), {"at_most": at_most})
    return cursor.fetchone()[0]
