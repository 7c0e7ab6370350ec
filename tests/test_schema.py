"""The queue's schema on a real PostgreSQL: idempotent install, defaults, NOTIFY, claim plan."""

import json
import select
import time
import uuid

import pytest
from support import connect, insert_job

from job_worker.engine.schema import NOTIFY_CHANNEL, install_schema
from job_worker.engine.sql import load_query

SENTINEL_CHANNEL = "job_worker_test_sentinel"
"""Notified after each action: once it arrives, every notification the action caused has."""

NOTIFICATION_TIMEOUT_S = 10.0


def schema_snapshot(cursor):
    """Everything :func:`install_schema` defines, as comparable text."""
    cursor.execute(
        """
        SELECT table_name, column_name, data_type, is_nullable, column_default
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'queue_job%'
        ORDER BY table_name, column_name
        """
    )
    columns = cursor.fetchall()
    cursor.execute(
        """
        SELECT tablename, indexname, indexdef
        FROM pg_indexes
        WHERE schemaname = 'public' AND tablename LIKE 'queue_job%'
        ORDER BY indexname
        """
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT tgname, pg_get_triggerdef(oid)
        FROM pg_trigger
        WHERE tgrelid = 'queue_job'::regclass AND NOT tgisinternal
        ORDER BY tgname
        """
    )
    triggers = cursor.fetchall()
    cursor.execute("SELECT pg_get_functiondef('queue_job_notify_runnable'::regproc)")
    function = cursor.fetchall()
    return {"columns": columns, "indexes": indexes, "triggers": triggers, "function": function}


def test_installing_the_schema_again_changes_nothing(db):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, name="kept")
        cursor.execute("SELECT * FROM queue_job WHERE id = %s", [job_id])
        job_before = cursor.fetchone()
        schema_before = schema_snapshot(cursor)

        install_schema(cursor)
        install_schema(cursor)

        assert schema_snapshot(cursor) == schema_before
        cursor.execute("SELECT * FROM queue_job")
        assert cursor.fetchall() == [job_before]


def test_the_schema_installs_on_top_of_itself_in_one_transaction(database):
    connection = connect(database)
    try:
        with connection, connection.cursor() as cursor:
            install_schema(cursor)
            install_schema(cursor)
    finally:
        connection.close()


def test_a_job_inserted_by_plain_sql_with_only_its_method_gets_valid_defaults(db):
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name) VALUES ('res.partner', 'write')
            RETURNING state, priority, retry, max_retries, channel, uuid,
                      date_created, (now() AT TIME ZONE 'UTC') - date_created
            """
        )
        state, priority, retry, max_retries, channel, job_uuid, date_created, age = (
            cursor.fetchone()
        )
        cursor.execute(
            "INSERT INTO queue_job (model_name, method_name) VALUES ('res.partner', 'write') "
            "RETURNING uuid"
        )
        (other_uuid,) = cursor.fetchone()

    assert (state, priority, retry, max_retries, channel) == ("pending", 10, 0, 5, "root")
    assert str(uuid.UUID(job_uuid)) == job_uuid
    assert other_uuid != job_uuid
    assert date_created is not None
    assert age.total_seconds() == 0  # now(), in UTC, of the inserting transaction


# --- NOTIFY ---------------------------------------------------------------------------


@pytest.fixture
def listener(database):
    """An autocommit connection listening on the queue's channel (and the sentinel's)."""
    connection = connect(database)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
        cursor.execute(f"LISTEN {SENTINEL_CHANNEL}")
    yield connection
    connection.close()


def notifications_caused_by(action, writer, listener):
    """Payloads notified on the queue's channel by what ``action(cursor)`` commits.

    PostgreSQL delivers notifications in commit order: a sentinel notified after the
    action arrives after all of the action's, so waiting for it tells "none" from "late".
    A first sentinel flushes what earlier statements notified.
    """
    notifications_until_sentinel(writer, listener)
    with writer.cursor() as cursor:
        action(cursor)
    return notifications_until_sentinel(writer, listener)


def notifications_until_sentinel(writer, listener):
    """Notify the sentinel through ``writer``; payloads ``listener`` receives before it."""
    with writer.cursor() as cursor:
        cursor.execute(f"NOTIFY {SENTINEL_CHANNEL}")
    payloads = []
    deadline = time.monotonic() + NOTIFICATION_TIMEOUT_S
    while True:
        listener.poll()
        while listener.notifies:
            notification = listener.notifies.pop(0)
            if notification.channel == SENTINEL_CHANNEL:
                return payloads
            assert notification.channel == NOTIFY_CHANNEL
            payloads.append(notification.payload)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"the sentinel notification did not arrive in {NOTIFICATION_TIMEOUT_S}s")
        select.select([listener], [], [], remaining)


