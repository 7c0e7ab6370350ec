"""The exceptions job code raises, importable where OCA ``queue_job`` users expect them.

``from odoo.addons.job_worker.exception import RetryableJobError`` (OCA:
``odoo.addons.queue_job.exception``).
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

__all__ = [
    "CorruptJobDataError",
    "FailedJobError",
    "JobError",
    "JobInterruptedError",
    "JobTimeoutError",
    "NothingToDoJob",
    "RetryableJobError",
]
