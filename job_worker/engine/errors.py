"""Exceptions a job raises to say what should become of it, with OCA ``queue_job``'s names.

Job code imports them from ``odoo.addons.job_worker.exception``, which re-exports these.
"""

from __future__ import annotations


class JobError(Exception):
    """Base class of the exceptions that steer a job's outcome."""


class RetryableJobError(JobError):
    """Try the job again later instead of failing it.

    :param seconds: wait this long before the next attempt; default: the job function's
        retry pattern, else :data:`~.retry.DEFAULT_RETRY_DELAY_S`
    :param ignore_retry: do not count this attempt against ``max_retries``
    """

    def __init__(self, msg: str = "", seconds: float | None = None, ignore_retry: bool = False):
        super().__init__(msg)
        self.seconds = seconds
        self.ignore_retry = ignore_retry


class FailedJobError(JobError):
    """Fail the job now, whatever attempts remain."""


class NothingToDoJob(JobError):
    """The job has nothing to do: it ends ``done`` with this message as its result."""


class JobTimeoutError(JobError):
    """The job ran past its timeout and was interrupted (retried while attempts remain)."""


class JobInterruptedError(JobError):
    """The processor stopped while the job ran; the job is given back uncounted."""


class CorruptJobDataError(JobError):
    """A job's stored data (records, arguments) cannot be decoded or no longer makes sense."""
