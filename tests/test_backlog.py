"""The backlog the keep-alive endpoint reports: pending jobs, due ones, the oldest wait."""

import datetime

from support import insert_job

from job_worker.engine.backlog import count_due_jobs, read_backlog


def test_an_empty_queue_has_no_backlog(db):
    with db.cursor() as cursor:
        backlog = read_backlog(cursor)
    assert (backlog.pending, backlog.due, backlog.oldest_due_age_s) == (0, 0, None)


def test_the_backlog_counts_pending_and_due_jobs_and_the_oldest_wait(db):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with db.cursor() as cursor:
        insert_job(cursor, date_created=now - datetime.timedelta(minutes=5))
        insert_job(cursor, date_created=now)
        insert_job(cursor, eta=now + datetime.timedelta(hours=1))
        insert_job(cursor, state="done", date_created=now - datetime.timedelta(days=1))
        insert_job(cursor, state="started")
        backlog = read_backlog(cursor)
    assert (backlog.pending, backlog.due) == (3, 2)
    assert 299 <= backlog.oldest_due_age_s <= 330


def test_due_jobs_are_counted_up_to_a_bound(db):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with db.cursor() as cursor:
        for _ in range(5):
            insert_job(cursor, date_created=now - datetime.timedelta(seconds=1))
        insert_job(cursor, eta=now + datetime.timedelta(hours=1))
        insert_job(cursor, state="started")
        assert count_due_jobs(cursor, at_most=100) == 5
        assert count_due_jobs(cursor, at_most=3) == 3
