"""Storing channel specifications in queue_job_channel on a real PostgreSQL: parents
first, only what differs, and concurrent appliers that leave the work to one another."""

import threading
import time

import pytest
from conftest import add_channel, connect

from job_worker.engine.channel_spec import parse_channel_specification
from job_worker.engine.channel_store import (
    DEFAULT_REMOVAL_INTERVAL_DAYS,
    ChannelConflictError,
    store_channel_specs,
)

SETTINGS = "capacity, sequential, rate_limit, rate_period, paused, removal_interval"
USER_ID = 7
SHORT_LOCK_TIMEOUT_MS = 200
BLOCKED_FOR_S = 0.5
"""How long a second applier is left waiting on the first one's rows."""
THREAD_JOIN_S = 30.0


@pytest.fixture
def applier(database, db):
    """A connection that stores specifications in a transaction of its own."""
    connection = connect(database, application_name="job_worker:test-channel-store")
    yield connection
    connection.close()


@pytest.fixture
def other_applier(database, db):
    """A second process's connection, storing at the same time."""
    connection = connect(database, application_name="job_worker:test-channel-store-2")
    yield connection
    connection.close()


def store(connection, specification, **options):
    with connection.cursor() as cursor:
        return store_channel_specs(
            cursor, parse_channel_specification(specification), user_id=USER_ID, **options
        )


def channels(db):
    """Every channel: its parent's complete name and its settings, by complete name."""
    with db.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT channel.complete_name, channel.name, parent.complete_name, {
                ", ".join(f"channel.{column}" for column in SETTINGS.split(", "))
            }
            FROM queue_job_channel AS channel
            LEFT JOIN queue_job_channel AS parent ON parent.id = channel.parent_id
            ORDER BY channel.complete_name
            """
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def write_dates(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT complete_name, write_date, write_uid FROM queue_job_channel")
        return {name: (written, uid) for name, written, uid in cursor.fetchall()}


def test_channels_are_created_parents_first_with_the_specification_s_settings(db, applier):
    stored = store(applier, "root:4,root.sale.eu:2:throttle=2,edi:1:sequential,api:0:rate=10/60")
    applier.commit()

    assert stored.created == ["root.edi", "root.api", "root.sale", "root.sale.eu"]
    assert stored.updated == ["root"]
    interval = DEFAULT_REMOVAL_INTERVAL_DAYS
    assert channels(db) == {
        # root's empty columns already meant what root:4 says but its capacity.
        "root": ("root", None, 4, None, None, None, None, 30),
        "root.api": ("api", "root", 0, False, 10, 60, False, interval),
        "root.edi": ("edi", "root", 1, True, 0, 1, False, interval),
        # A parent created on the way has no limit of its own, as in OCA.
        "root.sale": ("sale", "root", 0, False, 0, 1, False, interval),
        "root.sale.eu": ("eu", "root.sale", 2, False, 1, 2, False, interval),
    }
    assert {uid for _, uid in write_dates(db).values()} == {USER_ID}


def test_a_parent_named_after_its_child_is_created_first_with_its_own_settings(db, applier):
    stored = store(applier, "root.sale.eu:2,root.sale:3:paused")
    applier.commit()

    assert stored.created == ["root.sale", "root.sale.eu"]
    assert channels(db)["root.sale"][2:6] == (3, False, 0, 1)
    assert channels(db)["root.sale"][6] is True
    assert channels(db)["root.sale.eu"][1] == "root.sale"


def test_new_channels_take_the_caller_s_defaults_where_the_entry_sets_none(db, applier):
    store(applier, "root.sale:2", new_channel_values={"removal_interval": 90})
    applier.commit()

    assert channels(db)["root.sale"][-1] == 90


def test_storing_the_same_specification_again_writes_nothing(db, applier):
    store(applier, "root:4,root.sale:2:throttle=2")
    applier.commit()
    before = write_dates(db)

    stored = store(applier, "root:4,root.sale:2:throttle=2")
    applier.commit()

    assert (stored.created, stored.updated) == ([], [])
    assert write_dates(db) == before


def test_empty_columns_that_mean_what_the_specification_says_are_not_rewritten(db, applier):
    # The root channel's columns are NULL (no limit): root:0 says the same.
    before = write_dates(db)

    stored = store(applier, "root:0")
    applier.commit()

    assert (stored.created, stored.updated) == ([], [])
    assert write_dates(db) == before


def test_only_the_settings_that_differ_are_written_and_unnamed_channels_keep_theirs(db, applier):
    with db.cursor() as cursor:
        add_channel(
            cursor, "root.sale", capacity=9, rate_limit=3, rate_period=7, removal_interval=7
        )
        add_channel(cursor, "root.other", capacity=5, sequential=True)
    other_before = channels(db)["root.other"]

    stored = store(applier, "root.sale:2")
    applier.commit()

    assert stored.updated == ["root.sale"]
    # capacity and the rate limit are the specification's; its period and the removal
    # interval, which it does not set, are left as they were.
    assert channels(db)["root.sale"][2:] == (2, None, 0, 7, None, 7)
    assert channels(db)["root.other"] == other_before


def test_a_specification_pauses_a_channel_but_never_resumes_it(db, applier):
    store(applier, "root.sale:2:paused")
    applier.commit()

    stored = store(applier, "root.sale:2,root.edi:1")
    applier.commit()

    assert channels(db)["root.sale"][6] is True
    assert stored.still_paused == ["root.sale"]


def test_the_lock_timeout_is_set_back_once_the_channels_are_written(applier):
    with applier.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1234ms'")
        store(applier, "root:3,root.sale:2")
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone() == ("1234ms",)
    applier.rollback()


def store_in_thread(connection, specification, **options):
    """Start storing ``specification`` on a thread; the thread's outcome goes in the dict."""
    outcome = {}

    def run():
        try:
            outcome["stored"] = store(connection, specification, **options)
        except Exception as error:
            outcome["error"] = error
            connection.rollback()
        else:
            connection.commit()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_two_appliers_creating_the_same_channels_at_once_leave_them_to_the_first(
    db, applier, other_applier
):
    first = store(applier, "root:3,root.sale.eu:2")
    second, outcome = store_in_thread(other_applier, "root:3,root.sale.eu:2")
    time.sleep(BLOCKED_FOR_S)
    assert second.is_alive(), "the second applier waits for the first one's rows"

    applier.commit()
    second.join(THREAD_JOIN_S)

    error = outcome["error"]
    assert isinstance(error, ChannelConflictError)
    assert error.lock_timeout is False
    assert error.channel == "root.sale"
    assert "another transaction changed it meanwhile" in str(error)
    assert first.created == ["root.sale", "root.sale.eu"]
    assert sorted(channels(db)) == ["root", "root.sale", "root.sale.eu"]  # no duplicate
    assert channels(db)["root"][2] == 3
    assert channels(db)["root.sale.eu"][2] == 2
    # The second applier's next try finds everything applied.
    stored = store(other_applier, "root:3,root.sale.eu:2")
    assert (stored.created, stored.updated) == ([], [])


