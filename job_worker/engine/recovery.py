"""Recovering jobs whose processor died: the crash-only guarantee."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .connection import rollback_quietly
from .sql import load_query

_logger = logging.getLogger(__name__)

ORPHAN_GRACE_S = 2.0
"""A started job is never recovered sooner than this after its claim: time for an owner
whose connection a pooler hides to be told apart by its row lock."""


@dataclass(frozen=True)
class RecoveredJob:
    """A job recovery took back: ``pending`` for another attempt, or ``failed``."""

    id: int
    uuid: str
    state: str
    attempt: int


def recover_orphaned_jobs(connection, grace_s: float = ORPHAN_GRACE_S) -> list[RecoveredJob]:
    """Take back started jobs whose owner is gone; commit, log each, return them.

    An orphan is a ``started`` job whose owner (the ``application_name`` of the
    connection that claimed it) is not connected to this database, and whose row no
    running transaction holds. It goes back to pending with the attempt counted, or is
    failed with a "worker died" reason once ``max_retries`` attempts are spent.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(load_query("recover_orphaned_jobs"), {"grace_s": grace_s})
            recovered = [RecoveredJob(*row) for row in cursor.fetchall()]
    except BaseException:
        rollback_quietly(connection)
        raise
    connection.commit()
    for job in recovered:
        _logger.warning(
            "recovered job %s whose processor died during attempt %d: now %s",
            job.uuid,
            job.attempt,
            job.state,
        )
    return recovered
