"""Dependency graphs follow their jobs' states in the database, whatever writes them, and
identity keys are unique among the jobs still to run."""

import threading
import time

import psycopg2
import psycopg2.errors
import pytest
from dispatcher_processes import executions
from support import connect, insert_job, job_states, wait_until

from job_worker.engine import codec
from job_worker.engine.dispatcher import DispatcherConfig


def depends(cursor, child, *parents):
    """Make ``child`` wait for ``parents``, all in one graph (as ``delayable()`` stores
    them: dependencies are followed for jobs of a graph)."""
    for parent in parents:
        cursor.execute(
            "INSERT INTO queue_job_dependency_rel (job_id, parent_id) VALUES (%s, %s)",
            [child, parent],
        )
    cursor.execute(
        "UPDATE queue_job SET graph_uuid = coalesce("
        " (SELECT max(graph_uuid) FROM queue_job WHERE id = ANY(%(ids)s)),"
        " gen_random_uuid()::varchar) WHERE id = ANY(%(ids)s)",
        {"ids": [child, *parents]},
    )


def set_state(db, job_id, state):
    with db.cursor() as cursor:
        cursor.execute("UPDATE queue_job SET state = %s WHERE id = %s", [state, job_id])


@pytest.fixture
def diamond(db):
    """first and second run in parallel; joined waits for both; last waits for joined."""
    with db.cursor() as cursor:
        first, second = insert_job(cursor), insert_job(cursor)
        joined = insert_job(cursor, state="wait_dependencies")
        last = insert_job(cursor, state="wait_dependencies")
        depends(cursor, joined, first, second)
        depends(cursor, last, joined)
    return first, second, joined, last


def test_a_job_waits_until_all_its_parents_are_done(db, diamond):
    first, second, joined, last = diamond
    set_state(db, first, "done")
    assert job_states(db, [joined, last]) == ["wait_dependencies", "wait_dependencies"]
    set_state(db, second, "done")
    assert job_states(db, [joined, last]) == ["pending", "wait_dependencies"]
    set_state(db, joined, "done")
    assert job_states(db, [last]) == ["pending"]


def test_a_cancelled_job_cancels_everything_waiting_on_it(db, diamond):
    first, second, joined, last = diamond
    set_state(db, first, "cancelled")
    assert job_states(db, [second, joined, last]) == ["pending", "cancelled", "cancelled"]
    with db.cursor() as cursor:
        cursor.execute("SELECT date_cancelled IS NOT NULL FROM queue_job WHERE id = %s", [last])
        assert cursor.fetchone() == (True,)


def test_a_failed_job_keeps_its_dependents_waiting_until_it_is_requeued_and_done(db, diamond):
    first, second, joined, last = diamond
    set_state(db, second, "done")
    set_state(db, first, "failed")
    assert job_states(db, [joined]) == ["wait_dependencies"]
    set_state(db, first, "pending")
    set_state(db, first, "done")
    assert job_states(db, [joined]) == ["pending"]


def test_requeuing_a_failed_parent_with_its_waiting_child_keeps_the_child_waiting(db, diamond):
    first, second, joined, last = diamond
    set_state(db, second, "done")
    set_state(db, first, "failed")
    with db.cursor() as cursor:  # Requeue on a selection holding both, in one statement
        cursor.execute(
            "UPDATE queue_job SET state = 'pending' WHERE id = ANY(%s)", [[first, joined, last]]
        )
    assert job_states(db, [first, joined, last]) == [
        "pending",
        "wait_dependencies",
        "wait_dependencies",
    ]
    set_state(db, first, "done")
    assert job_states(db, [joined, last]) == ["pending", "wait_dependencies"]


def test_a_job_whose_parents_are_not_all_done_is_never_claimed(db, diamond, dispatchers):
    first, second, joined, last = diamond
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE queue_job SET method_name = 'work_briefly', args = %s WHERE id <> %s",
            [codec.dumps([0]), first],
        )
    set_state(db, first, "failed")
    set_state(db, joined, "pending")  # whatever writes it, it keeps waiting
    set_state(db, last, "pending")
    dispatchers.start(DispatcherConfig(max_threads=2))
    wait_until(lambda: job_states(db, [second]) == ["done"], 10, "the lone due parent did not run")
    time.sleep(0.5)  # what a dispatcher would claim next, it claims at once
    assert job_states(db, [first, joined, last]) == [
        "failed",
        "wait_dependencies",
        "wait_dependencies",
    ]
    assert executions(db, joined) == executions(db, last) == 0


