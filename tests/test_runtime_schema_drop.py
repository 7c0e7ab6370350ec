"""Dropping the runtime schema (the module's uninstall) leaves nothing of it behind."""

import uuid

import psycopg2
import pytest
from conftest import connect, insert_job
from odoo_server import ADMIN_DATABASE, drop_database

from job_worker.engine.schema import apply_runtime_schema, drop_runtime_schema
from job_worker.engine.sql import load_query


@pytest.fixture
def tables_only(request):
    """An autocommit connection to a new database holding only the tables Odoo would
    create (``queue_job_table.sql``), without the runtime schema; dropped afterwards."""
    name = f"job_worker_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname=ADMIN_DATABASE)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    request.addfinalizer(lambda: drop_database(name))
    connection = connect(name)
    connection.autocommit = True
    request.addfinalizer(connection.close)
    with connection.cursor() as cursor:
        cursor.execute(load_query("queue_job_table"))
    return connection


def catalog(cursor):
    """The schema objects of the database, by kind, as comparable text."""
    queries = {
        "functions": "SELECT p.proname FROM pg_proc AS p"
        " JOIN pg_namespace AS n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
        "triggers": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
        "tables": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        "indexes": "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
        "defaults": "SELECT table_name || '.' || column_name || ' = ' || column_default"
        " FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_default IS NOT NULL",
    }
    snapshot = {}
    for kind, query in queries.items():
        cursor.execute(query)
        snapshot[kind] = sorted(text for (text,) in cursor.fetchall())
    return snapshot


def test_dropping_the_runtime_schema_leaves_no_engine_function_trigger_or_table(tables_only):
    with tables_only.cursor() as cursor:
        before = catalog(cursor)
        apply_runtime_schema(cursor)
        applied = catalog(cursor)

        drop_runtime_schema(cursor)

        after = catalog(cursor)
    # What the runtime schema adds (checked, so that the comparison below can fail).
    for kind in before:
        assert set(applied[kind]) > set(before[kind]), f"the runtime schema adds {kind}"
    assert after["functions"] == []
    assert after["triggers"] == []
    assert after == before


def test_the_runtime_schema_dropped_twice_or_applied_again_is_no_error(tables_only):
    with tables_only.cursor() as cursor:
        apply_runtime_schema(cursor)
        drop_runtime_schema(cursor)
        drop_runtime_schema(cursor)
        apply_runtime_schema(cursor)
        applied_again = catalog(cursor)
        job_id = insert_job(cursor, name="inserted after a reinstall")
        cursor.execute("SELECT state, channel FROM queue_job WHERE id = %s", [job_id])
        assert cursor.fetchone() == ("pending", "root")
        drop_runtime_schema(cursor)
        apply_runtime_schema(cursor)
        assert catalog(cursor) == applied_again


def test_the_runtime_schema_drops_without_its_tables(tables_only):
    with tables_only.cursor() as cursor:
        apply_runtime_schema(cursor)
        cursor.execute("DROP TABLE queue_job, queue_job_dependency_rel CASCADE")

        drop_runtime_schema(cursor)

        assert catalog(cursor)["functions"] == []
        assert "queue_job_channel_start" not in catalog(cursor)["tables"]
