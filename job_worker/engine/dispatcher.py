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

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from .claim import ClaimedJob, claim_due_jobs
from .connection import Connection, cancel_backend_statement, rollback_quietly
from .events import emit_recovered
from .execution import JobTransactionFactory, execute_claimed_job
from .job_slots import JobSlots
from .listener import CONNECTION_ERRORS, Listener
from .recovery import ORPHAN_GRACE_S, recover_orphaned_jobs
from .schema import NOTIFY_CHANNEL
from .threads import start_engine_thread
from .timeouts import DEFAULT_JOB_TIMEOUT_S, ExecutionWatchdog
from .wakeup import read_next_wakeup

_logger = logging.getLogger(__name__)

RECOVERY_INTERVAL_S = 1.0
"""Seconds between two recovery checks; also the longest idle sleep."""
SHUTDOWN_GRACE_S = 10.0
"""Seconds running jobs get to finish when the dispatcher stops, before interruption."""
RECONNECT_BACKOFF_S = (0.1, 5.0)
"""First and largest wait before reopening a broken engine connection (doubling)."""
MAX_THREADS = 4
"""Worker threads, so jobs running at once in this process (channels may allow fewer), of
a dispatcher built on its own (tests, benchmarks); the embedded runner passes the
``max_threads`` of its configuration."""
INTERRUPTED_GIVE_BACK_S = 5.0
"""How long a stopping dispatcher waits for the jobs it interrupted to be given back."""
THREAD_JOIN_S = 1.0
"""How long a stopping dispatcher waits for each worker thread to end."""


