"""Retry delays stay within what the database can store: patterns are refused past the
bound when parsed, and any delay asked for at run time is cut to it before it reaches SQL.

Unbounded, a delay of ``1e308`` or ``Infinity`` cannot be written as an ETA: the job's
settlement fails, the job stays started, and recovery takes it back as dead, again and
again.
"""

import datetime

import pytest
from conftest import insert_job
from psycopg_job_transaction import psycopg_transaction_factory

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine
from job_worker.engine.errors import RetryableJobError
from job_worker.engine.execution import JobResult, execute_claimed_job
from job_worker.engine.recovery import recover_orphaned_jobs
from job_worker.engine.retry import (
    DEFAULT_RETRY_DELAY_S,
    MAX_RETRY_DELAY_S,
    RetryPatternError,
    bounded_retry_delay_s,
    parse_retry_pattern,
)

CLOCK_SLACK_S = 60
"""Seconds of leeway when comparing an ETA with the test's own clock."""


# -- patterns ----------------------------------------------------------------------------


def test_a_pattern_in_ocas_shape_is_read_as_attempts_and_delays():
    assert parse_retry_pattern('{"1": 10, "5": 60, "10": [300, 900], "20": 2592000}') == {
        1: 10.0,
        5: 60.0,
        10: (300.0, 900.0),
        20: float(MAX_RETRY_DELAY_S),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"1": Infinity}', "delay for '1' must be from 0 to 2592000 seconds (30 days), got inf"),
        ('{"1": -Infinity}', "delay for '1' must be from 0 to 2592000 seconds"),
        ('{"1": NaN}', "delay for '1' must be from 0 to 2592000 seconds (30 days), got nan"),
        ('{"1": 1e308}', "delay for '1' must be from 0 to 2592000 seconds (30 days), got 1e+308"),
        ('{"1": 2592001}', "delay for '1' must be from 0 to 2592000 seconds"),
        ('{"1": 1' + "0" * 400 + "}", "delay for '1' must be from 0 to 2592000 seconds"),
        ('{"3": [10, Infinity]}', "delay for '3' must be from 0 to 2592000 seconds"),
        ('{"3": [NaN, 10]}', "delay for '3' must be from 0 to 2592000 seconds"),
        ('{"3": [900, 300]}', "delay for '3' must be seconds or [min, max], got [900, 300]"),
        ('{"1e308": 10}', "key '1e308' is not an attempt number"),
        ('{"2147483648": 10}', "key '2147483648' is above 2147483647"),
    ],
)
def test_a_pattern_with_a_delay_or_attempt_out_of_range_is_refused_naming_the_entry(text, message):
    with pytest.raises(RetryPatternError) as refused:
        parse_retry_pattern(text)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("seconds", "bounded"),
    [
        (12.5, 12.5),
        (0, 0.0),
        (-5, 0.0),
        (float("inf"), MAX_RETRY_DELAY_S),
        (1e308, MAX_RETRY_DELAY_S),
        (10**400, MAX_RETRY_DELAY_S),
        (float("-inf"), 0.0),
        (float("nan"), DEFAULT_RETRY_DELAY_S),
        ("10", DEFAULT_RETRY_DELAY_S),
        (True, DEFAULT_RETRY_DELAY_S),
    ],
)
def test_a_delay_asked_for_at_run_time_is_cut_to_what_the_database_can_store(seconds, bounded):
    assert bounded_retry_delay_s(seconds) == bounded


# -- jobs that ask for such delays -------------------------------------------------------


def retry_in(cursor, seconds):
    raise RetryableJobError("the remote side is busy", seconds=seconds)


def retry_by_pattern(cursor):
    raise RetryableJobError("try again later")


@pytest.fixture
def processor(database, db):
    connection = connect_engine({"dbname": database}, "job_worker:test-processor")
    yield connection
    connection.close()


