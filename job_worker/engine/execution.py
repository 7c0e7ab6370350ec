"""The execution protocol: how a claimed job runs and how its outcome is committed.

The engine does not know how to run a job's method; the driver does (the Odoo side
builds an environment). The driver hands the engine a :class:`JobTransaction` per job,
and the engine runs the protocol on it:

1. open the job's own transaction and lock the job's row, checking it is still ours
   (the held lock tells recovery the job is alive);
2. run the job's method inside a savepoint;
3. settle in that same transaction, then commit, so the job's writes and its outcome
   commit together:

   - it returned: ``done`` with its result;
   - it raised: rolled back to the savepoint (its writes are gone), then ``pending`` for
     another attempt (:class:`~.errors.RetryableJobError`, a timeout) or ``failed`` with
     the exception and traceback;
4. a serialization failure or deadlock (SQLSTATE 40001, 40P01) rolls the whole
   transaction back and runs the job again in a fresh one (the old REPEATABLE READ
   snapshot would fail again), a few times, with jitter, without spending an attempt;
   still conflicting, the job goes back to pending, soon, uncounted;
5. the transaction itself breaks (its commit refused, the connection lost): the failure
   is recorded in a fresh transaction.
"""

from __future__ import annotations

import enum
import logging
import random
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from .claim import ClaimedJob
from .errors import (
    JobInterruptedError,
    JobTimeoutError,
    NothingToDoJob,
    RetryableJobError,
)
from .events import JobRetried, JobSettled, JobStarted, SettledOutcome, engine_events
from .retry import (
    RetryPatternError,
    bounded_retry_delay_s,
    parse_retry_pattern,
    retry_delay_s,
)
from .sql import load_query

_logger = logging.getLogger(__name__)

CONCURRENCY_SQLSTATES = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: the transaction may succeed if run again."""
CONFLICT_RERUNS = 3
"""Fresh-transaction reruns of a job that hit a serialization conflict, before requeuing."""
CONFLICT_BACKOFF_S = (0.01, 0.05)
"""Jitter range before a rerun, multiplied by the rerun number."""
CONFLICT_REQUEUE_DELAY_S = (0.5, 2.0)
"""Jitter range of the ETA of a job requeued after its reruns all conflicted."""


class JobTransaction(Protocol):
    """One database transaction in which one job runs, supplied by the driver."""

    def execute(self, query: str, params: dict[str, Any]) -> list[tuple]:
        """Run ``query`` in this transaction and return its rows (empty if none)."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A savepoint: released on success, rolled back when the block raises."""

    def perform(self) -> Any:
        """Run the job's method; return its result."""

    def commit(self) -> None:
        """Commit the transaction."""

    def rollback(self) -> None:
        """Roll the whole transaction back."""

    def on_settled(self, job: ClaimedJob, result: JobResult) -> None:
        """The outcome is recorded in this transaction, not committed yet: what the
        driver adds here (a failure posted on the job's chatter) commits with the
        outcome, or not at all. Most drivers add nothing."""


JobTransactionFactory = Callable[[ClaimedJob], AbstractContextManager[JobTransaction]]
"""Opens the transaction a job runs in, and closes it when the block ends."""


class Watch(Protocol):
    """A running job under watch; ``interruption`` is set when it was interrupted."""

    interruption: BaseException | None


JobWatcher = Callable[[ClaimedJob, JobTransaction], AbstractContextManager[Watch]]
"""Watches a job while its method runs (timeouts, shutdown): see ``timeouts.py``."""


@dataclass
class _Unwatched:
    interruption: BaseException | None = None


@contextmanager
def unwatched(job: ClaimedJob, transaction: JobTransaction):
    """The :data:`JobWatcher` that never interrupts."""
    yield _Unwatched()


