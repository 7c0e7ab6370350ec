"""Processing rounds opened from connection parameters alone, as the Odoo side calls them:
the round's own claiming connection and watchdog, and "run now" on selected jobs."""

import datetime
import time

import pytest
from conftest import add_channel, insert_job
from dispatcher_processes import wait_until
from psycopg_job_transaction import PsycopgJobTransaction, psycopg_transaction_factory

from job_worker.engine.connection import connect_engine
from job_worker.engine.processor import (
    bring_jobs_due_now,
    process_due_jobs_of_database,
    run_jobs_now,
)

ROUND = "job_worker:test-round:1"
GENEROUS_MAX_SECONDS = 30.0
JOB_TIMEOUT_S = 1
BACKEND_EXIT_S = 5.0
"""A closed connection leaves pg_stat_activity once its server process has exited."""
INTERRUPTED_WITHIN_S = 10.0
"""A job sleeping 60 s in SQL with a 1 s timeout is interrupted well within this."""


class CancellableTransaction(PsycopgJobTransaction):
    """The tests' driver, with the backend the watchdog cancels."""

    @property
    def backend_pid(self):
        return self.connection.info.backend_pid


def sleep_in_sql(cursor, seconds):
    cursor.execute("SELECT pg_sleep(%s)", [seconds])


def note_done(cursor):
    return "ran"


@pytest.fixture
def open_transaction(database):
    return psycopg_transaction_factory(
        database, {"sleep_in_sql": sleep_in_sql, "run": note_done}, CancellableTransaction
    )


@pytest.fixture
def params(database):
    return {"dbname": database}


def rows(db, *job_ids):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT id, state, owner, eta FROM queue_job WHERE id = ANY(%s) ORDER BY id",
            [list(job_ids)],
        )
        return cursor.fetchall()


def database_now(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT now() AT TIME ZONE 'UTC'")
        return cursor.fetchone()[0]


def connections_named(db, application_name):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def assert_closed(db, application_name):
    """The connection named ``application_name`` was closed (its backend exits soon after)."""
    wait_until(
        lambda: connections_named(db, application_name) == 0,
        BACKEND_EXIT_S,
        f"a connection named {application_name} is still open",
    )


def test_a_round_claims_through_its_own_named_connection_and_closes_it(
    db, params, open_transaction
):
    with db.cursor() as cursor:
        job_ids = [insert_job(cursor) for _ in range(3)]

    report = process_due_jobs_of_database(
        params, open_transaction, 10, GENEROUS_MAX_SECONDS, application_name=ROUND
    )

    assert (report.processed, report.done) == (3, 3)
    assert [(state, owner) for _, state, owner, _ in rows(db, *job_ids)] == [("done", ROUND)] * 3
    assert_closed(db, ROUND)


def test_a_round_s_connection_is_named_after_the_processor_by_default(db, params, open_transaction):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    process_due_jobs_of_database(params, open_transaction, 10, GENEROUS_MAX_SECONDS)

    [(_, state, owner, _)] = rows(db, job_id)
    assert state == "done"
    assert owner.startswith("job_worker:process:")


def test_a_round_interrupts_a_job_past_its_timeout_with_its_own_watchdog(
    db, params, open_transaction
):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, method_name="sleep_in_sql", args="[60]", timeout=JOB_TIMEOUT_S)
    started = time.monotonic()

    report = process_due_jobs_of_database(params, open_transaction, 10, GENEROUS_MAX_SECONDS)

    assert time.monotonic() - started < INTERRUPTED_WITHIN_S
    assert report.processed == 1
    with db.cursor() as cursor:
        cursor.execute("SELECT state, retry, exc_name FROM queue_job WHERE id = %s", [job_id])
        state, retry, exc_name = cursor.fetchone()
    assert (state, retry) == ("pending", 1)  # another attempt, the first one counted
    assert exc_name.endswith("JobTimeoutError")


def test_run_now_runs_the_selected_jobs_whatever_their_eta_and_only_them(
    db, params, open_transaction
):
    later = database_now(db) + datetime.timedelta(hours=1)
    with db.cursor() as cursor:
        selected = [insert_job(cursor, eta=later), insert_job(cursor)]
        left_waiting = insert_job(cursor, eta=later)
        left_due = insert_job(cursor)
        finished = insert_job(cursor, state="done", eta=later)

    report = run_jobs_now(
        params,
        open_transaction,
        [*selected, finished],
        GENEROUS_MAX_SECONDS,
        application_name=ROUND,
    )

    assert (report.processed, report.done) == (2, 2)
    assert [row[1:3] for row in rows(db, *selected)] == [("done", ROUND)] * 2
    assert rows(db, left_waiting, left_due, finished) == [
        (left_waiting, "pending", None, later),
        (left_due, "pending", None, None),
        (finished, "done", None, later),
    ]
    assert_closed(db, ROUND)


def test_run_now_keeps_to_the_channels_limits_and_leaves_the_job_due(db, params, open_transaction):
    later = database_now(db) + datetime.timedelta(hours=1)
    with db.cursor() as cursor:
        add_channel(cursor, "root.paused", paused=True)
        job_id = insert_job(cursor, channel="root.paused", eta=later)

    report = run_jobs_now(params, open_transaction, [job_id], GENEROUS_MAX_SECONDS)

    assert report.processed == 0
    [(_, state, owner, eta)] = rows(db, job_id)
    assert (state, owner) == ("pending", None)
    assert eta <= database_now(db)  # due now: it runs once its channel has room


def test_run_now_on_no_job_opens_nothing_and_runs_nothing(db, params, open_transaction):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    report = run_jobs_now(params, open_transaction, [], GENEROUS_MAX_SECONDS)

    assert report.processed == 0
    assert rows(db, job_id)[0][1] == "pending"


def test_bringing_jobs_due_now_moves_only_pending_etas_still_ahead_and_commits(database, db):
    now = database_now(db)
    later, earlier = now + datetime.timedelta(hours=1), now - datetime.timedelta(hours=1)
    with db.cursor() as cursor:
        ahead = insert_job(cursor, eta=later)
        already_due = insert_job(cursor, eta=earlier)
        waiting = insert_job(cursor, state="wait_dependencies", eta=later)
        not_selected = insert_job(cursor, eta=later)
    connection = connect_engine({"dbname": database}, ROUND)
    try:
        moved = bring_jobs_due_now(connection, [ahead, already_due, waiting])
    finally:
        connection.close()

    assert moved == [ahead]
    etas = {
        job_id: eta for job_id, _, _, eta in rows(db, ahead, already_due, waiting, not_selected)
    }
    assert now <= etas[ahead] <= database_now(db)  # seen from another connection: committed
    assert (etas[already_due], etas[waiting], etas[not_selected]) == (earlier, later, later)
