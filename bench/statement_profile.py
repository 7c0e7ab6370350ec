"""Where a run spends its database time: statements counted and timed by name.

A psycopg2 ``connection_factory`` (:class:`ProfiledConnection`) whose cursors time each
``execute`` and whose ``commit`` is timed too. Times are wall-clock round trips seen by
the client (server work + network + waiting for locks), summed per statement name: the
engine's queries by their ``sql/*.sql`` name, other statements by their first words.
The engine passes its connection parameters through to ``psycopg2.connect``, so
``connect_engine({"dbname": ..., "connection_factory": ProfiledConnection}, name)``
profiles the dispatcher's own connection too.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2.extensions

from job_worker.engine.sql import SQL_FOLDER, load_query


class StatementProfile:
    """Count and total seconds per statement name, filled from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._names = {load_query(path.stem): path.stem for path in Path(SQL_FOLDER).glob("*.sql")}
        self.enabled = False
        self.reset()

    def reset(self):
        with self._lock:
            self.count = defaultdict(int)
            self.seconds = defaultdict(float)

    def name_of(self, query) -> str:
        if isinstance(query, bytes):
            query = query.decode()
        if not isinstance(query, str):
            query = str(query)
        name = self._names.get(query)
        if name is not None:
            return name
        return " ".join(query.split()[:3])[:40]

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.count[name] += 1
            self.seconds[name] += seconds

    def rows(self):
        """(name, count, total seconds) by total time, largest first."""
        with self._lock:
            items = [(name, self.count[name], self.seconds[name]) for name in self.count]
        return sorted(items, key=lambda item: item[2], reverse=True)


PROFILE = StatementProfile()


class ProfiledCursor(psycopg2.extensions.cursor):
    def execute(self, query, vars=None):
        if not PROFILE.enabled:
            return super().execute(query, vars)
        start = time.perf_counter()
        try:
            return super().execute(query, vars)
        finally:
            PROFILE.add(PROFILE.name_of(query), time.perf_counter() - start)


class ProfiledConnection(psycopg2.extensions.connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cursor_factory = ProfiledCursor

    def commit(self):
        if not PROFILE.enabled:
            return super().commit()
        start = time.perf_counter()
        try:
            return super().commit()
        finally:
            PROFILE.add("COMMIT", time.perf_counter() - start)
