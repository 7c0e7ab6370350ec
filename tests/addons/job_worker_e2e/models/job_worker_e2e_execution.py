import os

from odoo import api, fields, models


class JobWorkerE2eExecution(models.Model):
    """One committed execution of an end-to-end job: a job that ran twice leaves two."""

    _name = "job_worker_e2e.execution"
    _description = "End-to-end job execution"

    key = fields.Char(required=True, index=True)
    pid = fields.Integer(help="The operating-system process that ran the job.")

    @api.model
    def record_execution(self, key, seconds=0.0):
        """The job: wait ``seconds`` in the database (a long job), then record itself."""
        if seconds:
            self.env.cr.execute("SELECT pg_sleep(%s)", [seconds])
        self.create({"key": key, "pid": os.getpid()})
