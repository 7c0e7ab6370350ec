"""OCA ``queue_job``'s ``RunJobController``, at its import path, for code that runs a job
by hand in the current transaction.

OCA runs each job through an HTTP request to this controller; job_worker's engine claims
and runs jobs itself (see ``engine/execution.py``), so no route is served here. What
remains is ``_runjob(env, job)``, which tests written for ``queue_job`` call.
"""

import traceback

from ..exception import RetryableJobError


class RunJobController:
    """Runs an OCA ``Job`` now, in ``env``'s transaction, and records its outcome."""

    @classmethod
    def _runjob(cls, env, job):
        """Perform ``job`` (a :class:`~odoo.addons.job_worker.job.Job`) and store what came
        of it: done with its result, pending again after a retryable error, failed (with
        the traceback) after any other."""
        job.set_started()
        job.store()
        try:
            with env.cr.savepoint():
                job.perform()
        except RetryableJobError as error:
            job.postpone(result=str(error), seconds=error.seconds)
            job.set_pending(reset_retry=False)
        except Exception as error:
            job.set_failed(
                exc_info=traceback.format_exc(),
                exc_name=type(error).__name__,
                exc_message=str(error),
            )
        else:
            job.set_done()
        job.store()
