from . import (
    job_worker_runner_status,
    queue_job_purge_done,
    queue_job_requeue_failed,
    queue_job_state_wizards,
)
