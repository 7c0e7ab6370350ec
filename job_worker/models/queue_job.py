"""The ``queue.job`` model: one row per job, with OCA ``queue_job``'s fields and ours."""

import logging

from odoo import api, fields, models

from ..engine.schema import ROOT_CHANNEL, apply_runtime_schema
from ..engine.states import JobState
from ..enqueue.prepare import DEFAULT_MAX_RETRIES, DEFAULT_PRIORITY
from ..fields import JobSerialized
from ..processing.database_processing import prune_finished_jobs_in_database

_logger = logging.getLogger(__name__)

STATE_SELECTION = [
    (JobState.WAIT_DEPENDENCIES.value, "Wait Dependencies"),
    (JobState.PENDING.value, "Pending"),
    (JobState.ENQUEUED.value, "Enqueued"),
    (JobState.STARTED.value, "Started"),
    (JobState.DONE.value, "Done"),
    (JobState.CANCELLED.value, "Cancelled"),
    (JobState.FAILED.value, "Failed"),
]


class QueueJob(models.Model):
    """A background job: a method of some records, its arguments, and what became of it.

    The table is shared with the framework-free engine (``engine/sql``): the engine
    claims, runs and settles jobs with SQL, so fields here are plain stored columns.
    Jobs are created by the delay API only, and their call is never rewritten (see
    :mod:`.queue_job_protection`).
    """

    _name = "queue.job"
    _description = "Queue Job"
    _inherit = ["mail.thread"]
    _log_access = False
    _order = "date_created desc, id desc"
    _rec_name = "name"

    uuid = fields.Char(string="UUID", required=True, readonly=True, copy=False)
    graph_uuid = fields.Char(
        string="Graph UUID", readonly=True, index=True, help="Shared by the jobs of one graph."
    )
    user_id = fields.Many2one("res.users", string="User", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True, index=True)
    name = fields.Char(string="Description", readonly=True)

    model_name = fields.Char(string="Model", required=True, readonly=True)
    method_name = fields.Char(required=True, readonly=True)
    records = JobSerialized(readonly=True)
    args = JobSerialized(readonly=True)
    kwargs = JobSerialized(readonly=True)
    func_string = fields.Char(string="Task", readonly=True)

    state = fields.Selection(
        STATE_SELECTION, required=True, readonly=True, index=True, default=JobState.PENDING.value
    )
    priority = fields.Integer(required=True, default=DEFAULT_PRIORITY, help="Lower runs first.")
    eta = fields.Datetime(string="Execute only after", help="The job never starts before.")
    retry = fields.Integer(
        string="Current try",
        required=True,
        default=0,
        readonly=True,
        help="Attempts made so far, counted when the job starts.",
    )
    max_retries = fields.Integer(
        required=True, default=DEFAULT_MAX_RETRIES, help="Attempts allowed; 0 means no limit."
    )
    channel = fields.Char(required=True, default=ROOT_CHANNEL, index=True)
    channel_used = fields.Char(
        string="Runs in channel",
        compute="_compute_channel_used",
        help="The configured channel whose limits the job runs under: its channel when "
        "configured, else the nearest configured parent, else root (as in OCA queue_job).",
    )
    job_function_id = fields.Many2one("queue.job.function", string="Job Function", readonly=True)
    identity_key = fields.Char(readonly=True)
    dependency_ids = fields.Many2many(
        "queue.job",
        "queue_job_dependency_rel",
        "job_id",
        "parent_id",
        string="Depends on",
        readonly=True,
        help="Jobs that must be done before this one runs.",
    )
    dependent_ids = fields.Many2many(
        "queue.job",
        "queue_job_dependency_rel",
        "parent_id",
        "job_id",
        string="Dependent jobs",
        readonly=True,
    )

    date_created = fields.Datetime(
        string="Created", required=True, readonly=True, default=fields.Datetime.now
    )
    date_enqueued = fields.Datetime(string="Enqueued", readonly=True)
    date_started = fields.Datetime(string="Started", readonly=True)
    date_done = fields.Datetime(string="Done", readonly=True)
    date_cancelled = fields.Datetime(string="Cancelled", readonly=True)
    exec_time = fields.Float(
        string="Execution time (s)",
        readonly=True,
        aggregator="avg",
        help="Seconds the last attempt took.",
    )
    exc_name = fields.Char(string="Exception", readonly=True)
    exc_message = fields.Text(string="Exception message", readonly=True)
    exc_info = fields.Text(string="Traceback", readonly=True)
    result = fields.Text(readonly=True)

    owner = fields.Char(
        readonly=True,
        help="application_name of the database connection of the processor that started "
        "the job: while it runs, that connection is visible in pg_stat_activity.",
    )
    heartbeat = fields.Datetime(
        readonly=True, help="When the job was claimed: recovery waits a grace period after it."
    )
    timeout = fields.Integer(
        string="Timeout (s)", readonly=True, help="Seconds the job may run; empty: the default."
    )

    def _compute_channel_used(self):
        configured = set(self.env["queue.job.channel"].sudo().search([]).mapped("complete_name"))
        for job in self:
            name = job.channel or ROOT_CHANNEL
            while name and name not in configured:
                name = name.rpartition(".")[0]
            job.channel_used = name or ROOT_CHANNEL

    def init(self):
        """Apply the engine's runtime schema (defaults, indexes, NOTIFY triggers, the root
        channel), then name the root channel so data files can refer to it."""
        apply_runtime_schema(self.env.cr)
        self.env.cr.execute(
            "SELECT id FROM queue_job_channel WHERE parent_id IS NULL AND name = %s",
            [ROOT_CHANNEL],
        )
        (root_id,) = self.env.cr.fetchone()
        self.env["ir.model.data"]._update_xmlids(
            [
                {
                    "xml_id": "job_worker.channel_root",
                    "record": self.env["queue.job.channel"].browse(root_id),
                    "noupdate": True,
                }
            ]
        )

    @api.model
    def _schedule_processing_at(self, due_moments):
        """Extension point: jobs written in this transaction become due at ``due_moments``
        (naive UTC datetimes; a moment already past means now).

        :func:`~odoo.addons.job_worker.enqueue.store.store_jobs` calls it for every job it stores.
        The embedded runner needs nothing more (the database notifies it when the
        transaction commits), so it does nothing here; a processor that must be
        scheduled ahead, such as ``job_worker_cron``'s scheduled action, overrides it.
        """

    @api.model
    def _prune_finished_jobs(self):
        """Delete done and cancelled jobs older than their channel's removal interval, in
        batches (the scheduled action "Job Queue: delete finished jobs")."""
        deleted = prune_finished_jobs_in_database(self.env.cr.dbname)
        _logger.info("deleted %d finished job(s) past their channel's removal interval", deleted)
        return deleted
