"""Another attempt, or not: retries counted against ``max_retries`` with their ETA on the
database's clock, retry patterns, and serialization conflicts run again uncounted.

Each test claims the one due job and runs it through the engine's execution protocol
(``execute_claimed_job``) on the tests' psycopg2 job transaction, as
``test_execution.py`` does; here the job's method raises what steers its outcome. Jobs run
at REPEATABLE READ, as Odoo runs them, so that a concurrent update is a real
serialization failure.
"""

import datetime
import json
import threading
from functools import partial

import pytest
from psycopg_job_transaction import (
    JOB_APPLICATION_NAME,
    ODOO_ISOLATION_LEVEL,
    psycopg_transaction_factory,
)
from support import connect, enqueue, insert_job, job_row, run_due_job, wait_until

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.errors import NothingToDoJob, RetryableJobError
from job_worker.engine.execution import (
    CONFLICT_REQUEUE_DELAY_S,
    CONFLICT_RERUNS,
    JobResult,
    execute_claimed_job,
)
from job_worker.engine.retry import DEFAULT_RETRY_DELAY_S

RETRY_PATTERN = {1: 10, 5: 60}
"""Attempts 1 to 4 wait 10 s before the next; from the 5th on, 60 s."""
LOCK_WAIT_SEEN_WITHIN_S = 10.0
"""How long the deadlock's other transaction waits to see the job waiting for a lock."""


@pytest.fixture
def counter(db):
    """A table ``counter (id, value)`` of two rows (ids 1 and 2, values 0) jobs update."""
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS counter (id int PRIMARY KEY, value int)")
        cursor.execute("TRUNCATE counter")
        cursor.execute("INSERT INTO counter VALUES (1, 0), (2, 0)")
    yield
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE counter")


def counter_values(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT value FROM counter ORDER BY id")
        return [value for (value,) in cursor]


def factory(database, **job_functions):
    """Job transactions at Odoo's isolation level, running ``job_functions``."""
    return psycopg_transaction_factory(
        database, job_functions, isolation_level=ODOO_ISOLATION_LEVEL
    )


def database_now(db):
    """The database's clock, as the table stores times (naive UTC)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC'")
        return cursor.fetchone()[0]


def run_and_time(db, processor, open_transaction):
    """Run the due job; return its outcome and the database's clock before and after."""
    before = database_now(db)
    outcome = run_due_job(processor, open_transaction)
    return outcome, before, database_now(db)


def assert_eta_after(db, job_id, delay_s, before, after):
    """The job's ETA is ``delay_s`` after a moment of its settlement, on the database clock."""
    (eta,) = job_row(db, job_id, "eta")
    delay = datetime.timedelta(seconds=delay_s)
    assert before + delay <= eta <= after + delay, (before, eta, after)


def with_retry_pattern(db, pattern):
    """A job function (``queue_job_function``) whose retry pattern is ``pattern``."""
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO queue_job_function (name, model_id, method, channel, retry_pattern)"
            " VALUES ('<test.model>.fail_again', 1, 'fail_again', 'root', %s) RETURNING id",
            [json.dumps(pattern)],
        )
        return cursor.fetchone()[0]


def write_then_ask_for_a_retry(cursor, note, **options):
    cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
    raise RetryableJobError(note, **options)


# --- retries counted against max_retries -------------------------------------------------


