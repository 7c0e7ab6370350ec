"""Holding a claimed job: the row lock a job's transaction takes first, and takes again
when the job commits its own transaction mid-run (as long imports do)."""

import psycopg2
import psycopg2.errors
import pytest
from conftest import connect, insert_job
from psycopg_job_transaction import PsycopgJobTransaction, psycopg_transaction_factory

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine
from job_worker.engine.execution import JobResult, execute_claimed_job, hold_claimed_job

PROCESSOR = "job_worker:test-holder"


@pytest.fixture
def processor(database, db):
    """The engine connection that claims, as :data:`PROCESSOR`, on an empty queue."""
    connection = connect_engine({"dbname": database}, PROCESSOR)
    yield connection
    connection.close()


@pytest.fixture
def elsewhere(database):
    """Another connection, to try to lock the job's row as another processor would."""
    connection = connect(database, application_name="job_worker:test-elsewhere")
    yield connection
    connection.close()


def row_is_free(connection, job_id):
    """Whether ``connection`` can lock the job's row at once (then let it go again)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM queue_job WHERE id = %s FOR NO KEY UPDATE NOWAIT", [job_id]
            )
        return True
    except psycopg2.errors.LockNotAvailable:
        return False
    finally:
        connection.rollback()


def claim_one(db, processor, **values):
    with db.cursor() as cursor:
        insert_job(cursor, **values)
    [job] = claim_due_jobs(processor, 10)
    return job


def test_a_claimed_job_is_held_and_its_row_locked_until_the_transaction_ends(
    database, db, processor, elsewhere
):
    job = claim_one(db, processor)
    open_transaction = psycopg_transaction_factory(database, {})

    with open_transaction(job) as transaction:
        assert hold_claimed_job(transaction, job) is True
        assert not row_is_free(elsewhere, job.id)
        transaction.rollback()
        assert row_is_free(elsewhere, job.id)


@pytest.mark.parametrize(
    "take_away",
    [
        "UPDATE queue_job SET owner = 'another processor'",
        "UPDATE queue_job SET state = 'pending', owner = NULL",
        "UPDATE queue_job SET state = 'done'",
    ],
    ids=["owner changed", "recovered to pending", "settled elsewhere"],
)
def test_a_job_taken_away_is_not_held(database, db, processor, elsewhere, take_away):
    job = claim_one(db, processor)
    with db.cursor() as cursor:
        cursor.execute(take_away)
    open_transaction = psycopg_transaction_factory(database, {})

    with open_transaction(job) as transaction:
        assert hold_claimed_job(transaction, job) is False
        assert row_is_free(elsewhere, job.id)


class TransactionPassedToTheJob(PsycopgJobTransaction):
    """The job function gets the transaction itself, to commit it mid-run."""

    def perform(self):
        return self.job_functions[self.job.method_name](self)


def test_a_job_that_commits_mid_run_is_held_again_in_the_transaction_that_follows(
    database, db, processor, elsewhere
):
    seen = {}

    def commit_halfway(transaction):
        transaction.execute(
            "UPDATE queue_job SET name = 'first half committed' WHERE id = %(id)s", {"id": job.id}
        )
        transaction.commit()
        seen["free after the commit"] = row_is_free(elsewhere, job.id)
        seen["held again"] = hold_claimed_job(transaction, job)
        seen["free once held again"] = row_is_free(elsewhere, job.id)
        transaction.execute("SAVEPOINT job", {})  # the driver's savepoint, as Odoo's takes it

    job = claim_one(db, processor)
    open_transaction = psycopg_transaction_factory(
        database, {"run": commit_halfway}, TransactionPassedToTheJob
    )

    outcome = execute_claimed_job(job, open_transaction)

    assert seen == {
        "free after the commit": True,
        "held again": True,
        "free once held again": False,
    }
    assert outcome.result is JobResult.DONE
    with db.cursor() as cursor:
        cursor.execute("SELECT state, name FROM queue_job WHERE id = %s", [job.id])
        assert cursor.fetchone() == ("done", "first half committed")
