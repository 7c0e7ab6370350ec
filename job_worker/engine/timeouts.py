"""Interrupting running jobs: past their timeout, or when the processor must stop.

A job's method runs in a worker thread, often blocked inside a SQL statement. To
interrupt it, the watchdog cancels the statement (``pg_cancel_backend`` of the job's
connection), then raises an exception in the thread (``PyThreadState_SetAsyncExc``), which
Python delivers at the thread's next bytecode. The job's transaction rolls back to its
savepoint as for any failure; the thread is free for the next job.

The order matters: a cancel reaching the job's connection once the thread has moved on
would abort its savepoint rollback or its settlement instead (the job would fail with
"canceling statement" rather than be retried or given back). So the cancel comes first,
and a thread whose method ends while a cancel is on its way waits for it: sent to a
connection that runs no statement, a cancel is ignored.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from .claim import ClaimedJob
from .errors import JobInterruptedError, JobTimeoutError
from .events import JobTimedOut, engine_events
from .threads import start_engine_thread

_logger = logging.getLogger(__name__)

DEFAULT_JOB_TIMEOUT_S = 3600
"""Seconds a job may run when neither it nor its job function sets a timeout."""
CANCEL_WAIT_S = 10.0
"""Longest a job's thread waits, once its method ended, for its statement's cancel."""


@dataclass(eq=False)
class JobWatch:
    """One job under watch."""

    job: ClaimedJob
    thread_id: int
    backend_pid: int | None
    timeout_s: float | None
    deadline: float | None
    interruption: BaseException | None = None
    capped: bool = False  # its deadline is the watchdog's run_until, before its own timeout
    _raised_in_thread: bool = field(default=False, repr=False)
    _cancelling: bool = field(default=False, repr=False)  # its statement's cancel is on its way
    _left: bool = field(default=False, repr=False)  # its method ended: raise nothing in the thread


class ExecutionWatchdog:
    """Watches running jobs; interrupts those past their deadline, or all on demand.

    ``cancel_backend(pid)`` cancels the running statement of the job's connection.
    ``run_until`` (a :func:`time.monotonic` instant) caps every job's deadline: a
    processor bound by a time budget (an HTTP request) cannot let a job outlive it. A job
    interrupted at that cap is given back, its attempt not counted
    (:class:`~.errors.JobInterruptedError`): it did not fail, it ran out of room.
    """

    def __init__(
        self,
        cancel_backend: Callable[[int], None],
        default_timeout_s=DEFAULT_JOB_TIMEOUT_S,
        run_until: float | None = None,
    ):
        self._cancel_backend = cancel_backend
        self.default_timeout_s = default_timeout_s
        self.run_until = run_until
        self._condition = threading.Condition()
        self._watches: set[JobWatch] = set()
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextmanager
    def watch(self, job: ClaimedJob, transaction):
        """The :data:`~.execution.JobWatcher`: watch ``job`` while the block runs."""
        timeout_s = job.timeout_s or self.default_timeout_s
        deadline = time.monotonic() + timeout_s if timeout_s else None
        capped = self.run_until is not None and (deadline is None or self.run_until < deadline)
        entry = JobWatch(
            job=job,
            thread_id=threading.get_ident(),
            backend_pid=getattr(transaction, "backend_pid", None),
            timeout_s=timeout_s,
            deadline=self.run_until if capped else deadline,
            capped=capped,
        )
        with self._condition:
            self._watches.add(entry)
            self._ensure_thread()
            self._condition.notify_all()
        try:
            yield entry
        finally:
            with self._condition:
                entry._left = True
                self._condition.wait_for(lambda: not entry._cancelling, CANCEL_WAIT_S)
                self._watches.discard(entry)
                if entry._raised_in_thread:
                    # Not delivered yet if the method ended first: it must not fire later.
                    _raise_in_thread(entry.thread_id, None)

    def interrupt_all(self, reason: str) -> int:
        """Interrupt every watched job (the processor is stopping); return how many."""
        with self._condition:
            entries = [entry for entry in self._watches if entry.interruption is None]
            for entry in entries:
                self._mark_interrupted(entry, JobInterruptedError(reason))
        self._cancel_then_raise(entries)
        return len(entries)

    def close(self) -> None:
        """Stop the watchdog thread."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            # Started by the first job watched: a worker thread, or a request's thread.
            self._thread = start_engine_thread(self._run, "job_worker-watchdog")

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._closed:
                    return
                now = time.monotonic()
                expired = [
                    entry
                    for entry in self._watches
                    if entry.interruption is None and entry.deadline and entry.deadline <= now
                ]
                for entry in expired:
                    self._mark_interrupted(entry, _deadline_interruption(entry))
                deadlines = [
                    entry.deadline
                    for entry in self._watches
                    if entry.interruption is None and entry.deadline
                ]
                if not expired:
                    wait_s = min(deadlines) - now if deadlines else None
                    self._condition.wait(timeout=wait_s)
            if expired:
                if engine_events.has_subscribers:
                    timed_out = [e for e in expired if isinstance(e.interruption, JobTimeoutError)]
                    for entry in timed_out:
                        engine_events.emit(
                            JobTimedOut(
                                database=entry.job.database,
                                job_id=entry.job.id,
                                uuid=entry.job.uuid,
                                func_name=entry.job.func_name,
                                timeout_s=entry.timeout_s,
                            )
                        )
                self._cancel_then_raise(expired)

    def _mark_interrupted(self, entry: JobWatch, error: BaseException) -> None:
        """Decide ``entry``'s interruption; :meth:`_cancel_then_raise` carries it out.

        The condition is held.
        """
        entry.interruption = error
        entry._cancelling = True
        if not isinstance(error, JobTimeoutError):  # a timeout is an event: JobTimedOut
            _logger.warning("job %s (%s): %s", entry.job.uuid, entry.job.func_name, error)

    def _cancel_then_raise(self, entries) -> None:
        """Cancel each job's statement, then raise its interruption in its thread."""
        for entry in entries:
            if entry.backend_pid:
                try:
                    self._cancel_backend(entry.backend_pid)
                except Exception:
                    _logger.warning(
                        "could not cancel the statement of job %s", entry.job.uuid, exc_info=True
                    )
        with self._condition:
            for entry in entries:
                entry._cancelling = False
                if not entry._left:
                    entry._raised_in_thread = True
                    _raise_in_thread(entry.thread_id, type(entry.interruption))
            self._condition.notify_all()


def _deadline_interruption(entry: JobWatch) -> BaseException:
    if entry.capped:
        return JobInterruptedError(
            "the time budget of the processing that ran the job ran out before the job's "
            f"own timeout ({entry.timeout_s or 'none'} s): given back, attempt not counted"
        )
    return JobTimeoutError(f"job ran past its timeout of {entry.timeout_s} s")


def _raise_in_thread(thread_id: int, exception_type: type[BaseException] | None) -> None:
    """Raise ``exception_type`` in the thread at its next bytecode; None clears it."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id),
        ctypes.py_object(exception_type) if exception_type is not None else None,
    )
