"""``queue.job`` seen from the cron processor: the scheduled action, and what schedules it."""

from odoo import api, models
from odoo.addons.job_worker.engine.states import JobState

from ..cron_processing import DEFAULT_BATCH_SIZE, process_due_jobs_within_cron_budget
from ..cron_triggers import schedule_processing_cron_after_commit


class QueueJob(models.Model):
    """Jobs schedule the processing cron for the moment they become due."""

    _inherit = "queue.job"

    @api.model
    def _process_due_jobs_from_cron(self, batch_size=DEFAULT_BATCH_SIZE):
        """The scheduled action "Job Queue: process due jobs": run due jobs in batches of
        ``batch_size`` within the cron run's time budget; return how many ran."""
        return process_due_jobs_within_cron_budget(self.env, batch_size)

    @api.model
    def _schedule_processing_at(self, due_moments):
        """Schedule the processing cron for ``due_moments``, once this transaction commits."""
        super()._schedule_processing_at(due_moments)
        schedule_processing_cron_after_commit(self.env, due_moments)

    def write(self, vals):
        """A job made pending again (requeued) or given another ETA schedules the cron for
        its new due moment."""
        result = super().write(vals)
        if "state" in vals or "eta" in vals:
            pending = self.filtered(lambda job: job.state == JobState.PENDING.value)
            if pending:
                self._schedule_processing_at([job.eta or job.date_created for job in pending])
        return result
