"""Fixtures for the framework-free tests: a real PostgreSQL database with the queue schema.

PostgreSQL is reached through libpq's usual environment (PGHOST, PGPORT, PGUSER, …).
These tests never skip when it is unreachable: they fail, loudly.
"""

import engine_import  # noqa: F401  (before anything from job_worker)
import pytest
from dispatcher_processes import DispatcherProcesses, create_job_logs, drop_job_logs
from odoo_server import create_database_with, drop_database
from support import PROCESSOR, connect, create_queue_database, drop_queue_database

from job_worker.engine.connection import connect_engine


@pytest.fixture(scope="session")
def database():
    """Name of a fresh database with the queue schema, dropped at the end of the session."""
    name = create_queue_database()
    yield name
    drop_queue_database(name)


@pytest.fixture(scope="module")
def odoo_database(request):
    """A database with the test module's ``ODOO_MODULES`` installed, dropped after it."""
    name = create_database_with(request.module.ODOO_MODULES)
    yield name
    drop_database(name)


@pytest.fixture
def observed(odoo_database):
    """An autocommit connection to the Odoo database, to look at it from outside."""
    connection = connect(odoo_database, application_name="job_worker:test-observer")
    connection.autocommit = True
    yield connection
    connection.close()


@pytest.fixture
def db(database):
    """An autocommit connection to the test database: an empty queue, and only the root
    channel, with no capacity limit (tests of channels configure their own)."""
    connection = connect(database, application_name="job_worker:test")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE queue_job, queue_job_dependency_rel, queue_job_channel_start,"
            " queue_job_function RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM queue_job_channel WHERE parent_id IS NOT NULL")
        cursor.execute(
            "UPDATE queue_job_channel SET capacity = NULL, sequential = NULL,"
            " rate_limit = NULL, rate_period = NULL, paused = NULL WHERE parent_id IS NULL"
        )
    yield connection
    connection.close()


@pytest.fixture
def engine_connection(database, db):
    """Opens engine connections (``connect_engine``) under the names asked for, on an
    empty queue; every one is closed when the test ends."""
    opened = []

    def open_named(application_name):
        connection = connect_engine({"dbname": database}, application_name)
        opened.append(connection)
        return connection

    yield open_named
    for connection in opened:
        connection.close()


@pytest.fixture
def processor(engine_connection):
    """The engine connection that claims, as :data:`~support.PROCESSOR`, on an empty queue."""
    return engine_connection(PROCESSOR)


@pytest.fixture
def job_logs(db):
    """The attempt and execution logs that dispatcher children write, dropped afterwards."""
    with db.cursor() as cursor:
        create_job_logs(cursor)
    yield
    with db.cursor() as cursor:
        drop_job_logs(cursor)


@pytest.fixture
def dispatchers(database, db, job_logs):
    """Start dispatcher children; every one still alive is killed when the test ends."""
    processes = DispatcherProcesses(database, db)
    try:
        yield processes
    finally:
        processes.close()
