"""Requeue, Cancel and Set to done: what a Job Queue Manager does with jobs by hand.

Started jobs are left alone (they run somewhere; recovery handles a dead owner). State
changes go through the database's dependency trigger: a job set done releases its
waiting dependents, a cancelled one cancels them.
"""

from odoo import fields, models
from odoo.exceptions import UserError

from ..engine.states import IDENTITY_KEY_STATES, JobState


class QueueJob(models.Model):
    _inherit = "queue.job"

    def requeue(self):
        """Pending again, attempts counted from zero, the last error forgotten."""
        jobs = self._not_running(self.env._("requeued"))
        held = jobs._identity_keys_held_elsewhere()
        if held:
            raise UserError(
                self.env._(
                    "These jobs cannot be requeued while other jobs waiting to run hold "
                    "their identity keys: %(keys)s.",
                    keys=", ".join(sorted(held)),
                )
            )
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
        # Parents first: a selected dependent is then cancelled by the cascade, as one
        # cancelled because of its parent (OCA's result text), not on its own.
        first = jobs.filtered(lambda job: not job.dependency_ids & jobs)
        values = {"state": JobState.CANCELLED.value, "date_cancelled": fields.Datetime.now()}
        first._write_state(values)
        (jobs - first).filtered(lambda job: job.state != JobState.CANCELLED.value)._write_state(
            values
        )
        return True

    def button_done(self):
        """Done without running (their waiting dependents become pending)."""
        jobs = self._not_running(self.env._("set to done"))
        jobs._write_state(
            {
                "state": JobState.DONE.value,
                "date_done": fields.Datetime.now(),
                "result": self.env._("Manually set to done by %(user)s", user=self.env.user.name),
            }
        )
        return True

    def _identity_keys_held_elsewhere(self):
        """Identity keys of these jobs that other jobs still to run hold (the unique
        index would refuse these jobs back into the queue)."""
        keys = set(self.filtered("identity_key").mapped("identity_key"))
        if not keys:
            return set()
        holders = self.search(
            [
                ("identity_key", "in", list(keys)),
                ("id", "not in", self.ids),
                ("state", "in", IDENTITY_KEY_STATES),
            ]
        )
        return set(holders.mapped("identity_key"))

    def _write_state(self, values):
        """Write, then forget cached states: the database's dependency trigger may have
        changed other jobs' (see ``engine/sql/queue_job_runtime.sql``)."""
        self._write_by_state_action(values)
        self.env["queue.job"].invalidate_model(["state", "date_cancelled", "result"])

    def _not_running(self, change):
        self._check_job_queue_manager()
        # Locked, not only read: a job claimed since this transaction's snapshot is running.
        running = self - self._lock_not_started()
        if running and running == self:
            raise UserError(
                self.env._(
                    "Started jobs cannot be %(change)s: they are running. Wait for them, "
                    "or for the recovery of a dead worker's jobs.",
                    change=change,
                )
            )
        return self - running
