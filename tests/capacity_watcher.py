"""Watching a queue under load from outside: the most jobs each channel ever had started
at once, and any advisory lock, sampled every 20 ms by a thread of the test."""

import threading
from collections import Counter

from support import connect

EVERY_CHANNEL = "(all, under root)"
"""The key of :attr:`CapacityWatcher.most_started` counting every channel together."""


class CapacityWatcher:
    """A thread sampling every 20 ms the started jobs of each channel (and of all of
    them, which all run under root) and any advisory lock held in the database, keeping
    the most seen, until :meth:`stop`."""

    def __init__(self, database):
        self._connection = connect(database, application_name="job_worker:test-watcher")
        self._connection.autocommit = True
        self.most_started = Counter()
        self.advisory_locks = []
        self.samples = 0
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        try:
            with self._connection.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute(
                        "SELECT channel, count(*) FROM queue_job WHERE state = 'started'"
                        " GROUP BY channel"
                    )
                    started = dict(cursor.fetchall())
                    started[EVERY_CHANNEL] = sum(started.values())
                    for channel, count in started.items():
                        self.most_started[channel] = max(self.most_started[channel], count)
                    cursor.execute(
                        "SELECT pid, objid FROM pg_locks WHERE locktype = 'advisory' AND"
                        " database = (SELECT oid FROM pg_database"
                        "             WHERE datname = current_database())"
                    )
                    self.advisory_locks.extend(cursor.fetchall())
                    self.samples += 1
                    self._stop.wait(0.02)
        except Exception as error:  # reported by stop(): a dead watcher proves nothing
            self.error = error

    def stop(self):
        """Stop sampling (idempotent); fail if the watcher itself failed."""
        self._stop.set()
        self._thread.join()
        if not self._connection.closed:
            self._connection.close()
        assert self.error is None, f"the watcher failed: {self.error!r}"