class JobResult(enum.Enum):
    """How one execution ended, from the processor's point of view."""

    DONE = "done"
    FAILED = "failed"
    RETRY = "retry"  # back to pending for another attempt
    LOST = "lost"  # the job was no longer ours


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one claimed job."""

    job: ClaimedJob
    result: JobResult


@dataclass(frozen=True)
class _Settlement:
    query_name: str
    params: dict[str, Any]
    result: JobResult
    outcome: SettledOutcome


def execute_claimed_job(
    job: ClaimedJob,
    open_transaction: JobTransactionFactory,
    watch: JobWatcher = unwatched,
) -> JobOutcome:
    """Run one claimed job through the execution protocol and commit its outcome.

    ``watch`` may interrupt the job's method (timeout, shutdown); the interruption then
    decides the outcome, whatever exception it surfaced as. Emits
    :class:`~.events.JobStarted`, then :class:`~.events.JobRetried` if it goes back to
    pending, then :class:`~.events.JobSettled`.
    """
    started = time.monotonic()
    for rerun in range(CONFLICT_RERUNS + 1):
        decided: list[_Settlement] = []
        try:
            result = _run_once(job, open_transaction, watch, started, decided, rerun)
        except Exception as error:
            if _is_concurrency_conflict(error):
                _logger.debug("job %s: serialization conflict, rerun %d", job.uuid, rerun + 1)
                time.sleep(random.uniform(*CONFLICT_BACKOFF_S) * (rerun + 1))
                continue
            # The job's transaction itself broke: none of its writes stand. An outcome
            # already decided other than done (a retry, an interruption, a failure)
            # still holds; a done whose commit was refused becomes that refusal.
            _logger.debug("job %s: its transaction failed", job.uuid, exc_info=True)
            settlement = (
                decided[0]
                if decided and decided[0].result is not JobResult.DONE
                else (_failure_settlement(job, error, started))
            )
            decided[:] = [settlement]
            result = _settle_in_fresh_transaction(job, open_transaction, settlement)
        _emit_settled(job, result, decided[0] if decided else None, started, rerun)
        return JobOutcome(job, result)
    delay = random.uniform(*CONFLICT_REQUEUE_DELAY_S)
    settlement = _retry_settlement(
        job,
        started,
        delay_s=delay,
        attempt_spent=False,
        error=None,
        note=f"serialization conflicts in {CONFLICT_RERUNS + 1} runs; requeued",
        outcome=SettledOutcome.CONFLICT_RERUN,
    )
    result = _settle_in_fresh_transaction(job, open_transaction, settlement)
    _emit_settled(job, result, settlement, started, CONFLICT_RERUNS)
    return JobOutcome(job, result)


def hold_claimed_job(transaction: JobTransaction, job: ClaimedJob) -> bool:
    """Lock ``job``'s row in ``transaction``; tell whether the job is still ours to run.

    The protocol runs it first in every job transaction. The lock lasts as long as the
    transaction: it is how recovery tells a running job from an orphan. A driver whose
    job commits (or rolls back) its own transaction mid-run, as long imports do, calls
    it again at once in the transaction that follows; ``False`` then means the job was
    taken away meanwhile, and the driver interrupts it.
    """
    query = load_query("lock_claimed_job")
    return bool(transaction.execute(query, {"job_id": job.id, "owner": job.owner}))


def _run_once(job, open_transaction, watch, started, decided, rerun):
    """One run in one transaction; the settlement decided is appended to ``decided``."""
    with open_transaction(job) as transaction:
        if not hold_claimed_job(transaction, job):
            transaction.rollback()
            return JobResult.LOST
        if rerun == 0 and engine_events.has_subscribers:
            engine_events.emit(JobStarted.of(job))
        watched = None
        try:
            with transaction.savepoint(), watch(job, transaction) as watched:
                value = transaction.perform()
        except Exception as error:
            interruption = watched.interruption if watched is not None else None
            if interruption is None and _is_concurrency_conflict(error):
                raise
            settlement = _failure_settlement(job, interruption or error, started)
        else:
            settlement = _done_settlement(job, value, started)
        decided.append(settlement)
        return _settle(transaction, job, settlement)


def _settle(transaction: JobTransaction, job: ClaimedJob, settlement: _Settlement) -> JobResult:
    """Record the outcome if the job is still ours, and end the transaction."""
    if transaction.execute(load_query(settlement.query_name), settlement.params):
        transaction.on_settled(job, settlement.result)
        transaction.commit()
        return settlement.result
    transaction.rollback()
    return JobResult.LOST


def _emit_settled(job, result, settlement: _Settlement | None, started, conflict_reruns):
    """Tell the subscribers how the execution ended, once it is committed."""
    if not engine_events.has_subscribers:
        return
    run_s = time.monotonic() - started
    params = settlement.params if settlement is not None else {}
    reason = _reason(params)
    if result is JobResult.RETRY:
        engine_events.emit(
            JobRetried(
                database=job.database,
                job_id=job.id,
                uuid=job.uuid,
                func_name=job.func_name,
                attempt=job.attempt,
                delay_s=params["delay_s"],
                attempt_spent=params["attempt_spent"],
                reason=reason,
            )
        )
    engine_events.emit(
        JobSettled(
            database=job.database,
            job_id=job.id,
            uuid=job.uuid,
            func_name=job.func_name,
            channel=job.channel,
            outcome=settlement.outcome if result is not JobResult.LOST else SettledOutcome.LOST,
            attempt=job.attempt,
            waited_s=job.waited_s,
            run_s=run_s,
            conflict_reruns=conflict_reruns,
            reason=reason,
        )
    )


def _reason(params: dict[str, Any]) -> str | None:
    """``name: message`` of the exception a settlement records, if any."""
    name, message = params.get("exc_name"), params.get("exc_message")
    if name is None:
        return params.get("result") if "delay_s" in params else None
    return f"{name}: {message}" if message else name


def _settle_in_fresh_transaction(job, open_transaction, settlement: _Settlement) -> JobResult:
    with open_transaction(job) as transaction:
        return _settle(transaction, job, settlement)


def _done_settlement(job: ClaimedJob, value: Any, started: float) -> _Settlement:
    params = {
        "job_id": job.id,
        "owner": job.owner,
        "result": None if value is None else _safe_text(value),
        "exec_time": time.monotonic() - started,
    }
    return _Settlement("record_job_done", params, JobResult.DONE, SettledOutcome.DONE)


def _failure_settlement(job: ClaimedJob, error: BaseException, started: float) -> _Settlement:
    """What an exception means for the job: done, another attempt, or failed."""
    if isinstance(error, NothingToDoJob):
        return _done_settlement(job, _safe_text(error) or "Nothing to do", started)
    if isinstance(error, JobInterruptedError):
        return _retry_settlement(job, started, delay_s=0, attempt_spent=False, error=error)
    if isinstance(error, (RetryableJobError, JobTimeoutError)):
        ignore_retry = getattr(error, "ignore_retry", False)
        attempts_left = job.max_retries == 0 or job.attempt < job.max_retries
        if ignore_retry or attempts_left:
            seconds = getattr(error, "seconds", None)
            delay = seconds if seconds is not None else _pattern_delay(job)
            return _retry_settlement(
                job, started, delay_s=delay, attempt_spent=not ignore_retry, error=error
            )
        return _failed_settlement(
            job,
            error,
            started,
            message=f"Max. retries ({job.max_retries}) reached: {_safe_text(error)}",
        )
    return _failed_settlement(job, error, started)


def _pattern_delay(job: ClaimedJob) -> float:
    try:
        pattern = parse_retry_pattern(job.retry_pattern)
    except RetryPatternError:
        _logger.warning("job %s: unusable retry pattern %r", job.uuid, job.retry_pattern)
        pattern = {}
    return retry_delay_s(pattern, job.attempt)


def _retry_settlement(
    job, started, *, delay_s, attempt_spent, error, note=None, outcome=SettledOutcome.RETRIED
) -> _Settlement:
    # Whatever asked for the delay (job code through RetryableJobError included), the
    # ETA must be one the database can store, or the job could never be settled.
    bounded_delay_s = bounded_retry_delay_s(delay_s)
    if bounded_delay_s != delay_s:
        _logger.warning(
            "job %s: a retry delay of %r seconds cannot be used; retrying in %s seconds",
            job.uuid,
            delay_s,
            bounded_delay_s,
        )
    params = {
        "job_id": job.id,
        "owner": job.owner,
        "delay_s": bounded_delay_s,
        "attempt_spent": attempt_spent,
        "exec_time": time.monotonic() - started,
        "result": note or (_safe_text(error) if error is not None else None),
        **_exception_fields(error),
    }
    return _Settlement("record_job_retry", params, JobResult.RETRY, outcome)


def _failed_settlement(job, error, started, message=None) -> _Settlement:
    params = {
        "job_id": job.id,
        "owner": job.owner,
        "exec_time": time.monotonic() - started,
        **_exception_fields(error),
    }
    if message is not None:
        params["exc_message"] = message
    return _Settlement("record_job_failed", params, JobResult.FAILED, SettledOutcome.FAILED)


def _exception_fields(error: BaseException | None) -> dict[str, str | None]:
    if error is None:
        return {"exc_name": None, "exc_message": None, "exc_info": None}
    try:
        exc_info = "".join(traceback.format_exception(error))
    except Exception:
        exc_info = f"(the traceback could not be formatted)\n{_safe_text(error)}"
    return {
        "exc_name": exception_name(error),
        "exc_message": _safe_text(error),
        "exc_info": exc_info,
    }


def _safe_text(value: Any) -> str:
    """``str(value)``, never raising: job code may raise exceptions that cannot print."""
    try:
        return str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__qualname__}>"


def _is_concurrency_conflict(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a serialization failure or a deadlock."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "pgcode", None) in CONCURRENCY_SQLSTATES:
            return True
        error = error.__cause__ or error.__context__
    return False


def exception_name(error: BaseException) -> str:
    """``KeyError`` for built-in exceptions, ``odoo.exceptions.UserError`` for the rest."""
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
