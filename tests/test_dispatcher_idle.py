"""An idle dispatcher costs one cheap query per recovery interval, and wakes on events."""

import threading
import time

import psycopg2.extensions
from psycopg_job_transaction import psycopg_transaction_factory
from support import insert_job

from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig

IDLE_SECONDS = 3.0


class CountingCursor(psycopg2.extensions.cursor):
    """Counts the statements sent through the dispatcher's engine connection."""

    statements: list[str] = []

    def execute(self, query, vars=None):
        CountingCursor.statements.append(query if isinstance(query, str) else query.decode())
        return super().execute(query, vars)


def test_an_idle_dispatcher_sends_at_most_one_query_per_recovery_interval(database, db):
    CountingCursor.statements = []
    done = []

    def connect():
        connection = connect_engine({"dbname": database}, "job_worker:test-idle")
        connection.cursor_factory = CountingCursor
        return connection

    dispatcher = Dispatcher(
        connect,
        psycopg_transaction_factory(database, {"note": lambda cursor: done.append(1)}),
        DispatcherConfig(max_threads=2, recovery_interval_s=1.0),
    )
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # start-up: LISTEN, a first claim, a first timer query
        settled = len(CountingCursor.statements)
        time.sleep(IDLE_SECONDS)
        idle_statements = CountingCursor.statements[settled:]

        with db.cursor() as cursor:
            insert_job(cursor, method_name="note")
        deadline = time.monotonic() + 5
        while not done and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        dispatcher.stop()
        thread.join(timeout=15)

    assert len(idle_statements) <= IDLE_SECONDS + 1, idle_statements
    assert all("recover" in statement.lower() for statement in idle_statements), idle_statements
    assert done == [1], "the job enqueued after the idle spell ran"
