"""OCA ``queue_job``'s wizards over the state actions, for code and tests that open them:
``queue.requeue.job``, ``queue.jobs.to.done`` and ``queue.jobs.to.cancelled``, each
acting on the jobs selected (``active_ids``) with Requeue, Set to done or Cancel."""

from odoo import api, fields, models


class QueueJobsStateWizard(models.AbstractModel):
    """The jobs a state wizard acts on: those selected when it opened."""

    _name = "queue.jobs.state.wizard"
    _description = "Jobs selected for a state change"

    job_ids = fields.Many2many(
        "queue.job", string="Jobs", default=lambda self: self._selected_jobs()
    )

    @api.model
    def _selected_jobs(self):
        if self.env.context.get("active_model") != "queue.job":
            return self.env["queue.job"]
        return self.env["queue.job"].browse(self.env.context.get("active_ids") or [])


class QueueRequeueJob(models.TransientModel):
    """Requeue the selected jobs."""

    _name = "queue.requeue.job"
    _inherit = "queue.jobs.state.wizard"
    _description = "Requeue jobs"

    def requeue(self):
        """Requeue the jobs (see ``queue.job.requeue``); close the wizard."""
        self.job_ids.requeue()
        return {"type": "ir.actions.act_window_close"}


class QueueJobsToDone(models.TransientModel):
    """Set the selected jobs to done."""

    _name = "queue.jobs.to.done"
    _inherit = "queue.jobs.state.wizard"
    _description = "Set jobs to done"

    def set_done(self):
        """Set the jobs done (see ``queue.job.button_done``); close the wizard."""
        self.job_ids.button_done()
        return {"type": "ir.actions.act_window_close"}


class QueueJobsToCancelled(models.TransientModel):
    """Cancel the selected jobs."""

    _name = "queue.jobs.to.cancelled"
    _inherit = "queue.jobs.state.wizard"
    _description = "Cancel jobs"

    def set_cancelled(self):
        """Cancel the jobs (see ``queue.job.button_cancelled``); close the wizard."""
        self.job_ids.button_cancelled()
        return {"type": "ir.actions.act_window_close"}
