"""The next moment a job becomes due, as the dispatcher's timer and the cron's trigger
read it: a pending job's ETA, or a rate-limited channel's window freeing a start."""

import datetime

from conftest import add_channel, insert_job

from job_worker.engine.wakeup import read_next_wakeup


def database_now(cursor):
    cursor.execute("SELECT now() AT TIME ZONE 'UTC'")
    return cursor.fetchone()[0]


def test_an_empty_queue_has_no_wakeup(db):
    with db.cursor() as cursor:
        assert read_next_wakeup(cursor) is None


def test_jobs_due_already_or_not_pending_are_no_wakeup(db):
    with db.cursor() as cursor:
        now = database_now(cursor)
        insert_job(cursor, eta=now - datetime.timedelta(seconds=5))
        insert_job(cursor, state="done", eta=now + datetime.timedelta(hours=1))
        insert_job(cursor, state="wait_dependencies", eta=now + datetime.timedelta(hours=1))

        assert read_next_wakeup(cursor) is None


def test_the_wakeup_is_the_earliest_future_eta_to_the_microsecond(db):
    with db.cursor() as cursor:
        now = database_now(cursor)
        soon = now + datetime.timedelta(minutes=10, microseconds=123_457)
        insert_job(cursor, eta=now + datetime.timedelta(hours=2))
        insert_job(cursor, eta=soon)

        wakeup = read_next_wakeup(cursor)

    assert wakeup.at == soon
    assert 9 * 60 < wakeup.in_s <= 10 * 60 + 1


def test_a_rate_limited_channel_wakes_when_its_oldest_start_leaves_the_window(db):
    with db.cursor() as cursor:
        now = database_now(cursor)
        channel_id = add_channel(cursor, "root.api", rate_limit=2, rate_period=60)
        started_at = now - datetime.timedelta(seconds=20)
        cursor.execute(
            "INSERT INTO queue_job_channel_start (channel_id, started_at)"
            " VALUES (%s, %s), (%s, %s)",
            [channel_id, started_at, channel_id, started_at + datetime.timedelta(seconds=5)],
        )
        insert_job(cursor, eta=now + datetime.timedelta(hours=1))

        wakeup = read_next_wakeup(cursor)

    assert wakeup.at == started_at + datetime.timedelta(seconds=60)
    assert 0 < wakeup.in_s <= 40
