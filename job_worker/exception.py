"""The exceptions job code raises, importable where OCA ``queue_job`` users expect them.

``from odoo.addons.job_worker.exception import RetryableJobError`` (OCA:
``odoo.addons.queue_job.exception``). Those that steer a job's outcome live in the
engine (``engine/errors.py``); the others are OCA's names for code that imports or
catches them.
"""

from .engine.errors import (
    CorruptJobDataError,
    FailedJobError,
    JobError,
    JobInterruptedError,
    JobTimeoutError,
    NothingToDoJob,
    RetryableJobError,
)

BaseQueueJobError = JobError
"""OCA's base class of its exceptions: here, :class:`JobError`."""


class NoSuchJobError(JobError):
    """No job of this UUID is stored (``Job.load(env, uuid)``)."""


class ChannelNotFound(JobError):
    """A channel of this name is not configured (OCA's name, for code that catches it;
    job_worker runs a job of an unknown channel under its nearest configured parent)."""


__all__ = [
    "BaseQueueJobError",
    "ChannelNotFound",
    "CorruptJobDataError",
    "FailedJobError",
    "JobError",
    "JobInterruptedError",
    "JobTimeoutError",
    "NoSuchJobError",
    "NothingToDoJob",
    "RetryableJobError",
]
