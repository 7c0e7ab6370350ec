"""A job graph drawn on each of its jobs' form: its jobs in columns, each after the
jobs it waits for (parents to the left, children to the right), coloured by state."""

from markupsafe import Markup
from odoo import fields, models

from ..engine.states import JobState

STATE_BADGE_CLASSES = {
    JobState.WAIT_DEPENDENCIES.value: "text-bg-secondary",
    JobState.PENDING.value: "text-bg-primary",
    JobState.ENQUEUED.value: "text-bg-primary",
    JobState.STARTED.value: "text-bg-info",
    JobState.DONE.value: "text-bg-success",
    JobState.FAILED.value: "text-bg-danger",
    JobState.CANCELLED.value: "text-bg-light",
}
"""Bootstrap badge classes per job state."""


class QueueJob(models.Model):
    _inherit = "queue.job"

    graph_diagram = fields.Html(
        string="Graph", compute="_compute_graph_diagram", sanitize=False, readonly=True
    )

    def _compute_graph_diagram(self):
        for job in self:
            job.graph_diagram = job._draw_graph() if job.graph_uuid else False

    def _draw_graph(self):
        jobs = self.search([("graph_uuid", "=", self.graph_uuid)], order="id")
        columns = _columns_by_depth(jobs)
        states = dict(self._fields["state"].selection)
        html = Markup('<div class="o_job_worker_graph_diagram d-flex flex-wrap gap-3">')
        for depth, column in enumerate(columns):
            if depth:
                html += Markup('<div class="align-self-center fs-4 text-muted">&#8594;</div>')
            html += Markup('<div class="d-flex flex-column gap-2">')
            for job in column:
                parents = (job.dependency_ids & jobs).sorted("id")
                html += Markup(
                    '<div class="p-2 border rounded{current}">'
                    '<span class="badge {badge}" title="{state}">{state}</span> {name}'
                    "{after}</div>"
                ).format(
                    current=" border-dark border-2" if job == self else "",
                    badge=STATE_BADGE_CLASSES.get(job.state, "text-bg-light"),
                    state=states.get(job.state, job.state),
                    name=job.name or job.uuid,
                    after=Markup('<div class="small text-muted">after {}</div>').format(
                        ", ".join(parents.mapped(lambda parent: parent.name or parent.uuid))
                    )
                    if parents
                    else "",
                )
            html += Markup("</div>")
        return html + Markup("</div>")


def _columns_by_depth(jobs):
    """The jobs in columns: a job's column is one past its deepest parent's in the graph
    (a graph is acyclic; a cycle, which the database refuses, would stop at len(jobs))."""
    depth = dict.fromkeys(jobs.ids, 0)
    for _round in range(len(jobs)):
        changed = False
        for job in jobs:
            for parent in job.dependency_ids & jobs:
                if depth[job.id] < depth[parent.id] + 1:
                    depth[job.id] = depth[parent.id] + 1
                    changed = True
        if not changed:
            break
    columns = [[] for _depth in range(max(depth.values(), default=-1) + 1)]
    for job in jobs:
        columns[depth[job.id]].append(job)
    return columns
