"""Requeue, Cancel and Set to done: what a Job Queue Manager does with jobs by hand.

Started jobs are left alone (they run somewhere; recovery handles a dead owner). State
changes go through the database's dependency trigger: a job set done releases its
waiting dependents, a cancelled one cancels them.
"""

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from ..engine.states import JobState


class QueueJob(models.Model):
    _inherit = "queue.job"

    def requeue(self):
        """Pending again, attempts counted from zero, the last error forgotten."""
        jobs = self._not_running(self.env._("requeued"))
        jobs._write_state(
            {
                "state": JobState.PENDING.value,
                "retry": 0,
                "eta": False,
                "date_done": False,
                "date_cancelled": False,
                "exc_name": False,
                "exc_message": False,
                "exc_info": False,
                "result": False,
                "owner": False,
            }
        )
        return True

    def button_cancelled(self):
        """Cancelled (and their waiting dependents with them)."""
        jobs = self._not_running(self.env._("cancelled"))
        jobs._write_state(
            {"state": JobState.CANCELLED.value, "date_cancelled": fields.Datetime.now()}
        )
        return True

    def button_done(self):
        """Done without running (their waiting dependents become pending)."""
        jobs = self._not_running(self.env._("set to done"))
        jobs._write_state(
            {
                "state": JobState.DONE.value,
                "date_done": fields.Datetime.now(),
                "result": self.env._("Set to done by %(user)s", user=self.env.user.name),
            }
        )
        return True

    def _write_state(self, values):
        """Write, then forget cached states: the database's dependency trigger may have
        changed other jobs' (see ``engine/sql/queue_job_runtime.sql``)."""
        self.write(values)
        self.env["queue.job"].invalidate_model(["state", "date_cancelled"])

    def _not_running(self, change):
        if not self.env.user.has_group("job_worker.group_queue_job_manager"):
            raise AccessError(self.env._("Only Job Queue Managers may change jobs."))
        running = self.filtered(lambda job: job.state == JobState.STARTED.value)
        if running and running == self:
            raise UserError(
                self.env._(
                    "Started jobs cannot be %(change)s: they are running. Wait for them, "
                    "or for the recovery of a dead worker's jobs.",
                    change=change,
                )
            )
        return self - running
