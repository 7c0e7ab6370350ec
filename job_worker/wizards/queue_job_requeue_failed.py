"""Requeue every failed job of one exception class at once (Failed Jobs > Requeue
failed jobs…): the usual move once the cause of a batch of failures is fixed."""

from odoo import api, fields, models

from ..engine.states import JobState


class QueueJobRequeueFailed(models.TransientModel):
    """Which failed jobs to requeue: those of one exception, or all of them."""

    _name = "queue.job.requeue.failed"
    _description = "Requeue failed jobs"

    exc_name = fields.Selection(
        selection="_exception_selection",
        string="Exception",
        help="Requeue the failed jobs that raised this exception; empty: every failed job.",
    )
    job_count = fields.Integer(string="Jobs to requeue", compute="_compute_job_count")

    @api.model
    def _exception_selection(self):
        groups = self.env["queue.job"]._read_group(
            [("state", "=", JobState.FAILED.value), ("exc_name", "!=", False)],
            ["exc_name"],
            ["__count"],
        )
        return [(name, f"{name} ({count})") for name, count in sorted(groups)]

    @api.model
    def default_get(self, fields_list):
        """Preselect the exception of the failed jobs selected in the list, if one."""
        values = super().default_get(fields_list)
        selected = self.env["queue.job"].browse(self.env.context.get("active_ids", []))
        names = set(selected.exists().mapped("exc_name"))
        if len(names) == 1:
            values["exc_name"] = names.pop()
        return values

    def _failed_jobs(self):
        domain = [("state", "=", JobState.FAILED.value)]
        if self.exc_name:
            domain.append(("exc_name", "=", self.exc_name))
        return self.env["queue.job"].search(domain)

    @api.depends("exc_name")
    def _compute_job_count(self):
        for wizard in self:
            wizard.job_count = len(wizard._failed_jobs())

    def action_requeue(self):
        """Requeue them (a Job Queue Manager's Requeue, with its notification)."""
        self.ensure_one()
        return self._failed_jobs().requeue()
