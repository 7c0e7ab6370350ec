"""Claiming due jobs: one statement, ``FOR UPDATE SKIP LOCKED``, committed before running."""

from __future__ import annotations

import weakref
from collections.abc import Collection
from dataclasses import dataclass

from .connection import Connection, Cursor, rollback_quietly
from .events import JobClaimed, engine_events
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
    waited_s: float = 0.0  # from when it was due (created, or its ETA) to its claim
    database: str = ""  # the database it belongs to, for the events about it

    @property
    def func_name(self) -> str:
        """``model.method``, as job functions and logs name it."""
        return f"{self.model_name}.{self.method_name}"


CLAIM_STATEMENT_PREFIX = "job_worker_claim_due_jobs_"

_prepared_batch_sizes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per engine connection, the batch sizes whose claim statement is prepared on it."""


def claim_statement_name(batch_size: int) -> str:
    """Name of the prepared claim statement for ``batch_size``."""
    return f"{CLAIM_STATEMENT_PREFIX}{batch_size}"


def prepare_claim_statement(cursor: Cursor, batch_size: int) -> str:
    """PREPARE the claim for ``batch_size`` on the cursor's connection; return its name.

    The claim is prepared once per connection and batch size, and runs with its generic
    plan: the statement is large, and planning it at every claim costs more than running
    it. The batch size is written into the statement, not passed as a parameter: with an
    unknown LIMIT, the generic plan would assume a tenth of the table and scan all of it.
    Batch sizes are few (a processor claims at most as many jobs as it has threads).
    """
    name = claim_statement_name(batch_size)
    query = load_query("claim_due_jobs").replace("%(batch_size)s", str(int(batch_size)))
    cursor.execute(f"PREPARE {name} AS {query}")
    return name


# One round trip: under READ COMMITTED each statement of it still takes its own snapshot,
# so the claim sees every claim committed before the lock was granted. The claim's commit
# need not wait for the disk: the job's own (synchronous) commit flushes it, and a claim
# lost in a server crash only leaves its jobs pending, their attempt uncounted.
_CLAIM_TRANSACTION = ";\n".join(
    [
        "SET LOCAL synchronous_commit TO off",
        "SET LOCAL plan_cache_mode TO force_generic_plan",
        load_query("lock_claims"),
        "EXECUTE {statement}",
    ]
)


ONLY_JOB_IDS_SETTING = "job_worker.only_job_ids"
"""The transaction setting that restricts a claim to some jobs (read by the claim)."""


def claim_due_jobs(
    connection: Connection, batch_size: int, only_job_ids: Collection[int] | None = None
) -> list[ClaimedJob]:
    """Claim up to ``batch_size`` due jobs for ``connection`` and commit the claim.

    Channel pauses, capacities, sequential channels and rate limits hold across every
    processor: claims serialize on a lock of the root channel, taken first. The claimed
    jobs are ``started``, owned by the connection's ``application_name`` and have their
    attempt counted. ``connection`` is a READ COMMITTED psycopg2 connection that is not
    in a transaction (see :func:`~.connection.connect_engine`). ``only_job_ids`` restricts
    the claim to those jobs (still only when due, and within every channel's limits).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    round_trip = _CLAIM_TRANSACTION.format(statement=claim_statement_name(batch_size))
    if only_job_ids is not None:
        ids = ",".join(str(int(job_id)) for job_id in only_job_ids)
        round_trip = (
            f"SELECT set_config('{ONLY_JOB_IDS_SETTING}', '{{{ids}}}', true);\n{round_trip}"
        )
    try:
        with connection.cursor() as cursor:
            prepared = _prepared_batch_sizes.setdefault(connection, set())
            if batch_size not in prepared:
                prepare_claim_statement(cursor, batch_size)
                prepared.add(batch_size)
            cursor.execute(round_trip)
            rows = cursor.fetchall()
    except BaseException:
        rollback_quietly(connection)
        raise
    connection.commit()
    database = connection.info.dbname
    claimed = [ClaimedJob(*row, database=database) for row in rows]
    if engine_events.has_subscribers:
        for job in claimed:
            engine_events.emit(JobClaimed.of(job))
    return claimed


def release_claimed_jobs(connection: Connection, jobs: list[ClaimedJob]) -> None:
    """Give claimed jobs that were not started back to pending, their attempt uncounted."""
    if not jobs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            load_query("release_claimed_jobs"),
            {"job_ids": [job.id for job in jobs], "owner": jobs[0].owner},
        )
    connection.commit()
