"""A process's candidate runner: one candidate per database it serves.

The databases to serve are listed again every ``database_check_interval_s`` (and on
demand), so a database created, or given the addon, later is picked up without a
restart, and one that goes away loses its candidate. Each candidate runs on a daemon
thread of its own; stopping the runner steps every leader down first (so other
processes take over at once), then lets running jobs finish within their grace.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from .candidate import Candidate, CandidateStatus
from .threads import start_engine_thread

_logger = logging.getLogger(__name__)

DATABASE_CHECK_INTERVAL_S = 10.0
"""Seconds between two listings of the databases to serve."""


class CandidateRunner:
    """Keeps one :class:`~.candidate.Candidate` running per served database.

    ``list_databases()`` names the databases to serve now; an exception it raises is
    logged and the current set kept. ``make_candidate(dbname)`` builds a candidate.
    """

    def __init__(
        self,
        list_databases: Callable[[], Iterable[str]],
        make_candidate: Callable[[str], Candidate],
        database_check_interval_s: float = DATABASE_CHECK_INTERVAL_S,
    ):
        if database_check_interval_s <= 0:
            raise ValueError(
                f"database_check_interval_s must be positive, got {database_check_interval_s}"
            )
        self._list_databases = list_databases
        self._make_candidate = make_candidate
        self._interval_s = database_check_interval_s
        self._candidates: dict[str, tuple[Candidate, threading.Thread]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._recheck = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start serving on a daemon thread; returns at once. The thread, and every
        thread it starts in turn (candidates, dispatchers, job threads), blocks the
        process's signals (see :mod:`.threads`)."""
        self._thread = start_engine_thread(self._serve_databases, "job_worker-runner")

    @property
    def is_running(self) -> bool:
        """Whether the runner serves its databases (started, not stopped, thread alive)."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stopping.is_set()

    def check_databases_now(self) -> None:
        """List the databases again without waiting for the interval."""
        self._recheck.set()

    def stop(self, timeout_s: float) -> None:
        """Step every leader down, then wait up to ``timeout_s`` for candidates to stop
        (their running jobs finish or are interrupted and given back)."""
        self._stopping.set()
        self._recheck.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        with self._lock:
            running = list(self._candidates.values())
        for candidate, _ in running:
            candidate.stop()
        for _, thread in running:
            thread.join(timeout=timeout_s)

    def statuses(self) -> dict[str, CandidateStatus]:
        """Each served database's candidate status."""
        with self._lock:
            return {dbname: candidate.status for dbname, (candidate, _) in self._candidates.items()}

    # -- the loop ----------------------------------------------------------------------

    def _serve_databases(self) -> None:
        while not self._stopping.is_set():
            try:
                wanted = set(self._list_databases())
            except Exception:
                _logger.exception("listing the databases to serve failed; trying again")
            else:
                self._start_and_stop_candidates(wanted)
            self._recheck.wait(self._interval_s)
            self._recheck.clear()

    def _start_and_stop_candidates(self, wanted: set[str]) -> None:
        """Start a candidate for each new database, stop those of databases gone. A
        candidate that cannot be started is logged and tried again at the next listing."""
        stopped = []
        with self._lock:
            if self._stopping.is_set():
                return
            for dbname in [name for name in self._candidates if name not in wanted]:
                stopped.append((dbname, self._candidates.pop(dbname)[0]))
            for dbname in sorted(wanted - self._candidates.keys()):
                try:
                    self._candidates[dbname] = self._start_candidate(dbname)
                except Exception:
                    _logger.exception("the candidate for %s could not start", dbname)
                    continue
                _logger.info("serving database %s", dbname)
        for dbname, candidate in stopped:
            _logger.info("no longer serving database %s", dbname)
            candidate.stop()

    def _start_candidate(self, dbname: str) -> tuple[Candidate, threading.Thread]:
        candidate = self._make_candidate(dbname)
        return candidate, start_engine_thread(candidate.run, f"job_worker-candidate-{dbname}")
