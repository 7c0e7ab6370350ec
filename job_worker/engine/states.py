"""The states of a job, with OCA ``queue_job``'s names and meaning."""

from enum import Enum


class JobState(str, Enum):
    """Where a job is in its life. The values are what the ``state`` column stores."""

    WAIT_DEPENDENCIES = "wait_dependencies"  # waits for its parent jobs to be done
    PENDING = "pending"  # runnable once its ETA is reached
    ENQUEUED = "enqueued"  # OCA's "handed to a worker"; kept so migrated rows stay valid
    STARTED = "started"  # claimed by a processor, running
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


IDENTITY_KEY_STATES = (
    JobState.WAIT_DEPENDENCIES.value,
    JobState.PENDING.value,
    JobState.ENQUEUED.value,
)
"""A job in one of these states holds its identity key: the states of the unique index
``queue_job_identity_key_unique`` (``sql/queue_job_runtime.sql``); a test checks that the
index's predicate in the database names exactly these."""
