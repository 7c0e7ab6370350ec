"""Claiming due jobs: one statement, ``FOR UPDATE SKIP LOCKED``, committed before running."""

from __future__ import annotations

from dataclasses import dataclass

from .connection import rollback_quietly
from .sql import load_query


@dataclass(frozen=True)
class ClaimedJob:
    """A job this processor has committed as ``started`` and now owns.

    ``records``, ``args`` and ``kwargs`` are the stored JSON texts: decoding them needs
    the framework that runs the job (recordsets need an Odoo environment).
    """

    id: int
    uuid: str
    model_name: str
    method_name: str
    records: str | None
    args: str | None
    kwargs: str | None
    user_id: int | None
    company_id: int | None
    channel: str
    attempt: int
    max_retries: int
    owner: str
    timeout_s: int | None = None
    retry_pattern: str | None = None

    @property
    def func_name(self) -> str:
        """``model.method``, as job functions and logs name it."""
        return f"{self.model_name}.{self.method_name}"


def claim_due_jobs(connection, batch_size: int) -> list[ClaimedJob]:
    """Claim up to ``batch_size`` due jobs for ``connection`` and commit the claim.

    Channel pauses, capacities, sequential channels and rate limits hold across every
    processor: claims serialize on a lock of the root channel, taken first. The claimed
    jobs are ``started``, owned by the connection's ``application_name`` and have their
    attempt counted. ``connection`` is a READ COMMITTED psycopg2 connection that is not
    in a transaction (see :func:`~.connection.connect_engine`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    try:
        with connection.cursor() as cursor:
            cursor.execute(load_query("lock_claims"))
            cursor.execute(load_query("claim_due_jobs"), {"batch_size": batch_size})
            rows = cursor.fetchall()
    except BaseException:
        rollback_quietly(connection)
        raise
    connection.commit()
    return [ClaimedJob(*row) for row in rows]


def release_claimed_jobs(connection, jobs: list[ClaimedJob]) -> None:
    """Give claimed jobs that were not started back to pending, their attempt uncounted."""
    if not jobs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            load_query("release_claimed_jobs"),
            {"job_ids": [job.id for job in jobs], "owner": jobs[0].owner},
        )
    connection.commit()