def test_a_retryable_failure_goes_back_to_pending_counted_due_after_the_default_delay(
    database, db, processor, counter
):
    job_id = enqueue(db, "fail_again", "the remote end is busy", max_retries=3)
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    outcome, before, after = run_and_time(db, processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    state, retry, owner, exc_name, exc_message, exc_info = job_row(
        db, job_id, "state", "retry", "owner", "exc_name", "exc_message", "exc_info"
    )
    assert (state, retry, owner) == ("pending", 1, None)
    assert exc_name == "job_worker.engine.errors.RetryableJobError"
    assert exc_message == "the remote end is busy"
    assert "write_then_ask_for_a_retry" in exc_info
    assert_eta_after(db, job_id, DEFAULT_RETRY_DELAY_S, before, after)
    assert counter_values(db) == [0, 0]  # the attempt's writes were rolled back


def test_a_job_out_of_retries_fails_with_its_last_exception_kept(database, db, processor, counter):
    job_id = enqueue(db, "fail_again", "still busy", max_retries=3)
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    results = []
    for _ in range(3):
        results.append(run_due_job(processor, open_transaction).result)
        with db.cursor() as cursor:  # due again now, rather than in ten minutes
            cursor.execute("UPDATE queue_job SET eta = NULL WHERE id = %s", [job_id])

    assert results == [JobResult.RETRY, JobResult.RETRY, JobResult.FAILED]
    state, retry, exc_name, exc_message, exc_info = job_row(
        db, job_id, "state", "retry", "exc_name", "exc_message", "exc_info"
    )
    assert (state, retry) == ("failed", 3)
    assert exc_name == "job_worker.engine.errors.RetryableJobError"
    assert exc_message == "Max. retries (3) reached: still busy"
    assert "Traceback" in exc_info and "write_then_ask_for_a_retry" in exc_info
    assert claim_due_jobs(processor, 10) == []  # failed for good: never claimed again
    assert counter_values(db) == [0, 0]


def test_a_job_without_a_retry_limit_is_tried_again_however_many_attempts_it_spent(
    database, db, processor, counter
):
    job_id = enqueue(db, "fail_again", "busy", max_retries=0, retry=500)
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    outcome = run_due_job(processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    assert job_row(db, job_id, "state", "retry") == ("pending", 501)


def test_a_retry_asked_for_in_seconds_is_due_after_them_whatever_the_pattern(
    database, db, processor, counter
):
    job_id = enqueue(db, "fail_again", "in 3 s", job_function_id=with_retry_pattern(db, {1: 10}))
    open_transaction = factory(database, fail_again=partial(write_then_ask_for_a_retry, seconds=3))

    outcome, before, after = run_and_time(db, processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    assert job_row(db, job_id, "state", "retry") == ("pending", 1)
    assert_eta_after(db, job_id, 3, before, after)


def test_a_retry_that_ignores_the_count_gives_the_attempt_back_even_on_the_last_one(
    database, db, processor, counter
):
    # Two of two attempts spent once claimed: a counted retry would fail it.
    job_id = enqueue(db, "fail_again", "not yet", max_retries=2, retry=1)
    open_transaction = factory(
        database, fail_again=partial(write_then_ask_for_a_retry, seconds=5, ignore_retry=True)
    )

    outcome, before, after = run_and_time(db, processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    assert job_row(db, job_id, "state", "retry", "exc_message") == ("pending", 1, "not yet")
    assert_eta_after(db, job_id, 5, before, after)


# --- retry patterns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "delay_s"),
    [(1, 10), (4, 10), (5, 60), (9, 60)],
    ids=["first attempt", "last before the step", "at the step", "past the step"],
)
def test_a_retry_pattern_waits_the_delay_of_the_highest_step_the_attempt_reached(
    database, db, processor, counter, attempt, delay_s
):
    job_id = enqueue(
        db,
        "fail_again",
        "busy",
        retry=attempt - 1,  # the claim counts the attempt
        max_retries=20,
        job_function_id=with_retry_pattern(db, RETRY_PATTERN),
    )
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    outcome, before, after = run_and_time(db, processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    assert job_row(db, job_id, "state", "retry") == ("pending", attempt)
    assert_eta_after(db, job_id, delay_s, before, after)


def test_an_attempt_below_every_step_of_the_pattern_waits_the_default_delay(
    database, db, processor, counter
):
    job_id = enqueue(db, "fail_again", "busy", job_function_id=with_retry_pattern(db, {3: 30}))
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    outcome, before, after = run_and_time(db, processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    assert_eta_after(db, job_id, DEFAULT_RETRY_DELAY_S, before, after)


def test_a_pattern_step_given_as_a_range_draws_its_delay_within_it(
    database, db, processor, counter
):
    job_ids = [
        enqueue(db, "fail_again", "busy", job_function_id=with_retry_pattern(db, {1: [20, 30]}))
        for _ in range(5)
    ]
    open_transaction = factory(database, fail_again=write_then_ask_for_a_retry)

    before = database_now(db)
    outcomes = [execute_claimed_job(job, open_transaction) for job in claim_due_jobs(processor, 10)]
    after = database_now(db)

    assert [outcome.result for outcome in outcomes] == [JobResult.RETRY] * len(job_ids)

    for job_id in job_ids:
        (eta,) = job_row(db, job_id, "eta")
        assert before + datetime.timedelta(seconds=20) <= eta
        assert eta <= after + datetime.timedelta(seconds=30)


# --- nothing to do -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "result"),
    [("no invoice left to send", "no invoice left to send"), ("", "Nothing to do")],
    ids=["with a message", "without one"],
)
def test_a_job_with_nothing_to_do_is_done_with_that_as_its_result_and_no_failure(
    database, db, processor, counter, message, result
):
    def find_nothing(cursor):
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
        raise NothingToDoJob(message)

    job_id = enqueue(db, "find_nothing", max_retries=3)

    outcome = run_due_job(processor, factory(database, find_nothing=find_nothing))

    assert outcome.result is JobResult.DONE
    state, retry, job_result, exc_name, date_done = job_row(
        db, job_id, "state", "retry", "result", "exc_name", "date_done"
    )
    assert (state, retry, job_result, exc_name) == ("done", 1, result, None)
    assert date_done is not None
    assert counter_values(db) == [0, 0]  # what it wrote before raising is rolled back


# --- serialization conflicts -------------------------------------------------------------


def test_a_serialization_failure_is_run_again_in_a_fresh_snapshot_without_spending_an_attempt(
    database, db, processor, counter
):
    """The job's REPEATABLE READ snapshot is taken when it locks its row; another
    transaction then updates the row the job is about to update: PostgreSQL refuses the
    job's update (40001). Only a new transaction, with a new snapshot, can succeed."""
    runs = []

    def add_one(cursor):
        cursor.execute("SELECT value FROM counter WHERE id = 1")
        (seen,) = cursor.fetchone()
        runs.append(seen)
        if len(runs) == 1:
            other = connect(database, application_name="job_worker:test-concurrent-writer")
            other.set_session(isolation_level=ODOO_ISOLATION_LEVEL)
            with other.cursor() as writer:
                writer.execute("UPDATE counter SET value = value + 100 WHERE id = 1")
            other.commit()
            other.close()
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")

    job_id = enqueue(db, "add_one", max_retries=1)

    outcome = run_due_job(processor, factory(database, add_one=add_one))

    assert outcome.result is JobResult.DONE
    assert runs == [0, 100]  # the rerun saw the other transaction's write
    assert counter_values(db) == [101, 0]  # the job's write committed once
    assert job_row(db, job_id, "state", "retry", "exc_name") == ("done", 1, None)


def test_a_deadlock_is_run_again_in_a_fresh_transaction_without_spending_an_attempt(
    database, db, processor, counter
):
    """A real lock cycle: another transaction holds row 2; the job takes row 1 and waits
    for row 2; once it waits, the other asks for row 1. The job waited first, so its
    deadlock check (``deadlock_timeout`` after it began to wait) runs first, finds the
    cycle and PostgreSQL cancels the job's transaction (40P01), not the other's."""
    other = connect(database, application_name="job_worker:test-deadlock-partner")
    runs, partner_errors = [], []

    def job_waits_for_a_lock():
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = %s AND wait_event_type = 'Lock'",
                [JOB_APPLICATION_NAME],
            )
            return cursor.fetchone()[0] == 1

    def close_the_cycle():
        try:
            wait_until(job_waits_for_a_lock, LOCK_WAIT_SEEN_WITHIN_S, "the job never waited")
            with other.cursor() as cursor:
                cursor.execute("UPDATE counter SET value = value + 100 WHERE id = 1")
            other.commit()
        except Exception as error:
            partner_errors.append(error)
            other.rollback()  # lets the job go on, whatever happened

    partner = threading.Thread(target=close_the_cycle, daemon=True)

    def update_both(cursor):
        runs.append(len(runs) + 1)
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
        if len(runs) == 1:
            partner.start()
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 2")

    job_id = enqueue(db, "update_both", max_retries=1)
    with other.cursor() as cursor:
        cursor.execute("UPDATE counter SET value = value + 100 WHERE id = 2")  # held

    try:
        outcome = run_due_job(processor, factory(database, update_both=update_both))
    finally:
        if partner.ident is not None:
            partner.join(10)
        other.close()

    assert partner_errors == []  # the job was the one cancelled, the other committed
    assert outcome.result is JobResult.DONE
    assert runs == [1, 2]
    assert counter_values(db) == [101, 101]  # the job's writes committed once
    assert job_row(db, job_id, "state", "retry", "exc_name") == ("done", 1, None)


def test_a_job_that_conflicts_at_every_run_goes_back_to_pending_soon_its_attempt_given_back(
    database, db, processor, counter
):
    runs = []

    def always_conflict(cursor):
        runs.append(1)
        cursor.execute("UPDATE counter SET value = value + 1 WHERE id = 1")
        cursor.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'conflict, always' USING ERRCODE = '40001'; END $$"
        )

    with db.cursor() as cursor:
        job_id = insert_job(cursor, method_name="always_conflict", retry=2, max_retries=3)

    outcome, before, after = run_and_time(
        db, processor, factory(database, always_conflict=always_conflict)
    )

    assert outcome.result is JobResult.RETRY
    assert len(runs) == CONFLICT_RERUNS + 1
    state, retry, owner, result = job_row(db, job_id, "state", "retry", "owner", "result")
    assert (state, retry, owner) == ("pending", 2, None)  # the third attempt given back
    assert result == f"serialization conflicts in {CONFLICT_RERUNS + 1} runs; requeued"
    (eta,) = job_row(db, job_id, "eta")
    soonest, latest = CONFLICT_REQUEUE_DELAY_S
    assert before + datetime.timedelta(seconds=soonest) <= eta
    assert eta <= after + datetime.timedelta(seconds=latest)
    assert counter_values(db) == [0, 0]
