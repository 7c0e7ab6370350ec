"""When a processor should look for due jobs again although nothing notified it: the
next pending job's ETA, or a rate-limited channel having room again."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .sql import load_query


@dataclass(frozen=True)
class NextWakeup:
    """The next moment a job becomes due, on the database's clock.

    ``at`` is a naive UTC datetime (as the job columns are); ``in_s`` is the seconds
    from the query to ``at``, for a timer on the process's own clock.
    """

    at: datetime.datetime
    in_s: float


def read_next_wakeup(cursor) -> NextWakeup | None:
    """The next moment a claim may find a job that no notification announces (a job's
    ETA comes, a rate-limited channel's window frees a start), or ``None``.

    ``cursor`` is any DB-API cursor: psycopg2's or Odoo's. Only the query runs; the
    caller ends its transaction.
    """
    cursor.execute(load_query("next_wakeup"))
    at, in_s = cursor.fetchone()
    if at is None:
        return None
    return NextWakeup(at=at, in_s=float(in_s))
