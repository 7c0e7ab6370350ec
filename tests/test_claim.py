"""Claiming due jobs: which jobs, in which order, how they are marked, and never twice."""

import datetime
import multiprocessing
import time

import pytest
from engine_processes import claim_until_none_is_due
from support import connect, insert_job

from job_worker.engine.claim import claim_due_jobs, release_claimed_jobs
from job_worker.engine.connection import connect_engine

CLAIMER = "job_worker:test-claimer"
NOON = datetime.datetime(2024, 1, 1, 12, 0)  # naive UTC, as the table stores it; long past


def at(hour, minute=0):
    return NOON.replace(hour=hour, minute=minute)


@pytest.fixture
def claimer(engine_connection):
    """An engine connection that claims as :data:`CLAIMER`, on an empty queue."""
    return engine_connection(CLAIMER)


def job_states(db):
    """``{job id: (state, owner, retry)}`` of every job."""
    with db.cursor() as cursor:
        cursor.execute("SELECT id, state, owner, retry FROM queue_job")
        return {job_id: (state, owner, retry) for job_id, state, owner, retry in cursor}


def test_jobs_are_claimed_by_priority_then_due_moment_then_creation_order(db, claimer):
    with db.cursor() as cursor:
        # Inserted out of claim order, so that the id alone would give the wrong order.
        due_1230_first = insert_job(cursor, priority=10, date_created=at(11), eta=at(12, 30))
        created_1200 = insert_job(cursor, priority=10, date_created=at(12))
        urgent_created_1300 = insert_job(cursor, priority=5, date_created=at(13))
        due_1230_second = insert_job(cursor, priority=10, date_created=at(10), eta=at(12, 30))
        urgent_due_1245 = insert_job(cursor, priority=5, date_created=at(9), eta=at(12, 45))

    batches = [[job.id for job in claim_due_jobs(claimer, 2)] for _ in range(4)]

    assert batches == [
        [urgent_due_1245, urgent_created_1300],
        [created_1200, due_1230_first],
        [due_1230_second],
        [],
    ]


def test_a_job_whose_eta_is_ahead_is_not_claimed_until_it_is_reached(db, claimer):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)
        cursor.execute(
            "UPDATE queue_job SET eta = (now() AT TIME ZONE 'UTC') + interval '1 hour' "
            "WHERE id = %s",
            [job_id],
        )

    assert claim_due_jobs(claimer, 10) == []
    assert job_states(db)[job_id] == ("pending", None, 0)

    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE queue_job SET eta = (now() AT TIME ZONE 'UTC') - interval '1 second' "
            "WHERE id = %s",
            [job_id],
        )

    assert [job.id for job in claim_due_jobs(claimer, 10)] == [job_id]


@pytest.mark.parametrize(
    "state", ["wait_dependencies", "enqueued", "started", "done", "cancelled", "failed"]
)
def test_only_pending_jobs_are_claimed(db, claimer, state):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, state=state)

    assert claim_due_jobs(claimer, 10) == []
    assert job_states(db)[job_id][0] == state


def test_a_claimed_job_is_started_owned_by_the_claiming_connection_and_its_attempt_counted(
    db, claimer
):
    with db.cursor() as cursor:
        job_id = insert_job(
            cursor, retry=2, max_retries=7, channel="root.mail", args="[1]", kwargs="{}"
        )

    [job] = claim_due_jobs(claimer, 10)

    with db.cursor() as cursor:
        cursor.execute(
            """
            SELECT state, owner, retry,
                   (now() AT TIME ZONE 'UTC') - date_started,
                   (now() AT TIME ZONE 'UTC') - heartbeat
            FROM queue_job WHERE id = %s
            """,
            [job_id],
        )
        state, owner, retry, started_ago, heartbeat_ago = cursor.fetchone()
    assert (state, owner, retry) == ("started", CLAIMER, 3)
    assert abs(started_ago) < datetime.timedelta(minutes=1)  # in UTC, like the table's dates
    assert abs(heartbeat_ago) < datetime.timedelta(minutes=1)
    assert (job.id, job.owner, job.attempt, job.max_retries) == (job_id, CLAIMER, 3, 7)
    assert (job.model_name, job.method_name, job.func_name) == (
        "test.model",
        "run",
        "test.model.run",
    )
    assert (job.channel, job.args, job.kwargs, job.records) == ("root.mail", "[1]", "{}", None)


def test_the_claim_is_committed_before_the_claimer_does_anything_else(db, claimer):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    claim_due_jobs(claimer, 10)

    assert job_states(db)[job_id] == ("started", CLAIMER, 1)  # seen from another connection


def test_a_claim_takes_at_most_its_batch_size(db, claimer):
    with db.cursor() as cursor:
        for _ in range(5):
            insert_job(cursor)

    assert len(claim_due_jobs(claimer, 3)) == 3
    assert (
        sorted(state for state, _, _ in job_states(db).values())
        == ["pending"] * 2 + ["started"] * 3
    )


def test_a_claim_restricted_to_some_jobs_takes_only_those_and_only_when_due(db, claimer):
    with db.cursor() as cursor:
        first = insert_job(cursor, priority=1)
        chosen = insert_job(cursor, priority=20)
        chosen_later = insert_job(cursor, priority=20, eta=datetime.datetime(2999, 1, 1))

    claimed = claim_due_jobs(claimer, 5, only_job_ids=[chosen, chosen_later])

    assert [job.id for job in claimed] == [chosen]  # not the better-ranked other one
    assert claim_due_jobs(claimer, 5, only_job_ids=[]) == []
    assert [job.id for job in claim_due_jobs(claimer, 5)] == [first]  # restriction is gone


