"""The queue's database schema, shared by the Odoo model and the engine.

Odoo creates the ``queue_job`` table from the model's fields; :func:`install_schema`
creates the same table where there is no Odoo (the engine's tests and benchmarks).
Both then apply :func:`apply_runtime_schema`: defaults, the claim index and the NOTIFY
triggers; :func:`drop_runtime_schema` takes all of that away again (the module's
uninstall). The Odoo suite checks that both tables have the same columns.
"""

from __future__ import annotations

from .connection import Cursor
from .sql import load_query

ROOT_CHANNEL = "root"
"""Every channel descends from it; a job whose channel is not configured runs in it."""
NOTIFY_CHANNEL = "job_worker"
"""The LISTEN channel the triggers notify when a job becomes runnable (payload: its channel)."""


def apply_runtime_schema(cursor: Cursor) -> None:
    """Apply the defaults, indexes and triggers the engine relies on (idempotent).

    ``cursor`` is any DB-API cursor: psycopg2's or Odoo's.
    """
    cursor.execute(load_query("queue_job_runtime"))


def drop_runtime_schema(cursor: Cursor) -> None:
    """Drop what :func:`apply_runtime_schema` added: triggers, functions, indexes,
    defaults and the rate-limit bookkeeping table (idempotent; the tables' rows stay).

    ``cursor`` is any DB-API cursor: psycopg2's or Odoo's.
    """
    cursor.execute(load_query("queue_job_runtime_drop"))


def install_schema(cursor: Cursor) -> None:
    """Create the queue's tables without Odoo, then apply the runtime schema (idempotent)."""
    cursor.execute(load_query("queue_job_table"))
    apply_runtime_schema(cursor)
