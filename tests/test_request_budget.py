"""Processing bound by a request: no job outlives the request's time budget, and at most
so many requests of one database process at once, counted in PostgreSQL (so across
every worker process), among connections of the runner's own role only."""

import time
import uuid
from functools import partial

import psycopg2
import pytest
from conftest import connect, insert_job
from psycopg_job_transaction import PsycopgJobTransaction, psycopg_transaction_factory

from job_worker.engine.connection import cancel_backend_statement, connect_engine
from job_worker.engine.processor import process_due_jobs
from job_worker.engine.request_admission import REQUEST_PREFIX, request_admission
from job_worker.engine.timeouts import ExecutionWatchdog

PROCESSOR = "job_worker:test-request-processor"
BUDGET_S = 1.5
JOB_RUNS_S = 30


def sleep_in_sql(cursor, seconds):
    cursor.execute("SELECT pg_sleep(%s)", [seconds])


def nap_in_python(cursor, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)


class CancellableTransaction(PsycopgJobTransaction):
    """Tells the watchdog which backend to cancel, as the Odoo transaction does."""

    @property
    def backend_pid(self):
        return self.connection.info.backend_pid


@pytest.fixture
def processor(database, db):
    connection = connect_engine({"dbname": database}, PROCESSOR)
    yield connection
    connection.close()


def process_within(database, processor, budget_s, run_until):
    watchdog = ExecutionWatchdog(
        partial(cancel_backend_statement, partial(psycopg2.connect, dbname=database)),
        run_until=run_until,
    )
    functions = {"sleep_in_sql": sleep_in_sql, "nap_in_python": nap_in_python}
    factory = psycopg_transaction_factory(database, functions, CancellableTransaction)
    try:
        return process_due_jobs(processor, factory, 5, budget_s, watchdog.watch)
    finally:
        watchdog.close()


def job_row(db, job_id):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT state, retry, exc_name, exc_message FROM queue_job WHERE id = %s", [job_id]
        )
        return cursor.fetchone()


@pytest.mark.parametrize("method_name", ["sleep_in_sql", "nap_in_python"])
def test_a_job_running_when_the_budget_ends_is_interrupted_then_and_given_back_uncounted(
    database, db, processor, method_name
):
    with db.cursor() as cursor:
        job_id = insert_job(
            cursor, method_name=method_name, args=f"[{JOB_RUNS_S}]", timeout=3600, max_retries=1
        )
    started = time.monotonic()
    report = process_within(database, processor, BUDGET_S, run_until=started + BUDGET_S)
    elapsed_s = time.monotonic() - started

    assert elapsed_s < BUDGET_S + 5  # not its own timeout of an hour, nor its 30 s
    assert report.processed == 1
    state, retry, exc_name, exc_message = job_row(db, job_id)
    assert (state, retry) == ("pending", 0)  # its only attempt is not spent
    assert "JobInterruptedError" in exc_name
    assert "time budget" in exc_message


def test_a_job_whose_own_timeout_comes_first_still_times_out(database, db, processor):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, method_name="sleep_in_sql", args=f"[{JOB_RUNS_S}]", timeout=1)
    started = time.monotonic()
    process_within(database, processor, 20, run_until=started + 20)
    assert time.monotonic() - started < 10
    state, retry, exc_name, exc_message = job_row(db, job_id)
    assert (state, retry, exc_message) == ("pending", 1, "job ran past its timeout of 1 s")
    assert "JobTimeoutError" in exc_name


def test_only_as_many_requests_as_the_limit_process_at_once_the_oldest_first(database):
    params = {"dbname": database}
    with request_admission(params, 1) as first:
        assert first is None
        with request_admission(params, 1) as second:
            assert second == 1  # turned away: one request processes already
        with request_admission(params, 2) as third:
            assert third is None
    with request_admission(params, 1) as later:
        assert later is None  # the first one ended: room again


def test_a_connection_of_another_role_named_like_a_request_turns_no_request_away(database):
    role = f"job_worker_test_other_{uuid.uuid4().hex[:8]}"
    admin = connect(database)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        impostor = connect(database, user=role, application_name=f"{REQUEST_PREFIX}fake:1")
        try:
            with request_admission({"dbname": database}, 1) as admitted:
                assert admitted is None
        finally:
            impostor.close()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP ROLE "{role}"')
        admin.close()
