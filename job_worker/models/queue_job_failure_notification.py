"""A job that fails for good says so on its chatter, to the Job Queue Managers.

Posted in the job's own transaction, as its failure is recorded (the engine calls
``JobTransaction.on_settled`` before it commits, see ``OdooJobTransaction`` in
``processing/job_transaction.py``),
so the message exists exactly when the failure does. The managers of the job's company
are made followers then, not when every job is created: enqueuing stays one insert.
"""

from markupsafe import Markup
from odoo import models

FAILURE_SUBTYPE = "job_worker.mt_job_failed"


class QueueJob(models.Model):
    _inherit = "queue.job"

    def _post_failure_message(self):
        """Subscribe the job's Job Queue Managers and post the failure (subtype "Job
        failed", which notifies followers)."""
        managers = self.env.ref("job_worker.group_queue_job_manager").sudo().all_user_ids
        for job in self:
            followers = managers.filtered(
                lambda user, job=job: not job.company_id or job.company_id in user.company_ids
            )
            job.message_subscribe(partner_ids=followers.partner_id.ids)
            body = Markup("<p>{}</p><p><b>{}</b>: {}</p>").format(
                self.env._("The job failed after %(attempts)s attempt(s).", attempts=job.retry),
                job.exc_name or self.env._("Exception"),
                job.exc_message or "",
            )
            job.message_post(body=body, subtype_xmlid=FAILURE_SUBTYPE)
