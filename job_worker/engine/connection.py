"""The engine's own database connections, named so that their owner can be told apart."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

import psycopg2
import psycopg2.extensions

Connection: TypeAlias = psycopg2.extensions.connection
"""A psycopg2 connection: what the engine's public functions take and return."""


class Cursor(Protocol):
    """What the engine needs of a cursor: a psycopg2 cursor, or Odoo's (which wraps one)."""

    def execute(self, query: Any, params: Any = None) -> Any:
        """Run ``query`` with ``params``."""

    def fetchone(self) -> tuple | None:
        """The next row of the last query."""

    def fetchall(self) -> list[tuple]:
        """The remaining rows of the last query."""


ENGINE_SESSION_OPTIONS = "-c jit=off"
"""The engine's queries run in about a millisecond; PostgreSQL's JIT (on by default) can
spend a hundred times that compiling them when the planner overestimates a large table."""

APPLICATION_NAME_MAX_LENGTH = 63
"""PostgreSQL truncates longer application names (NAMEDATALEN - 1)."""


def connect_engine(connection_params: dict, application_name: str) -> Connection:
    """Open a READ COMMITTED psycopg2 connection outside any pool, named ``application_name``.

    The claim relies on READ COMMITTED: under REPEATABLE READ (Odoo's default), locking
    a row another processor changed since the snapshot would fail instead of skipping it.
    JIT compilation is turned off for the session (:data:`ENGINE_SESSION_OPTIONS`).
    """
    if len(application_name.encode()) > APPLICATION_NAME_MAX_LENGTH:
        raise ValueError(
            f"application_name {application_name!r} is longer than "
            f"{APPLICATION_NAME_MAX_LENGTH} bytes; PostgreSQL would truncate it"
        )
    options = " ".join(filter(None, [connection_params.get("options"), ENGINE_SESSION_OPTIONS]))
    connection = psycopg2.connect(
        **{**connection_params, "application_name": application_name, "options": options}
    )
    connection.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED)
    return connection


def engine_application_name(role: str) -> str:
    """``job_worker:<role>:<random>:<os pid>``: unique to one owner of jobs, as pids repeat
    across hosts and containers, and telling an operator which process it is."""
    return f"job_worker:{role}:{secrets.token_hex(4)}:{os.getpid()}"


def rollback_quietly(connection: Connection) -> None:
    """Roll back after an error without hiding it: a broken connection cannot roll back."""
    with contextlib.suppress(psycopg2.Error):
        connection.rollback()


def cancel_backend_statement(connect: Callable[[], Connection], backend_pid: int) -> None:
    """Cancel the statement a PostgreSQL backend is running (a job past its timeout).

    ``connect()`` opens a connection for the purpose, closed at once: the connections
    that exist may be busy.
    """
    connection = connect()
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [backend_pid])
    finally:
        connection.close()