def test_two_appliers_updating_the_same_channel_at_once_both_end_as_specified(
    db, applier, other_applier
):
    with db.cursor() as cursor:
        add_channel(cursor, "root.sale", capacity=9)

    first = store(applier, "root.sale:2")
    second, outcome = store_in_thread(other_applier, "root.sale:2")
    time.sleep(BLOCKED_FOR_S)
    applier.commit()
    second.join(THREAD_JOIN_S)

    # Under READ COMMITTED the second one waits, then writes the same values.
    assert first.updated == ["root.sale"]
    assert "error" not in outcome
    assert channels(db)["root.sale"][2] == 2


def test_a_channel_held_past_the_lock_timeout_is_reported_naming_it(db, applier, other_applier):
    with other_applier.cursor() as cursor:  # another transaction holds root's row
        cursor.execute("SELECT id FROM queue_job_channel WHERE complete_name = 'root' FOR UPDATE")
    started = time.monotonic()

    with pytest.raises(ChannelConflictError) as raised:
        store(applier, "root:7,root.sale:2", lock_timeout_ms=SHORT_LOCK_TIMEOUT_MS)

    waited = time.monotonic() - started
    applier.rollback()
    other_applier.rollback()
    error = raised.value
    assert error.lock_timeout is True
    assert error.channel == "root"
    assert str(error) == (
        f"channel root: another transaction has held its row for more than "
        f"{SHORT_LOCK_TIMEOUT_MS} ms (LockNotAvailable: canceling statement due to lock timeout)"
    )
    assert waited < THREAD_JOIN_S
    assert sorted(channels(db)) == ["root"]
    assert channels(db)["root"][2] is None  # nothing of the specification stands


def test_a_lock_timeout_below_one_millisecond_is_refused(applier):
    with pytest.raises(ValueError, match="lock_timeout_ms must be at least 1, got 0"):
        store(applier, "root:1", lock_timeout_ms=0)
