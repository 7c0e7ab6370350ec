"""Runner status as a view: who runs this database's jobs, read when it is opened.

One row per candidate runner connected to the database (the leader first), what this
worker is doing and why, and the buttons that process jobs by hand. Nothing is stored
but the snapshot the view shows; Refresh takes a new one.
"""

import datetime
import socket

from odoo import api, fields, models

from ..runner.status import runner_status


class JobWorkerRunnerStatus(models.TransientModel):
    """A snapshot of the runner status of this database (see :mod:`..runner.status`)."""

    _name = "job_worker.runner.status"
    _description = "Job runner status"

    database = fields.Char(readonly=True)
    has_leader = fields.Boolean(string="A runner leads", readonly=True)
    summary = fields.Char(readonly=True)
    this_worker = fields.Char(string="This worker", readonly=True)
    loaded_server_wide = fields.Boolean(string="Loaded server-wide", readonly=True)
    candidate_ids = fields.One2many(
        "job_worker.runner.candidate", "status_id", string="Candidates", readonly=True
    )

    @api.model
    def take_snapshot(self):
        """A new snapshot of this database's runner status (Job Queue Managers only)."""
        self.env["queue.job"]._check_job_queue_manager()
        status = runner_status(self.env.cr)
        own = status["this_process"]
        leader = status["leader"]
        candidates = []
        for rank, candidate in enumerate(status["candidates"]):
            is_leader = rank == 0
            candidates.append(
                fields.Command.create(
                    {
                        "sequence": rank,
                        "application_name": candidate["application_name"],
                        "pid": str(candidate["pid"]),
                        "since": _naive_utc(candidate["started_at"]),
                        "is_leader": is_leader,
                        "is_this_worker": candidate["pid"] == own["pid"],
                        "why": self.env._("its election name is the smallest: it started first")
                        if is_leader
                        else self.env._(
                            "os pid %(pid)s started earlier and leads", pid=leader["pid"]
                        ),
                    }
                )
            )
        return self.create(
            {
                "database": status["database"],
                "has_leader": bool(leader),
                "summary": status["summary"],
                "loaded_server_wide": status["loaded_server_wide"],
                "this_worker": self.env._(
                    "os pid %(pid)s on %(host)s: %(role)s, %(reason)s",
                    pid=own["pid"],
                    host=socket.gethostname(),
                    role=own["role"],
                    reason=own["reason"],
                ),
                "candidate_ids": candidates,
            }
        )

    @api.model
    def action_open(self):
        """Open a fresh snapshot."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Runner status"),
            "res_model": self._name,
            "res_id": self.take_snapshot().id,
            "view_mode": "form",
            "target": "new",
        }

    def action_refresh(self):
        """Replace the snapshot shown by a new one."""
        return self.action_open()

    def action_process_due_jobs(self):
        """Process due jobs now, in this request (as the Jobs list's button)."""
        return self.env["queue.job"].action_process_due_jobs()

    def action_process_due_jobs_in_background(self):
        """Process due jobs on a thread of this worker (as the Jobs list's button)."""
        return self.env["queue.job"].action_process_due_jobs_in_background()


class JobWorkerRunnerCandidate(models.TransientModel):
    """A candidate runner of the snapshot: one Odoo HTTP worker process."""

    _name = "job_worker.runner.candidate"
    _description = "Candidate job runner"
    _order = "sequence"

    status_id = fields.Many2one("job_worker.runner.status", required=True, ondelete="cascade")
    sequence = fields.Integer()
    application_name = fields.Char(string="Election connection", readonly=True)
    pid = fields.Char(string="OS pid", readonly=True)
    since = fields.Datetime(readonly=True, help="When its election connection started.")
    is_leader = fields.Boolean(string="Leader", readonly=True)
    is_this_worker = fields.Boolean(string="This worker", readonly=True)
    why = fields.Char(string="Role", readonly=True)


def _naive_utc(isoformat):
    """A stored Datetime (naive UTC) from an ISO 8601 moment with its offset."""
    moment = datetime.datetime.fromisoformat(isoformat)
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