def test_a_claim_restricted_to_some_jobs_still_holds_the_channel_capacity(db, claimer):
    with db.cursor() as cursor:
        cursor.execute("UPDATE queue_job_channel SET capacity = 1 WHERE parent_id IS NULL")
        running = insert_job(cursor)
        chosen = insert_job(cursor)
    assert [job.id for job in claim_due_jobs(claimer, 1)] == [running]

    assert claim_due_jobs(claimer, 1, only_job_ids=[chosen]) == []


@pytest.mark.parametrize("batch_size", [0, -1])
def test_a_batch_size_below_one_is_refused(db, claimer, batch_size):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    with pytest.raises(ValueError, match="batch_size"):
        claim_due_jobs(claimer, batch_size)

    assert job_states(db)[job_id] == ("pending", None, 0)


def test_released_jobs_are_pending_again_with_their_attempt_uncounted(db, claimer):
    with db.cursor() as cursor:
        first = insert_job(cursor, retry=0)
        second = insert_job(cursor, retry=4)
        untouched = insert_job(cursor, retry=1)
    claimed = claim_due_jobs(claimer, 2)

    release_claimed_jobs(claimer, claimed)

    assert job_states(db) == {
        first: ("pending", None, 0),
        second: ("pending", None, 4),
        untouched: ("pending", None, 1),
    }
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_job WHERE date_started IS NOT NULL")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT count(*) FROM queue_job WHERE heartbeat IS NOT NULL")
        assert cursor.fetchone() == (0,)
    assert [job.id for job in claim_due_jobs(claimer, 10)] == [first, second, untouched]


def test_releasing_leaves_alone_a_job_that_is_no_longer_ours(db, claimer):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)
    claimed = claim_due_jobs(claimer, 1)
    with db.cursor() as cursor:
        cursor.execute("UPDATE queue_job SET owner = 'another processor' WHERE id = %s", [job_id])

    release_claimed_jobs(claimer, claimed)

    assert job_states(db)[job_id] == ("started", "another processor", 1)


def test_releasing_no_job_does_nothing(db, claimer):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    release_claimed_jobs(claimer, [])

    assert job_states(db)[job_id] == ("pending", None, 0)


# --- no job runs twice at once --------------------------------------------------------

CLAIMING_PROCESSES = 4
JOBS_TO_CLAIM = 2000
CLAIM_BATCH_SIZE = 7
CLAIMING_TIMEOUT_S = 60.0


@pytest.fixture
def claim_record(db):
    """A table where claimers record what they claimed: ``(job_id, claimer)``."""
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS claim_record (job_id int, claimer text)")
        cursor.execute("TRUNCATE claim_record")
    yield
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE claim_record")


def test_processes_claiming_at_once_never_claim_the_same_job(database, db, claim_record):
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO queue_job (model_name, method_name) "
            "SELECT 'test.model', 'run' FROM generate_series(1, %s)",
            [JOBS_TO_CLAIM],
        )
    spawn = multiprocessing.get_context("spawn")
    start_together = spawn.Barrier(CLAIMING_PROCESSES)
    processes = [
        spawn.Process(
            target=claim_until_none_is_due,
            args=(database, f"job_worker:test-claimer-{n}", CLAIM_BATCH_SIZE, start_together),
        )
        for n in range(CLAIMING_PROCESSES)
    ]

    for process in processes:
        process.start()
    deadline = time.monotonic() + CLAIMING_TIMEOUT_S
    try:
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        assert not any(process.is_alive() for process in processes), "claimers did not finish"
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert [process.exitcode for process in processes] == [0] * CLAIMING_PROCESSES

    with db.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT job_id) FROM claim_record")
        claims, claimed_jobs = cursor.fetchone()
        cursor.execute("SELECT count(DISTINCT claimer) FROM claim_record")
        (claimers,) = cursor.fetchone()
        cursor.execute("SELECT state, count(*) FROM queue_job GROUP BY state")
        states = dict(cursor.fetchall())
    assert (claims, claimed_jobs) == (JOBS_TO_CLAIM, JOBS_TO_CLAIM)  # each job exactly once
    assert states == {"done": JOBS_TO_CLAIM}
    assert claimers > 1  # they did claim side by side


def test_a_claim_skips_a_pending_job_another_transaction_holds_instead_of_waiting(database, db):
    with db.cursor() as cursor:
        held = insert_job(cursor, priority=1)
        free = insert_job(cursor, priority=2)
    holder = connect(database)
    claimer = connect_engine({"dbname": database}, "job_worker:test-skip")
    try:
        with holder.cursor() as cursor:  # a form being saved: holds the row, uncommitted
            cursor.execute("UPDATE queue_job SET name = 'editing' WHERE id = %s", [held])
        with claimer.cursor() as cursor:
            cursor.execute("SET statement_timeout = '2s'")
        claimer.commit()

        claimed = claim_due_jobs(claimer, 2)

        assert [job.id for job in claimed] == [free]
    finally:
        holder.rollback()
        holder.close()
        claimer.close()
