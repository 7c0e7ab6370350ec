"""The execution protocol: how a claimed job runs and how its outcome is committed.

The engine does not know how to run a job's method; the driver does (the Odoo side
builds an environment). The driver hands the engine a :class:`JobTransaction` per job,
and the engine runs the protocol on it:

1. open the job's own transaction (the driver's cursor);
2. run the job's method inside a savepoint;
3. success: record ``done`` with the result in that same transaction, then commit, so
   the job's writes and its state commit together;
4. failure: roll back to the savepoint (the job's writes are gone), record ``failed``
   with the exception and traceback in the same transaction, then commit.

Every record is guarded by the job's state and owner: a job recovered by another
processor while this one was running is not settled twice.
"""

from __future__ import annotations

import enum
import logging
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .claim import ClaimedJob
from .sql import load_query

_logger = logging.getLogger(__name__)


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


JobTransactionFactory = Callable[[ClaimedJob], AbstractContextManager[JobTransaction]]
"""Opens the transaction a job runs in, and closes it when the block ends."""


class JobResult(enum.Enum):
    """How one execution ended, from the processor's point of view."""

    DONE = "done"
    FAILED = "failed"
    LOST = "lost"  # the job was no longer ours when we tried to settle it


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one claimed job."""

    job: ClaimedJob
    result: JobResult
    exec_time_s: float


def execute_claimed_job(job: ClaimedJob, open_transaction: JobTransactionFactory) -> JobOutcome:
    """Run one claimed job through the execution protocol and commit its outcome."""
    started = time.monotonic()
    try:
        with open_transaction(job) as transaction:
            try:
                with transaction.savepoint():
                    value = transaction.perform()
            except Exception as error:
                result = _settle(transaction, job, _failure_params(job, error, started))
            else:
                result = _settle(transaction, job, _done_params(job, value, started))
    except Exception as error:
        # The job's transaction itself broke (its commit refused, the connection lost):
        # none of its writes stand. Record the failure in a fresh transaction.
        _logger.debug("job %s: its transaction failed", job.uuid, exc_info=True)
        with open_transaction(job) as transaction:
            result = _settle(transaction, job, _failure_params(job, error, started))
    return JobOutcome(job, result, time.monotonic() - started)


def _settle(transaction: JobTransaction, job: ClaimedJob, settlement: tuple) -> JobResult:
    """Record the outcome if the job is still ours, and end the transaction."""
    query_name, params, result = settlement
    if transaction.execute(load_query(query_name), params):
        transaction.commit()
        return result
    transaction.rollback()
    _logger.warning(
        "job %s (%s) was taken from this processor while it ran; its outcome is dropped",
        job.uuid,
        job.func_name,
    )
    return JobResult.LOST


def _done_params(job: ClaimedJob, value: Any, started: float) -> tuple:
    params = {
        "job_id": job.id,
        "owner": job.owner,
        "result": None if value is None else str(value),
        "exec_time": time.monotonic() - started,
    }
    return "record_job_done", params, JobResult.DONE


def _failure_params(job: ClaimedJob, error: BaseException, started: float) -> tuple:
    params = {
        "job_id": job.id,
        "owner": job.owner,
        "exec_time": time.monotonic() - started,
        "exc_name": exception_name(error),
        "exc_message": str(error),
        "exc_info": "".join(traceback.format_exception(error)),
    }
    return "record_job_failed", params, JobResult.FAILED


def exception_name(error: BaseException) -> str:
    """``KeyError`` for built-in exceptions, ``odoo.exceptions.UserError`` for the rest."""
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
