"""Fixtures for the framework-free tests: a real PostgreSQL database with the queue schema.

PostgreSQL is reached through libpq's usual environment (PGHOST, PGPORT, PGUSER, …).
These tests never skip when it is unreachable: they fail, loudly.
"""

import uuid

import engine_import  # noqa: F401  (before anything from job_worker)
import psycopg2
import pytest
from dispatcher_processes import DispatcherProcesses, create_job_logs, drop_job_logs
from odoo_server import ADMIN_DATABASE, create_database_with, drop_database

from job_worker.engine.schema import install_schema


def connect(dbname, **params):
    """A psycopg2 connection to ``dbname`` (libpq environment for the rest)."""
    return psycopg2.connect(dbname=dbname, **params)


def create_queue_database():
    """A new empty database with the queue schema (no Odoo); return its name."""
    name = f"job_worker_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = connect(ADMIN_DATABASE)
    except psycopg2.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is unreachable ({error}). The engine tests need a real PostgreSQL: "
            "start it, or point PGHOST/PGPORT/PGUSER at one.",
            pytrace=False,
        )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    try:
        with connect(name) as connection, connection.cursor() as cursor:
            install_schema(cursor)
        connection.close()
    except BaseException:
        drop_database(name)
        raise
    return name


@pytest.fixture(scope="session")
def database():
    """Name of a fresh database with the queue schema, dropped at the end of the session."""
    name = create_queue_database()
    yield name
    drop_database(name)


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


def add_channel(cursor, complete_name, **values):
    """Configure a channel under its parent (which must exist); return its id."""
    parent_name, _, name = complete_name.rpartition(".")
    cursor.execute("SELECT id FROM queue_job_channel WHERE complete_name = %s", [parent_name])
    (parent_id,) = cursor.fetchone()
    values = {"removal_interval": 30, **values}
    columns = ", ".join(["name", "complete_name", "parent_id", *values])
    placeholders = ", ".join(["%s"] * (3 + len(values)))
    cursor.execute(
        f"INSERT INTO queue_job_channel ({columns}) VALUES ({placeholders}) RETURNING id",
        [name, complete_name, parent_id, *values.values()],
    )
    return cursor.fetchone()[0]


def set_root_channel(cursor, **values):
    """Change the root channel's settings (capacity, paused, …)."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    cursor.execute(
        f"UPDATE queue_job_channel SET {assignments} WHERE parent_id IS NULL", list(values.values())
    )


def insert_job(cursor, **values):
    """Insert a job with plain SQL (the table's defaults fill the rest); return its id."""
    values.setdefault("model_name", "test.model")
    values.setdefault("method_name", "run")
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({column})s" for column in values)
    cursor.execute(
        f"INSERT INTO queue_job ({columns}) VALUES ({placeholders}) RETURNING id", values
    )
    return cursor.fetchone()[0]


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
