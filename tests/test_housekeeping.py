"""Finished jobs are pruned by age and channel, in batches; the claim index never holds them."""

from support import add_channel, insert_job

from job_worker.engine.housekeeping import prune_channel_starts, prune_finished_jobs


def finished(cursor, state, days_ago, channel="root"):
    date_column = "date_cancelled" if state == "cancelled" else "date_done"
    return insert_job(
        cursor,
        state=state,
        channel=channel,
        **{date_column: _days_ago(cursor, days_ago)},
    )


def _days_ago(cursor, days):
    cursor.execute("SELECT (now() AT TIME ZONE 'UTC') - make_interval(days => %s)", [days])
    return cursor.fetchone()[0]


def remaining_ids(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT id FROM queue_job ORDER BY id")
        return [job_id for (job_id,) in cursor.fetchall()]


def test_done_and_cancelled_jobs_older_than_their_channels_removal_interval_are_deleted(db):
    with db.cursor() as cursor:
        add_channel(cursor, "root.short", removal_interval=2)
        old_done = finished(cursor, "done", 40)
        old_cancelled = finished(cursor, "cancelled", 40)
        recent_done = finished(cursor, "done", 5)
        old_failed = insert_job(cursor, state="failed", date_done=_days_ago(cursor, 400))
        short_lived = finished(cursor, "done", 3, channel="root.short")
        short_lived_child = finished(cursor, "done", 3, channel="root.short.sub")
        short_but_recent = finished(cursor, "done", 1, channel="root.short")
        pending = insert_job(cursor)

    deleted = prune_finished_jobs(db)

    assert deleted == 4
    assert not {old_done, old_cancelled, short_lived, short_lived_child} & set(remaining_ids(db))
    assert remaining_ids(db) == sorted([recent_done, old_failed, short_but_recent, pending])


def test_pruning_works_in_batches_until_nothing_is_left(db):
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, state, date_done)
            SELECT 'test.model', 'run', 'done', (now() AT TIME ZONE 'UTC') - interval '90 days'
            FROM generate_series(1, 2500)
            """
        )

    assert prune_finished_jobs(db, batch_size=1000) == 2500
    assert remaining_ids(db) == []


def test_finished_jobs_never_enter_the_claim_index(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size('queue_job_claim_index')")
        (empty_size,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, state, date_done)
            SELECT 'test.model', 'run', 'done', now() AT TIME ZONE 'UTC'
            FROM generate_series(1, 20000)
            """
        )
        cursor.execute("SELECT pg_relation_size('queue_job_claim_index')")
        (size_with_finished_rows,) = cursor.fetchone()

    assert size_with_finished_rows == empty_size


def test_rate_limit_starts_are_forgotten_once_out_of_their_window(db):
    with db.cursor() as cursor:
        channel_id = add_channel(cursor, "root.api", rate_limit=5, rate_period=60)
        cursor.execute(
            """
            INSERT INTO queue_job_channel_start (channel_id, started_at)
            VALUES (%(channel)s, (now() AT TIME ZONE 'UTC') - interval '2 minutes'),
                   (%(channel)s, (now() AT TIME ZONE 'UTC') - interval '10 seconds')
            """,
            {"channel": channel_id},
        )

    assert prune_channel_starts(db) == 1
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_job_channel_start")
        assert cursor.fetchone() == (1,)