def test_inserting_a_pending_job_notifies_its_channel(db, listener):
    payloads = notifications_caused_by(
        lambda cursor: insert_job(cursor, channel="root.mail"), db, listener
    )

    assert payloads == ["root.mail"]


def test_inserting_a_job_with_the_default_state_notifies(db, listener):
    payloads = notifications_caused_by(lambda cursor: insert_job(cursor), db, listener)

    assert payloads == ["root"]


@pytest.mark.parametrize("state", ["done", "failed", "started", "wait_dependencies"])
def test_inserting_a_job_that_is_not_pending_does_not_notify(db, listener, state):
    payloads = notifications_caused_by(lambda cursor: insert_job(cursor, state=state), db, listener)

    assert payloads == []


def test_a_failed_job_set_back_to_pending_notifies(db, listener):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, state="failed", channel="root.retry")

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute(
            "UPDATE queue_job SET state = 'pending' WHERE id = %s", [job_id]
        ),
        db,
        listener,
    )

    assert payloads == ["root.retry"]


def test_a_pending_job_whose_eta_changes_notifies(db, listener):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute(
            "UPDATE queue_job SET eta = (now() AT TIME ZONE 'UTC') + interval '1 hour' "
            "WHERE id = %s",
            [job_id],
        ),
        db,
        listener,
    )

    assert payloads == ["root"]


def test_a_pending_job_whose_priority_changes_does_not_notify(db, listener):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute("UPDATE queue_job SET priority = 1 WHERE id = %s", [job_id]),
        db,
        listener,
    )

    assert payloads == []


def test_a_pending_job_being_started_does_not_notify(db, listener):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute(
            "UPDATE queue_job SET state = 'started' WHERE id = %s", [job_id]
        ),
        db,
        listener,
    )

    assert payloads == []


@pytest.mark.parametrize(
    ("before", "after"),
    [("started", "done"), ("started", "failed"), ("started", "cancelled"), ("failed", "cancelled")],
)
def test_a_job_leaving_started_or_failed_notifies_the_room_it_frees(db, listener, before, after):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, state=before, channel="root.sync")

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute(
            "UPDATE queue_job SET state = %s WHERE id = %s", [after, job_id]
        ),
        db,
        listener,
    )

    assert payloads == ["root.sync"]


def test_a_job_finishing_without_having_started_does_not_notify(db, listener):
    with db.cursor() as cursor:
        job_id = insert_job(cursor)

    payloads = notifications_caused_by(
        lambda cursor: cursor.execute(
            "UPDATE queue_job SET state = 'cancelled' WHERE id = %s", [job_id]
        ),
        db,
        listener,
    )

    assert payloads == []


def test_changing_a_channel_notifies_once_per_statement(db, listener):
    payloads = notifications_caused_by(
        lambda cursor: cursor.execute("UPDATE queue_job_channel SET paused = false"),
        db,
        listener,
    )

    assert payloads == ["channels"]


def test_a_thousand_jobs_enqueued_in_one_transaction_notify_once(db, listener):
    def enqueue_a_thousand(cursor):
        cursor.execute("BEGIN")
        for _ in range(1000):
            insert_job(cursor)
        cursor.execute("COMMIT")

    payloads = notifications_caused_by(enqueue_a_thousand, db, listener)

    assert payloads == ["root"]


def test_jobs_enqueued_in_one_transaction_notify_once_per_channel(db, listener):
    def enqueue_on_two_channels(cursor):
        cursor.execute("BEGIN")
        for channel in ["root", "root.mail"] * 50:
            insert_job(cursor, channel=channel)
        cursor.execute("COMMIT")

    payloads = notifications_caused_by(enqueue_on_two_channels, db, listener)

    assert sorted(payloads) == ["root", "root.mail"]


# --- the claim query's plan -----------------------------------------------------------


def test_the_claim_query_walks_the_claim_index_on_a_large_table(db):
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, state, priority, date_created)
            SELECT 'test.model', 'run', 'done', mod(n, 20),
                   (now() AT TIME ZONE 'UTC') - n * interval '1 second'
            FROM generate_series(1, 50000) AS n
            """
        )
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, priority, date_created)
            SELECT 'test.model', 'run', mod(n, 20),
                   (now() AT TIME ZONE 'UTC') - n * interval '1 second'
            FROM generate_series(1, 200) AS n
            """
        )
        cursor.execute("ANALYZE queue_job")
        cursor.execute("EXPLAIN (FORMAT JSON)\n" + load_query("claim_due_jobs"), {"batch_size": 10})
        (plan,) = cursor.fetchone()

    plan_text = json.dumps(plan)  # psycopg2 hands the JSON plan over parsed
    assert "queue_job_claim_index" in plan_text, plan_text
