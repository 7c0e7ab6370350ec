"""OCA ``queue_job``'s model-level names that addons and their tests reach.

``_change_job_state()`` (OCA's state setter, done or pending), the ``dependencies``
summary of a job's graph links and ``dependency_graph`` (the nodes and edges of its
graph, as OCA's graph widget reads them), ``_gc_old_jobs()`` (pruning finished jobs in the
current transaction), the ``_test_job`` method of the job function data files refer
to, and ``EDIT_SENTINEL``, which OCA's code passes in the context when it creates jobs
(superuser code only: see ``queue_job_protection.py``).
"""

import random

from markupsafe import Markup
from odoo import api, fields, models

from ..engine.sql import load_query
from ..engine.states import JobState
from ..fields import JobSerialized

GRAPH_NODE_COLORS = {
    JobState.WAIT_DEPENDENCIES.value: ("#D2E5FF", "#2B7CE9"),
    JobState.PENDING.value: ("#D2E5FF", "#2B7CE9"),
    JobState.ENQUEUED.value: ("#D2E5FF", "#2B7CE9"),
    JobState.STARTED.value: ("#FFF4CC", "#E0A800"),
    JobState.DONE.value: ("#D9F2D9", "#3C9A3C"),
    JobState.CANCELLED.value: ("#F2F2F2", "#7F7F7F"),
    JobState.FAILED.value: ("#FADBD8", "#C0392B"),
}
"""(fill, border) of a job in its graph, by state."""
GC_BATCH_SIZE = 1000
"""Finished jobs ``_gc_old_jobs()`` deletes at most per call (OCA's default batch)."""


class QueueJob(models.Model):
    _inherit = "queue.job"

    EDIT_SENTINEL = object()
    """OCA's marker for trusted creates: honoured only for code running as the superuser,
    and only as this very object (never a value an RPC context could carry)."""

    _removal_interval = 30
    """Days a finished job is kept when its channel says nothing (OCA's default)."""

    dependencies = JobSerialized(
        compute="_compute_dependencies",
        help='The UUIDs of the jobs this one waits for ("depends_on") and of those '
        'waiting for it ("reverse_depends_on").',
    )

    @api.depends("dependency_ids", "dependent_ids")
    def _compute_dependencies(self):
        for job in self:
            job.dependencies = {
                "depends_on": job.dependency_ids.mapped("uuid"),
                "reverse_depends_on": job.dependent_ids.mapped("uuid"),
            }

    dependency_graph = JobSerialized(
        compute="_compute_dependency_graph",
        help="The jobs of this job's graph and who waits for whom: {} for a job alone.",
    )

    @api.depends("graph_uuid", "dependency_ids", "state")
    def _compute_dependency_graph(self):
        for job in self:
            if not job.graph_uuid:
                job.dependency_graph = {}
                continue
            members = self.search([("graph_uuid", "=", job.graph_uuid)], order="id")
            job.dependency_graph = {
                "nodes": [member._dependency_graph_node() for member in members],
                "edges": [
                    [parent.id, member.id] for member in members for parent in member.dependency_ids
                ],
            }

    def _dependency_graph_node(self):
        fill, border = GRAPH_NODE_COLORS.get(self.state, GRAPH_NODE_COLORS["pending"])
        title = Markup("<strong>{}</strong><br/>{}").format(self.name or "", self.func_string or "")
        return {"id": self.id, "title": title, "color": fill, "border": border, "shadow": True}

    def _change_job_state(self, state, result=None):
        """Set these jobs done or pending (OCA's setter; other states raise ValueError)."""
        if state == JobState.DONE.value:
            values = {"state": state, "date_done": fields.Datetime.now()}
        elif state == JobState.PENDING.value:
            values = {"state": state, "retry": 0, "date_started": False, "date_done": False}
        else:
            raise ValueError(f"job state can be changed to done or pending only, not {state!r}")
        if result is not None:
            values["result"] = result
        self._write_state(values)

    @api.model
    def _gc_old_jobs(self, limit=GC_BATCH_SIZE):
        """Delete up to ``limit`` done and cancelled jobs past their channel's removal
        interval, in this transaction; ``(how many, whether more may remain)``."""
        self.env.flush_all()
        self.env.cr.execute(load_query("prune_finished_jobs"), {"batch_size": limit})
        deleted = self.env.cr.rowcount
        self.invalidate_model()
        return deleted, deleted >= limit

    @api.model
    def _test_job(self, failure_rate=0):
        """A job that does nothing, or fails with probability ``failure_rate``: to try
        the queue (OCA's ``queue.job._test_job``)."""
        if random.random() < failure_rate:
            raise ValueError(f"test job failed on purpose (failure rate {failure_rate})")
