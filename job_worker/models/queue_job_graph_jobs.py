"""From a job of a graph (a group or chain delayed together), the graph's other jobs."""

from odoo import fields, models


class QueueJob(models.Model):
    _inherit = "queue.job"

    graph_jobs_count = fields.Integer(string="Graph jobs", compute="_compute_graph_jobs_count")

    def _compute_graph_jobs_count(self):
        graph_uuids = [uuid for uuid in set(self.mapped("graph_uuid")) if uuid]
        counts = dict(
            self._read_group([("graph_uuid", "in", graph_uuids)], ["graph_uuid"], ["__count"])
        )
        for job in self:
            job.graph_jobs_count = counts.get(job.graph_uuid, 0) if job.graph_uuid else 0

    def action_open_graph_jobs(self):
        """Every job of this job's graph, in the order they were delayed."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Jobs of the graph of %(job)s", job=self.name or self.uuid),
            "res_model": "queue.job",
            "view_mode": "list,form",
            "context": {"create": False},
            "domain": [("graph_uuid", "=", self.graph_uuid)],
        }