@dataclass(frozen=True)
class DispatcherConfig:
    """How a dispatcher runs; every field has a named default."""

    max_threads: int = MAX_THREADS
    recovery_interval_s: float = RECOVERY_INTERVAL_S
    orphan_grace_s: float = ORPHAN_GRACE_S
    shutdown_grace_s: float = SHUTDOWN_GRACE_S
    default_timeout_s: float | None = DEFAULT_JOB_TIMEOUT_S
    reconnect_backoff_s: tuple[float, float] = RECONNECT_BACKOFF_S

    def __post_init__(self):
        if self.max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, got {self.max_threads}")
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
    job (see :mod:`.execution`); what happens to each job is told by the engine's events
    (:mod:`.events`). ``may_claim()``, asked before every claim, lets an elected leader
    stop claiming the moment it learns it no longer leads, before it is stopped.
    ``job_slots``, shared by a process's dispatchers, bounds the jobs they run at once
    all together.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        open_transaction: JobTransactionFactory,
        config: DispatcherConfig | None = None,
        may_claim: Callable[[], bool] | None = None,
        job_slots: JobSlots | None = None,
    ):
        self.config = config or DispatcherConfig()
        self._connect = connect
        self._open_transaction = open_transaction
        self._may_claim = may_claim or (lambda: True)
        self._job_slots = job_slots or JobSlots(self.config.max_threads)
        self._listener = Listener(self._open_listening_connection, self.config.reconnect_backoff_s)
        self._stopping = threading.Event()
        self._tasks: queue.SimpleQueue[ClaimedJob | None] = queue.SimpleQueue()
        self._running = 0
        self._in_flight: set[int] = set()  # ids of jobs claimed and not yet settled
        self._running_lock = threading.Lock()
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
        try:
            while not self._stopping.is_set():
                try:
                    self._dispatch_until_stopped(self._listener.connect())
                except CONNECTION_ERRORS as error:
                    self._listener.disconnect()
                    if self._stopping.is_set():
                        break
                    wait_s = self._listener.next_reconnect_wait_s()
                    _logger.warning(
                        "engine connection lost (%s); reconnecting in %.1fs",
                        str(error).strip() or type(error).__name__,
                        wait_s,
                    )
                    self._stopping.wait(wait_s)
        finally:
            self._shut_down()

    def stop(self) -> None:
        """Ask :meth:`run` to stop claiming and shut down; returns at once."""
        self._stopping.set()
        self._listener.wake()

    @property
    def running_jobs(self) -> int:
        """Jobs claimed by this dispatcher and not settled yet."""
        with self._running_lock:
            return self._running

    # -- the loop ----------------------------------------------------------------------

    def _dispatch_until_stopped(self, connection: Connection) -> None:
        claim_needed = True  # something may be claimable: claim before sleeping
        timer_at = None  # when a timer (next ETA, rate window) makes a claim worth trying
        while not self._stopping.is_set():
            if self._recover_when_due(connection):
                claim_needed = True
            if timer_at is not None and time.monotonic() >= timer_at:
                claim_needed, timer_at = True, None
            free = self.config.max_threads - self.running_jobs
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
            timeout_s = self._until_recovery()
            if timer_at is not None:
                timeout_s = min(timeout_s, timer_at - time.monotonic())
            if self._listener.wait(timeout_s):
                claim_needed = True

    def _claim(self, connection: Connection, slots: int) -> list[ClaimedJob]:
        """Claim up to ``slots`` jobs on reserved job slots; give back those not filled."""
        claimed = []
        try:
            claimed = claim_due_jobs(connection, slots)
        finally:
            self._job_slots.release(slots - len(claimed))
        return claimed

    def _next_wakeup(self, connection: Connection) -> float | None:
        """The monotonic time a timer should try a claim again, if any timer is due."""
        with connection.cursor() as cursor:
            wakeup = read_next_wakeup(cursor)
        connection.commit()
        if wakeup is None:
            return None
        return time.monotonic() + max(0.0, wakeup.in_s)

    def _until_recovery(self) -> float:
        return max(0.0, self._next_recovery - time.monotonic())

    def _recover_when_due(self, connection: Connection) -> bool:
        """Recover orphans when the interval is up; tell whether any job came back."""
        now = time.monotonic()
        if now < self._next_recovery:
            return False
        self._next_recovery = now + self.config.recovery_interval_s
        with self._running_lock:
            in_flight = set(self._in_flight)
        recovered = recover_orphaned_jobs(connection, self.config.orphan_grace_s, in_flight)
        emit_recovered(connection, recovered)
        return bool(recovered)

    # -- connection --------------------------------------------------------------------

    def _open_listening_connection(self) -> Connection:
        """The engine connection, LISTENing for new jobs; recovery is due at once on it."""
        connection = self._connect()
        try:
            connection.autocommit = False
            with connection.cursor() as cursor:
                cursor.execute(f"LISTEN {NOTIFY_CHANNEL}")
            connection.commit()
        except BaseException:
            connection.close()
            raise
        self._next_recovery = 0.0
        return connection

    # -- worker threads ----------------------------------------------------------------

    def _start_threads(self) -> None:
        for index in range(self.config.max_threads):
            self._threads.append(start_engine_thread(self._work, f"job_worker-{index}"))

    def _work(self) -> None:
        while True:
            job = self._tasks.get()
            if job is None:
                return
            try:
                execute_claimed_job(job, self._open_transaction, self._watchdog.watch)
            except BaseException:
                # The protocol could not even record a failure (the database is gone):
                # the job stays started; this dispatcher's next recovery takes it back,
                # as it is no longer in flight.
                _logger.exception("job %s could not be settled", job.uuid)
            finally:
                with self._running_lock:
                    self._running -= 1
                    self._in_flight.discard(job.id)
                    self._idle.notify_all()
                self._job_slots.release()
                self._listener.wake()

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
                self._idle.wait_for(lambda: self._running == 0, timeout=INTERRUPTED_GIVE_BACK_S)
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(timeout=THREAD_JOIN_S)
        self._watchdog.close()
        if self._listener.connection is not None:
            rollback_quietly(self._listener.connection)
        # A thread still running (a job that ignored its interruption) may still wake
        # the listener: its wake-ups are ignored once it is closed.
        self._listener.close()
