"""Delete done jobs older than a number of days, now (Configuration > Purge done jobs):
housekeeping deletes them daily past their channel's removal interval; this is for a
table that grew before the interval was set, or for a one-off clean-up."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..engine.states import JobState

DEFAULT_PURGE_AGE_DAYS = 7
"""Done jobs older than this many days are proposed for deletion."""
MAX_PURGE_AGE_DAYS = 36_500
"""The oldest age a purge accepts (a hundred years): beyond it no date can be computed."""
PURGE_BATCH_SIZE = 1000
"""Jobs deleted per statement: one huge delete would hold its locks long."""


class QueueJobPurgeDone(models.TransientModel):
    """How old a done job must be to be deleted."""

    _name = "queue.job.purge.done"
    _description = "Purge done jobs"

    older_than_days = fields.Integer(
        string="Done more than (days) ago", required=True, default=DEFAULT_PURGE_AGE_DAYS
    )
    job_count = fields.Integer(string="Jobs to delete", compute="_compute_job_count")

    def _done_jobs_domain(self):
        # An age past any date (or below zero, refused when purging) counts as none.
        days = min(max(self.older_than_days, 0), MAX_PURGE_AGE_DAYS)
        cutoff = fields.Datetime.now() - timedelta(days=days)
        return [("state", "=", JobState.DONE.value), ("date_done", "<", cutoff)]

    @api.depends("older_than_days")
    def _compute_job_count(self):
        for wizard in self:
            wizard.job_count = self.env["queue.job"].search_count(wizard._done_jobs_domain())

    def action_purge(self):
        """Delete those done jobs, in batches, and say how many."""
        self.ensure_one()
        self.env["queue.job"]._check_job_queue_manager()
        if not 0 <= self.older_than_days <= MAX_PURGE_AGE_DAYS:
            raise UserError(
                self.env._("The age must be from 0 to %(max)s days.", max=MAX_PURGE_AGE_DAYS)
            )
        deleted = 0
        while jobs := self.env["queue.job"].search(
            self._done_jobs_domain(), limit=PURGE_BATCH_SIZE
        ):
            deleted += len(jobs)
            jobs.unlink()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Done jobs purged"),
                "message": self.env._(
                    "%(count)s done job(s) older than %(days)s day(s) deleted.",
                    count=deleted,
                    days=self.older_than_days,
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
