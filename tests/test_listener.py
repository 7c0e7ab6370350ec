"""The listener the dispatcher and the candidate sleep on: notifications, wake-ups, backoff."""

import threading
import time

import psycopg2
import pytest

from job_worker.engine.connection import connect_engine
from job_worker.engine.listener import RECONNECT_JITTER, Listener

CHANNEL = "job_worker_test_listener"
SHORT_WAIT_S = 0.2
"""A wait that must time out: nothing is sent."""
LONG_WAIT_S = 10.0
"""A wait that must end early: something is sent."""


def listening(database, opened=None):
    """An ``open_connection`` LISTENing on :data:`CHANNEL`; ``opened`` collects them."""

    def open_connection():
        connection = connect_engine({"dbname": database}, "job_worker:test-listener")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        if opened is not None:
            opened.append(connection)
        return connection

    return open_connection


@pytest.fixture
def listener(database):
    listener = Listener(listening(database), reconnect_backoff_s=(0.1, 0.4))
    yield listener
    listener.close()


def notify(db):
    with db.cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}")


def timed_wait(listener, timeout_s):
    started = time.monotonic()
    woken = listener.wait(timeout_s)
    return woken, time.monotonic() - started


def test_a_wait_with_nothing_sent_times_out_and_says_so(listener):
    listener.connect()
    woken, waited_s = timed_wait(listener, SHORT_WAIT_S)
    assert (woken, waited_s >= SHORT_WAIT_S * 0.9) == (False, True)


def test_a_notification_ends_the_wait_and_is_consumed(listener, db):
    listener.connect()
    threading.Timer(0.1, notify, [db]).start()
    woken, waited_s = timed_wait(listener, LONG_WAIT_S)
    assert woken and waited_s < LONG_WAIT_S / 2
    assert listener.connection.notifies == []
    assert timed_wait(listener, SHORT_WAIT_S)[0] is False  # consumed: not seen twice


def test_a_notification_read_with_a_query_answer_ends_the_next_wait_at_once(listener, db):
    connection = listener.connect()
    notify(db)
    with connection.cursor() as cursor:  # psycopg2 reads it with this answer
        cursor.execute("SELECT 1")
    assert connection.notifies  # already read: the socket will stay quiet
    woken, waited_s = timed_wait(listener, LONG_WAIT_S)
    assert woken and waited_s < 1.0


def test_a_wake_from_another_thread_ends_the_wait_and_many_wake_ups_wake_it_once(listener):
    listener.connect()
    threading.Timer(0.1, listener.wake).start()
    woken, waited_s = timed_wait(listener, LONG_WAIT_S)
    assert woken and waited_s < LONG_WAIT_S / 2

    for _ in range(100_000):  # more than a pipe holds: a waker never blocks
        listener.wake()
    assert listener.wait(LONG_WAIT_S) is True
    assert listener.wait(SHORT_WAIT_S) is False


def test_wake_ups_after_close_are_ignored_even_from_other_threads(database):
    listener = Listener(listening(database), reconnect_backoff_s=(0.1, 0.4))
    listener.connect()
    stop = threading.Event()
    errors = []

    def keep_waking():
        try:
            while not stop.is_set():
                listener.wake()
        except Exception as error:
            errors.append(error)

    wakers = [threading.Thread(target=keep_waking) for _ in range(4)]
    for waker in wakers:
        waker.start()
    time.sleep(0.05)
    listener.close()
    time.sleep(0.05)
    stop.set()
    for waker in wakers:
        waker.join()

    assert errors == []
    assert listener.connection is None


def test_a_broken_connection_is_replaced_by_a_listening_one_on_the_next_connect(database, db):
    opened = []
    listener = Listener(listening(database, opened), reconnect_backoff_s=(0.1, 0.4))
    try:
        first = listener.connect()
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first.info.backend_pid])
        with pytest.raises(psycopg2.OperationalError), first.cursor() as cursor:
            cursor.execute("SELECT 1")
        listener.disconnect()

        second = listener.connect()
        threading.Timer(0.1, notify, [db]).start()
        assert listener.wait(LONG_WAIT_S) is True
        assert second is not first and opened == [first, second]
    finally:
        listener.close()


def test_the_reconnection_wait_doubles_up_to_its_largest_and_starts_over_once_connected(
    listener,
):
    low, high = RECONNECT_JITTER
    waits = [listener.next_reconnect_wait_s() for _ in range(5)]
    for wait_s, backoff_s in zip(waits, [0.1, 0.2, 0.4, 0.4, 0.4], strict=True):
        assert backoff_s * low <= wait_s <= backoff_s * high

    listener.connect()
    assert 0.1 * low <= listener.next_reconnect_wait_s() <= 0.1 * high


def test_a_backoff_that_cannot_work_is_refused_naming_it(database):
    with pytest.raises(ValueError, match=r"reconnect_backoff_s .* got \(5\.0, 1\.0\)"):
        Listener(listening(database), reconnect_backoff_s=(5.0, 1.0))
