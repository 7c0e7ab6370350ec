"""A job that fails for good says so on its chatter, to the Job Queue Managers.

Posted in the job's own transaction, as its failure is recorded (the engine calls
``JobTransaction.on_settled`` before it commits, see ``OdooJobTransaction`` in
``processing/job_transaction.py``),
so the message exists exactly when the failure does. The managers of the job's company
and the user who delayed the job are made followers then, not when every job is
created: enqueuing stays one insert.

The hooks are OCA ``queue_job``'s, for addons that override them:
``_subscribe_users_domain()`` (who follows a failed job), ``_subscribe_job_creator()``
(whether its creator does too) and ``_message_failed_job()`` (the message posted).
"""

from markupsafe import Markup
from odoo import models

from ..engine.states import JobState

FAILURE_SUBTYPE = "job_worker.mt_job_failed"


class QueueJob(models.Model):
    _inherit = "queue.job"

    def write(self, vals):
        """A job that code writes failed (OCA's scripts and tests do) says so as one the
        engine fails does; the engine itself settles jobs in SQL and posts on its own."""
        failing = self.browse()
        if vals.get("state") == JobState.FAILED.value:
            failing = self.filtered(lambda job: job.state != JobState.FAILED.value)
        result = super().write(vals)
        if failing:
            failing._post_failure_message()
        return result

    def _post_failure_message(self):
        """Subscribe the followers of these failed jobs and post their failure (subtype
        "Job failed", which notifies followers)."""
        domain = self._subscribe_users_domain()
        users = self.env["res.users"].sudo().search(domain) if domain is not None else None
        for job in self:
            followers = users if users is not None else self.env["res.users"]
            if job._subscribe_job_creator():
                followers |= job.user_id
            job.message_subscribe(partner_ids=followers.partner_id.ids)
            body = job._message_failed_job()
            if body:
                job.message_post(body=body, subtype_xmlid=FAILURE_SUBTYPE)

    def _message_post_on_failure(self):
        """OCA's name for :meth:`_post_failure_message`."""
        return self._post_failure_message()

    def _subscribe_users_domain(self):
        """The users who follow these jobs when they fail: the Job Queue Managers of the
        jobs' companies (all of them for jobs without a company); ``None``: nobody."""
        group = self.env.ref("job_worker.group_queue_job_manager", raise_if_not_found=False)
        if not group:
            return None
        domain = [("all_group_ids", "in", group.ids)]
        companies = self.company_id
        if companies:
            domain.append(("company_ids", "in", companies.ids))
        return domain

    def _subscribe_job_creator(self):
        """Whether the user who delayed this job follows it when it fails (yes)."""
        self.ensure_one()
        return True

    def _message_failed_job(self):
        """The message posted on this job when it fails for good (empty: none)."""
        self.ensure_one()
        return Markup("<p>{}</p><p><b>{}</b>: {}</p>").format(
            self.env._(
                "Failed for good after %(attempts)s attempt(s): its retries are spent, "
                "or its error is not one to retry.",
                attempts=self.retry,
            ),
            self.exc_name or self.env._("Exception"),
            self.exc_message or "",
        )
