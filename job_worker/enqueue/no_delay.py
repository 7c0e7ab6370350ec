"""The no-delay switches of OCA ``queue_job``: calls run at once instead of being stored."""

import os

NO_DELAY_ENVIRONMENT_VARIABLES = ("QUEUE_JOB__NO_DELAY", "TEST_QUEUE_JOB_NO_DELAY")
NO_DELAY_CONTEXT_KEYS = ("queue_job__no_delay", "test_queue_job_no_delay")


def runs_without_delay(env) -> bool:
    """Whether calls run at once instead of being stored: the ``QUEUE_JOB__NO_DELAY`` or
    ``TEST_QUEUE_JOB_NO_DELAY`` environment variable, or the ``queue_job__no_delay`` or
    ``test_queue_job_no_delay`` context key (OCA ``queue_job``'s switches)."""
    return any(os.environ.get(name) for name in NO_DELAY_ENVIRONMENT_VARIABLES) or any(
        env.context.get(key) for key in NO_DELAY_CONTEXT_KEYS
    )
