"""The dispatcher: the loop that keeps a processor's worker threads busy with due jobs.

One dispatcher per database and process. It holds one engine connection, named after
the processor: it LISTENs for new jobs, claims through it (so its ``application_name``
owns the jobs), and recovers orphans. Worker threads run the claimed jobs, each in its
own transaction. Between claims it sleeps until a notification, a finished job, the next
ETA, or its periodic recovery check: an idle dispatcher costs one cheap query per
``recovery_interval_s``.

A broken connection is reopened with backoff; jobs running in worker threads carry on
(they use their own connections). Stopping stops claiming, lets running jobs finish
within a budget, then interrupts them and gives them back uncounted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psycopg2

from .claim import ClaimedJob, claim_due_jobs
from .connection import cancel_backend_statement, rollback_quietly
from .execution import JobTransactionFactory, execute_claimed_job
from .job_slots import JobSlots
from .recovery import ORPHAN_GRACE_S, recover_orphaned_jobs
from .schema import NOTIFY_CHANNEL
from .timeouts import DEFAULT_JOB_TIMEOUT_S, ExecutionWatchdog
from .wakeup import read_next_wakeup

_logger = logging.getLogger(__name__)

RECOVERY_INTERVAL_S = 1.0
"""Seconds between two recovery checks; also the longest idle sleep."""
SHUTDOWN_GRACE_S = 10.0
"""Seconds running jobs get to finish when the dispatcher stops, before interruption."""
RECONNECT_BACKOFF_S = (0.1, 5.0)
"""First and largest wait before reopening a broken engine connection (doubling)."""
MAX_WORKERS = 4
"""Worker threads, so jobs running at once in this process (channels may allow fewer)."""


@dataclass(frozen=True)
class DispatcherConfig:
    """How a dispatcher runs; every field has a named default."""

    max_workers: int = MAX_WORKERS
    recovery_interval_s: float = RECOVERY_INTERVAL_S
    orphan_grace_s: float = ORPHAN_GRACE_S
    shutdown_grace_s: float = SHUTDOWN_GRACE_S
    default_timeout_s: float | None = DEFAULT_JOB_TIMEOUT_S
    reconnect_backoff_s: tuple[float, float] = RECONNECT_BACKOFF_S

    def __post_init__(self):
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {self.max_workers}")
        if self.recovery_interval_s <= 0:
            raise ValueError(
                f"recovery_interval_s must be positive, got {self.recovery_interval_s}"
            )
        if self.orphan_grace_s < 0:
            raise ValueError(f"orphan_grace_s must not be negative, got {self.orphan_grace_s}")
        if self.shutdown_grace_s < 0:
            raise ValueError(f"shutdown_grace_s must not be negative, got {self.shutdown_grace_s}")


class Dispatcher:
    """Claims due jobs and runs them on worker threads until stopped.

    ``connect()`` opens the engine connection (see :func:`~.connection.connect_engine`);
    its ``application_name`` must be unique to this process. ``open_transaction`` runs a
    job (see :mod:`.execution`). ``on_outcome`` is called after each job, from its thread.
    ``may_claim()``, asked before every claim, lets an elected leader stop claiming the
    moment it learns it no longer leads, before it is stopped. ``job_slots``, shared by
    a process's dispatchers, bounds the jobs they run at once all together.
    """

    def __init__(
        self,
        connect: Callable[[], object],
        open_transaction: JobTransactionFactory,
        config: DispatcherConfig | None = None,
        on_outcome: Callable[[object], None] | None = None,
        may_claim: Callable[[], bool] | None = None,
        job_slots: JobSlots | None = None,
    ):
        self.config = config or DispatcherConfig()
        self._connect = connect
        self._open_transaction = open_transaction
        self._on_outcome = on_outcome
        self._may_claim = may_claim or (lambda: True)
        self._job_slots = job_slots or JobSlots(self.config.max_workers)
        self._connection = None
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        self._tasks: queue.SimpleQueue[ClaimedJob | None] = queue.SimpleQueue()
        self._running = 0
        self._in_flight: set[int] = set()  # ids of jobs claimed and not yet settled
        self._running_lock = threading.Lock()
        self._pipe_closed = False
        self._idle = threading.Condition(self._running_lock)
        self._threads: list[threading.Thread] = []
        self._watchdog = ExecutionWatchdog(
            partial(cancel_backend_statement, connect), self.config.default_timeout_s
        )
        self._next_recovery = 0.0

    # -- public ------------------------------------------------------------------------

    def run(self) -> None:
        """Run until :meth:`stop` is called (from another thread); then shut down."""
        self._start_threads()
        backoff = self.config.reconnect_backoff_s[0]
        try:
            while not self._stopping.is_set():
                try:
                    self._ensure_connection()
                    # Open again: the next loss is a new one, not one more failed attempt.
                    backoff = self.config.reconnect_backoff_s[0]
                    self._dispatch_until_stopped()
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                    self._drop_connection()
                    if self._stopping.is_set():
                        break
                    wait = backoff * random.uniform(0.5, 1.0)
                    _logger.warning(
                        "engine connection lost (%s); reconnecting in %.1fs",
                        str(error).strip() or type(error).__name__,
                        wait,
                    )
                    self._stopping.wait(wait)
                    backoff = min(backoff * 2, self.config.reconnect_backoff_s[1])
        finally:
            self._shut_down()

    def stop(self) -> None:
        """Ask :meth:`run` to stop claiming and shut down; returns at once."""
        self._stopping.set()
        self._wake()

    @property
    def running_jobs(self) -> int:
        """Jobs claimed by this dispatcher and not settled yet."""
        with self._running_lock:
            return self._running

    # -- the loop ----------------------------------------------------------------------

    def _dispatch_until_stopped(self) -> None:
        connection = self._connection
        claim_needed = True  # something may be claimable: claim before sleeping
        timer_at = None  # when a timer (next ETA, rate window) makes a claim worth trying
        with selectors.DefaultSelector() as selector:
            selector.register(connection, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if self._recover_when_due(connection):
                    claim_needed = True
                if timer_at is not None and time.monotonic() >= timer_at:
                    claim_needed, timer_at = True, None
                free = self.config.max_workers - self.running_jobs
                # With no job slot free (jobs of other databases hold the process's
                # slots), the claim stays needed: tried again when a job ends, at the
                # latest at the next recovery tick.
                slots = self._job_slots.reserve(free) if claim_needed and free > 0 else 0
                if slots and self._may_claim():
                    claimed = self._claim(connection, slots)
                    for job in claimed:
                        with self._running_lock:
                            self._running += 1
                            self._in_flight.add(job.id)
                        self._tasks.put(job)
                    if claimed:
                        continue  # more may be due: claim again while threads are free
                    claim_needed, timer_at = False, self._next_wakeup(connection)
                elif slots:
                    self._job_slots.release(slots)
                timeout = self._until_recovery()
                if timer_at is not None:
                    timeout = min(timeout, timer_at - time.monotonic())
                if self._wait(selector, connection, timeout):
                    claim_needed = True

    def _claim(self, connection, slots: int) -> list[ClaimedJob]:
        """Claim up to ``slots`` jobs on reserved job slots; give back those not filled."""
        claimed = []
        try:
            claimed = claim_due_jobs(connection, slots)
        finally:
            self._job_slots.release(slots - len(claimed))
        return claimed

    def _wait(self, selector, connection, timeout_s: float) -> bool:
        """Sleep until a notification, a finished job, or the timeout; tell which."""
        if connection.notifies:
            # Delivered with the answer to one of our own queries (a notification reaches a
            # listener between its transactions): already read, the socket stays quiet.
            connection.notifies.clear()
            return True
        woken = False
        for key, _ in selector.select(timeout=max(0.0, timeout_s)):
            woken = True
            if key.fileobj is connection:
                connection.poll()
                connection.notifies.clear()
            else:
                os.read(self._wake_read, 4096)
        return woken

    def _next_wakeup(self, connection) -> float | None:
        """The monotonic time a timer should try a claim again, if any timer is due."""
        with connection.cursor() as cursor:
            wakeup = read_next_wakeup(cursor)
        connection.commit()
        if wakeup is None:
            return None
        return time.monotonic() + max(0.0, wakeup.in_s)

    def _until_recovery(self) -> float:
        return max(0.0, self._next_recovery - time.monotonic())

    def _recover_when_due(self, connection) -> bool:
        """Recover orphans when the interval is up; tell whether any job came back."""
        now = time.monotonic()
        if now < self._next_recovery:
            return False
        self._next_recovery = now + self.config.recovery_interval_s
        with self._running_lock:
            in_flight = set(self._in_flight)
        return bool(recover_orphaned_jobs(connection, self.config.orphan_grace_s, in_flight))

    # -- connection --------------------------------------------------------------------

    def _ensure_connection(self) -> None:
        if self._connection is not None and not self._connection.closed:
            return
        connection = self._connect()
        try:
            connection.autocommit = False
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            connection.commit()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._next_recovery = 0.0

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
        self._connection = None

    # -- worker threads ----------------------------------------------------------------

    def _start_threads(self) -> None:
        for index in range(self.config.max_workers):
            thread = threading.Thread(target=self._work, name=f"job_worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            job = self._tasks.get()
            if job is None:
                return
            try:
                outcome = execute_claimed_job(job, self._open_transaction, self._watchdog.watch)
            except BaseException:
                # The protocol could not even record a failure (the database is gone):
                # the job stays started; this dispatcher's next recovery takes it back,
                # as it is no longer in flight.
                _logger.exception("job %s could not be settled", job.uuid)
                outcome = None
            finally:
                with self._running_lock:
                    self._running -= 1
                    self._in_flight.discard(job.id)
                    self._idle.notify_all()
                self._job_slots.release()
                self._wake()
            if outcome is not None and self._on_outcome is not None:
                try:
                    self._on_outcome(outcome)
                except Exception:
                    _logger.exception("the outcome callback failed for job %s", job.uuid)

    def _wake(self) -> None:
        if self._pipe_closed:
            return
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"\0")

    # -- shutdown ----------------------------------------------------------------------

    def _shut_down(self) -> None:
        deadline = time.monotonic() + self.config.shutdown_grace_s
        with self._running_lock:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(timeout=deadline - time.monotonic())
            still_running = self._running
        if still_running:
            interrupted = self._watchdog.interrupt_all("the processor is stopping")
            _logger.info("stopping: interrupted %d running job(s), given back", interrupted)
            with self._running_lock:
                self._idle.wait_for(lambda: self._running == 0, timeout=5.0)
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=1.0)
        self._watchdog.close()
        if self._connection is not None:
            rollback_quietly(self._connection)
        self._drop_connection()
        if all(not thread.is_alive() for thread in self._threads):
            # A thread still running (a job that ignored its interruption) may still
            # wake us: then the pipe stays open rather than risk writing to a reused fd.
            self._pipe_closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)