@pytest.fixture
def open_transaction(database):
    return psycopg_transaction_factory(
        database, {"retry_in": retry_in, "retry_by_pattern": retry_by_pattern}
    )


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def job_row(db, job_id):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT state, retry, owner, eta, exc_message FROM queue_job WHERE id = %s", [job_id]
        )
        return cursor.fetchone()


def run_the_due_job(processor, open_transaction):
    [job] = claim_due_jobs(processor, 10)
    return execute_claimed_job(job, open_transaction)


@pytest.mark.parametrize(
    ("seconds", "delay_s"),
    [
        ("Infinity", MAX_RETRY_DELAY_S),
        ("1e308", MAX_RETRY_DELAY_S),
        ("1" + "0" * 400, MAX_RETRY_DELAY_S),
        ("NaN", DEFAULT_RETRY_DELAY_S),
    ],
    ids=["infinity", "1e308", "10**400", "nan"],
)
def test_a_job_asking_for_an_unusable_delay_is_settled_pending_within_the_bound(
    db, processor, open_transaction, seconds, delay_s
):
    """``RetryableJobError(seconds=...)`` with the job's argument, as JSON gives it back."""
    with db.cursor() as cursor:
        job_id = insert_job(cursor, method_name="retry_in", args=f"[{seconds}]", max_retries=5)
    before = utc_now()

    outcome = run_the_due_job(processor, open_transaction)

    assert outcome.result is JobResult.RETRY
    state, retry, owner, eta, exc_message = job_row(db, job_id)
    assert (state, retry, owner, exc_message) == ("pending", 1, None, "the remote side is busy")
    expected = before + datetime.timedelta(seconds=delay_s)
    assert abs((eta - expected).total_seconds()) < CLOCK_SLACK_S


def test_a_pattern_stored_out_of_range_behind_the_models_back_gives_the_default_delay(
    db, processor, open_transaction
):
    with db.cursor() as cursor:
        # As a pattern written before patterns were bounded would be.
        cursor.execute(
            "INSERT INTO queue_job_function (name, model_id, method, channel, retry_pattern)"
            " VALUES ('test.model.retry_by_pattern', 1, 'retry_by_pattern', 'root',"
            " '{\"1\": Infinity}') RETURNING id"
        )
        (function_id,) = cursor.fetchone()
        job_id = insert_job(
            cursor, method_name="retry_by_pattern", job_function_id=function_id, max_retries=5
        )
    before = utc_now()

    assert run_the_due_job(processor, open_transaction).result is JobResult.RETRY

    state, retry, owner, eta, _ = job_row(db, job_id)
    assert (state, retry, owner) == ("pending", 1, None)
    expected = before + datetime.timedelta(seconds=DEFAULT_RETRY_DELAY_S)
    assert abs((eta - expected).total_seconds()) < CLOCK_SLACK_S


# -- recovery's backoff ------------------------------------------------------------------


def test_an_orphan_with_more_attempts_than_a_power_of_two_can_hold_is_recovered(db, processor):
    """Recovery waits 2^(attempt - 1) seconds, at most a minute: for a job with unlimited
    retries and thousands of attempts, 2^attempt overflows, and must not make recovery
    fail for every job of the database."""
    long_ago = utc_now() - datetime.timedelta(minutes=5)
    with db.cursor() as cursor:
        veteran = insert_job(
            cursor,
            state="started",
            owner="job_worker:gone:1",
            retry=5000,
            max_retries=0,
            heartbeat=long_ago,
        )
        ordinary = insert_job(
            cursor,
            state="started",
            owner="job_worker:gone:2",
            retry=1,
            max_retries=5,
            heartbeat=long_ago,
        )

    recovered = recover_orphaned_jobs(processor, grace_s=1)

    assert sorted((job.id, job.state, job.attempt) for job in recovered) == [
        (veteran, "pending", 5000),
        (ordinary, "pending", 1),
    ]
    _, _, _, eta, _ = job_row(db, veteran)
    assert eta <= utc_now() + datetime.timedelta(seconds=60 + CLOCK_SLACK_S)