def test_two_parents_done_at_once_conflict_so_the_later_sees_both(database, db, diamond):
    """Each parent's transaction (REPEATABLE READ, as Odoo's) cannot see the other done:
    the trigger makes the later one fail with a serialization error, and run again."""
    first, second, joined, _ = diamond
    connections = [connect(database) for _ in range(2)]
    for connection in connections:
        connection.set_session(isolation_level="REPEATABLE READ")
    first_tx, second_tx = connections
    with first_tx.cursor() as cursor:
        cursor.execute("UPDATE queue_job SET state = 'done' WHERE id = %s", [first])
    with second_tx.cursor() as cursor:
        cursor.execute("SELECT 1")  # the snapshot is taken: the first is not done yet
    outcome = []

    def finish_second():
        try:
            with second_tx.cursor() as cursor:
                cursor.execute("UPDATE queue_job SET state = 'done' WHERE id = %s", [second])
            second_tx.commit()
            outcome.append("committed")
        except psycopg2.errors.SerializationFailure:
            second_tx.rollback()
            outcome.append("serialization failure")

    thread = threading.Thread(target=finish_second)
    thread.start()
    wait_until(lambda: blocked(db), 5, "the second parent did not wait for the first")
    first_tx.commit()
    thread.join(5)
    assert outcome == ["serialization failure"]

    with second_tx.cursor() as cursor:  # the engine's rerun, in a fresh transaction
        cursor.execute("UPDATE queue_job SET state = 'done' WHERE id = %s", [second])
    second_tx.commit()
    assert job_states(db, [joined]) == ["pending"]
    for connection in connections:
        connection.close()


def blocked(db):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_graph_run_by_a_dispatcher_ends_done_in_order(db, dispatchers):
    """Many small diamonds whose two parents run at the same moment on two threads."""
    graphs = []
    with db.cursor() as cursor:
        for _ in range(10):
            parents = [
                insert_job(cursor, method_name="work_briefly", args=codec.dumps([50]))
                for _ in range(2)
            ]
            child = insert_job(
                cursor, method_name="work_briefly", args=codec.dumps([0]), state="wait_dependencies"
            )
            depends(cursor, child, *parents)
            graphs.append((parents, child))
    dispatchers.start(DispatcherConfig(max_threads=2))

    every_job = [job for parents, child in graphs for job in (*parents, child)]
    wait_until(
        lambda: set(job_states(db, every_job)) == {"done"}, 60, "the graphs did not all end done"
    )
    with db.cursor() as cursor:
        for parents, child in graphs:
            cursor.execute("SELECT max(date_done) FROM queue_job WHERE id = ANY(%s)", [parents])
            (parents_done,) = cursor.fetchone()
            cursor.execute("SELECT date_started FROM queue_job WHERE id = %s", [child])
            (child_started,) = cursor.fetchone()
            assert child_started >= parents_done
    assert all(executions(db, job) == 1 for job in every_job)


def test_an_identity_key_is_unique_among_jobs_still_to_run(db):
    with db.cursor() as cursor:
        insert_job(cursor, identity_key="sync-partner-7")
        with pytest.raises(psycopg2.errors.UniqueViolation):
            insert_job(cursor, identity_key="sync-partner-7", state="wait_dependencies")
        cursor.execute("UPDATE queue_job SET state = 'started' WHERE identity_key IS NOT NULL")
        insert_job(cursor, identity_key="sync-partner-7")  # new work while one runs
        insert_job(cursor, identity_key="sync-partner-7", state="done")
        cursor.execute("SELECT count(*) FROM queue_job WHERE identity_key = 'sync-partner-7'")
        assert cursor.fetchone() == (3,)
