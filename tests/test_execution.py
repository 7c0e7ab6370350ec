"""Running claimed jobs: outcomes recorded with the job's writes, and processing budgets."""

import datetime
import decimal
import time

import psycopg2
import pytest
from psycopg_job_transaction import psycopg_transaction_factory
from support import PROCESSOR, enqueue, insert_job, job_row, run_due_job

from job_worker.engine import codec
from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.execution import JobResult, execute_claimed_job
from job_worker.engine.processor import process_due_jobs

GENEROUS_MAX_SECONDS = 30.0


@pytest.fixture
def side_tables(db):
    """Empty tables jobs write to: ``side_effect`` and ``side_effect_unique``.

    ``side_effect_unique`` checks its uniqueness only at commit (deferred), so a job can
    write a duplicate, run to its end, and see its commit refused.
    """
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS side_effect (note text)")
        cursor.execute(
            """
            CREATE TABLE IF NOT EXISTS side_effect_unique (
                note text CONSTRAINT side_effect_unique_note UNIQUE DEFERRABLE INITIALLY DEFERRED
            )
            """
        )
        cursor.execute("TRUNCATE side_effect, side_effect_unique")


def notes(db, table="side_effect"):
    """What jobs committed to ``table``."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {table} ORDER BY note")
        return [note for (note,) in cursor]


def write_note(cursor, note):
    cursor.execute("INSERT INTO side_effect (note) VALUES (%s)", [note])
    return 42


def write_note_then_explode(cursor, note):
    cursor.execute("INSERT INTO side_effect (note) VALUES (%s)", [note])
    raise ValueError("boom")


def write_unique_note(cursor, note):
    cursor.execute("INSERT INTO side_effect_unique (note) VALUES (%s)", [note])


def note_arguments(cursor, *args, **kwargs):
    cursor.execute("INSERT INTO side_effect (note) VALUES (%s)", [repr((args, kwargs))])


def nap(cursor, seconds):
    time.sleep(seconds)


JOB_FUNCTIONS = {
    "write_note": write_note,
    "write_note_then_explode": write_note_then_explode,
    "write_unique_note": write_unique_note,
    "note_arguments": note_arguments,
    "nap": nap,
}


@pytest.fixture
def open_transaction(database, side_tables):
    return psycopg_transaction_factory(database, JOB_FUNCTIONS)


def test_a_job_that_returns_is_done_with_its_result_and_its_writes_committed(
    db, processor, open_transaction
):
    job_id = enqueue(db, "write_note", "written by the job")

    outcome = run_due_job(processor, open_transaction)

    assert outcome.result is JobResult.DONE
    assert outcome.job.id == job_id
    state, result, exec_time, date_done, exc_name = job_row(
        db, job_id, "state", "result", "exec_time", "date_done", "exc_name"
    )
    assert (state, result, exc_name) == ("done", "42", None)
    assert exec_time is not None and exec_time >= 0
    assert date_done is not None
    assert notes(db) == ["written by the job"]


def test_a_job_receives_its_arguments_exactly_as_they_were_stored(db, processor, open_transaction):
    args = [(1, "a"), datetime.date(2024, 1, 2), {3: decimal.Decimal("4.50")}]
    kwargs = {"when": datetime.datetime(2024, 1, 2, 3, 4, 5), "tags": {"x"}}
    with db.cursor() as cursor:
        insert_job(
            cursor,
            method_name="note_arguments",
            args=codec.dumps(args),
            kwargs=codec.dumps(kwargs),
        )

    run_due_job(processor, open_transaction)

    assert notes(db) == [repr((tuple(args), kwargs))]


def test_a_job_that_returns_nothing_is_done_without_a_result(db, processor, open_transaction):
    job_id = enqueue(db, "nap", 0)

    outcome = run_due_job(processor, open_transaction)

    assert outcome.result is JobResult.DONE
    assert job_row(db, job_id, "state", "result") == ("done", None)


def test_a_job_that_raises_is_failed_with_its_error_and_its_writes_rolled_back(
    db, processor, open_transaction
):
    failing = enqueue(db, "write_note_then_explode", "written before the failure", priority=1)
    following = enqueue(db, "write_note", "written by the next job", priority=2)

    report = process_due_jobs(processor, open_transaction, 10, GENEROUS_MAX_SECONDS)

    assert (report.processed, report.done, report.failed) == (2, 1, 1)
    state, exc_name, exc_message, exc_info, exec_time, result = job_row(
        db, failing, "state", "exc_name", "exc_message", "exc_info", "exec_time", "result"
    )
    assert state == "failed"
    assert exc_name.endswith("ValueError")
    assert exc_message == "boom"
    assert "Traceback" in exc_info
    assert "write_note_then_explode" in exc_info
    assert exec_time is not None
    assert result is None
    assert job_row(db, following, "state") == ("done",)
    assert notes(db) == ["written by the next job"]


@pytest.mark.parametrize(
    "take_away",
    [
        "UPDATE queue_job SET owner = 'another processor'",
        "UPDATE queue_job SET state = 'pending', owner = NULL",
        "UPDATE queue_job SET state = 'done'",
    ],
    ids=["owner changed", "recovered to pending", "settled elsewhere"],
)
def test_a_job_taken_away_between_its_claim_and_its_start_is_lost_and_never_runs(
    database, db, processor, side_tables, take_away
):
    ran = []

    def must_not_run(cursor, note):
        ran.append(note)

    enqueue(db, "must_not_run", "never written")
    [job] = claim_due_jobs(processor, 10)
    with db.cursor() as cursor:
        cursor.execute(take_away)
        cursor.execute("SELECT * FROM queue_job")
        rows_as_left_elsewhere = cursor.fetchall()
    open_transaction = psycopg_transaction_factory(database, {"must_not_run": must_not_run})

    outcome = execute_claimed_job(job, open_transaction)

    assert outcome.result is JobResult.LOST
    assert ran == []
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM queue_job")
        assert cursor.fetchall() == rows_as_left_elsewhere  # not settled a second time


def test_a_running_job_holds_its_row_so_nobody_can_take_it_away(
    database, db, processor, side_tables
):
    attempts_to_take_away = []

    def try_to_take_away(cursor, note):
        with db.cursor() as elsewhere:  # another connection: must not get the row
            elsewhere.execute("SET lock_timeout = '200ms'")
            try:
                elsewhere.execute("UPDATE queue_job SET state = 'pending', owner = NULL")
                attempts_to_take_away.append("took it")
            except psycopg2.errors.LockNotAvailable:
                attempts_to_take_away.append("locked")
            finally:
                elsewhere.execute("RESET lock_timeout")
        return write_note(cursor, note)

    job_id = enqueue(db, "try_to_take_away", "written by the running job")
    open_transaction = psycopg_transaction_factory(database, {"try_to_take_away": try_to_take_away})

    outcome = run_due_job(processor, open_transaction)

    assert attempts_to_take_away == ["locked"]
    assert outcome.result is JobResult.DONE
    assert job_row(db, job_id, "state") == ("done",)
    assert notes(db) == ["written by the running job"]


def test_a_job_whose_commit_is_refused_is_failed_in_a_fresh_transaction(
    db, processor, open_transaction
):
    with db.cursor() as cursor:
        cursor.execute("INSERT INTO side_effect_unique (note) VALUES ('taken')")
    job_id = enqueue(db, "write_unique_note", "taken")  # violates the deferred constraint

    outcome = run_due_job(processor, open_transaction)

    assert outcome.result is JobResult.FAILED
    state, exc_name, exc_message, result, date_done = job_row(
        db, job_id, "state", "exc_name", "exc_message", "result", "date_done"
    )
    assert state == "failed"
    assert exc_name.endswith("UniqueViolation")
    assert "side_effect_unique_note" in exc_message
    assert (result, date_done) == (None, None)  # the done record went with the refused commit
    assert notes(db, "side_effect_unique") == ["taken"]


# --- processing within budgets --------------------------------------------------------


def test_processing_runs_every_due_job_then_stops(db, processor, open_transaction):
    job_ids = [enqueue(db, "write_note", f"note {n:02}") for n in range(25)]

    report = process_due_jobs(processor, open_transaction, 100, GENEROUS_MAX_SECONDS)

    assert (report.processed, report.done) == (25, 25)
    with db.cursor() as cursor:
        cursor.execute("SELECT id FROM queue_job WHERE state = 'done' ORDER BY id")
        assert [job_id for (job_id,) in cursor] == job_ids
    assert len(notes(db)) == 25


def test_processing_runs_no_more_than_max_jobs(db, processor, open_transaction):
    job_ids = [enqueue(db, "write_note", f"note {n}") for n in range(5)]

    report = process_due_jobs(processor, open_transaction, 2, GENEROUS_MAX_SECONDS)

    assert report.processed == 2
    with db.cursor() as cursor:
        cursor.execute("SELECT id, state, retry, owner FROM queue_job ORDER BY id")
        assert cursor.fetchall() == [
            (job_ids[0], "done", 1, PROCESSOR),
            (job_ids[1], "done", 1, PROCESSOR),
            (job_ids[2], "pending", 0, None),
            (job_ids[3], "pending", 0, None),
            (job_ids[4], "pending", 0, None),
        ]
    assert notes(db) == ["note 0", "note 1"]


def test_jobs_claimed_but_not_started_when_time_is_up_are_released_uncounted(
    db, processor, open_transaction
):
    # The first job outlasts the whole budget: the two claimed with it never start.
    job_ids = [enqueue(db, "nap", 1.5, retry=2) for _ in range(3)]

    report = process_due_jobs(processor, open_transaction, 10, 1.0)

    assert report.processed == 1
    with db.cursor() as cursor:
        cursor.execute("SELECT id, state, retry, owner, date_started FROM queue_job ORDER BY id")
        assert cursor.fetchall()[1:] == [
            (job_ids[1], "pending", 2, None, None),
            (job_ids[2], "pending", 2, None, None),
        ]
    assert job_row(db, job_ids[0], "state", "retry") == ("done", 3)


@pytest.mark.parametrize(
    ("max_jobs", "max_seconds", "message"),
    [
        (0, 10.0, "max_jobs"),
        (-1, 10.0, "max_jobs"),
        (5, 0, "max_seconds"),
        (5, -1.0, "max_seconds"),
    ],
)
def test_a_budget_without_room_for_a_job_is_refused(
    db, processor, open_transaction, max_jobs, max_seconds, message
):
    job_id = enqueue(db, "write_note", "never written")

    with pytest.raises(ValueError, match=message):
        process_due_jobs(processor, open_transaction, max_jobs, max_seconds)

    assert job_row(db, job_id, "state", "retry") == ("pending", 0)


def test_jobs_claimed_with_one_whose_execution_escapes_are_released_uncounted(
    db, processor, database, side_tables
):
    # Opening the second job's transaction fails outright (the driver cannot even
    # start): processing stops, and the jobs claimed after it are not left started.
    job_ids = [enqueue(db, "write_note", f"note {index}") for index in range(4)]
    working = psycopg_transaction_factory(database, JOB_FUNCTIONS)

    def open_transaction(job):
        if job.id == job_ids[1]:
            raise KeyboardInterrupt("the process is being stopped")
        return working(job)

    with pytest.raises(KeyboardInterrupt):
        process_due_jobs(processor, open_transaction, 10, GENEROUS_MAX_SECONDS)

    with db.cursor() as cursor:
        cursor.execute("SELECT id, state, retry, owner FROM queue_job ORDER BY id")
        rows = cursor.fetchall()
    assert rows[0] == (job_ids[0], "done", 1, PROCESSOR)
    assert rows[1] == (job_ids[1], "started", 1, PROCESSOR), "left to recovery"
    assert rows[2:] == [(job_ids[2], "pending", 0, None), (job_ids[3], "pending", 0, None)]
