"""Recovering jobs whose processor died: the crash-only guarantee."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .connection import rollback_quietly
from .sql import load_query

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


def recover_orphaned_jobs(
    connection, grace_s: float = ORPHAN_GRACE_S, in_flight: Collection[int] = ()
) -> list[RecoveredJob]:
    """Take back started jobs whose owner is gone; commit and return them (the callers
    emit a :class:`~.events.JobRecovered` for each, which the operator log reports).

    An orphan is a ``started`` job whose row no running transaction holds, and whose
    owner (the ``application_name`` of the connection that claimed it) is not connected
    to this database as ``connection``'s role (a connection of another role may have
    taken the name: it proves nothing); or whose owner is ``connection`` itself while
    its id is not among ``in_flight``, the jobs the caller still runs (a settlement lost
    with its connection). It goes back to pending with the attempt counted, after a
    backoff, or is failed with a "worker died" reason once ``max_retries`` attempts are
    spent.
    """
    params = {"grace_s": grace_s, "in_flight": list(in_flight)}
    try:
        with connection.cursor() as cursor:
            cursor.execute(load_query("recover_orphaned_jobs"), params)
            recovered = [RecoveredJob(*row) for row in cursor.fetchall()]
    except BaseException:
        rollback_quietly(connection)
        raise
    connection.commit()
    return recovered
