"""How many requests may process the jobs of one database at once, counted in
PostgreSQL so that the limit holds across every worker process and host.

A request that processes holds a connection named ``job_worker:request:…`` for as long
as it does; it goes on only when fewer than the limit of those started before it
(``sql/request_processors_ahead.sql``). The others answer at once: an HTTP worker held by
a long processing is a worker that serves no user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager

from .connection import connect_engine, engine_application_name
from .sql import load_query

REQUEST_ROLE = "request"
"""The role in the application_name of a request processor's admission connection."""
REQUEST_PREFIX = f"job_worker:{REQUEST_ROLE}:"
MAX_CONCURRENT_REQUESTS = 1
"""Requests processing jobs of one database at once, by default: on a server of two HTTP
workers, a second request leaves its worker to users."""


@contextmanager
def request_admission(connection_params: dict, limit: int) -> Iterator[int | None]:
    """Hold an admission connection while the block runs; yield ``None`` when this
    request may process, else how many requests process already (it must not)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    connection = connect_engine(connection_params, engine_application_name(REQUEST_ROLE))
    with closing(connection):
        connection.autocommit = True  # idle between statements, never "idle in transaction"
        with connection.cursor() as cursor:
            cursor.execute(load_query("request_processors_ahead"), {"prefix": REQUEST_PREFIX})
            (ahead,) = cursor.fetchone()
        yield None if ahead < limit else ahead
