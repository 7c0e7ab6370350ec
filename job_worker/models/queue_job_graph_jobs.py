"""From a job of a graph (a group or chain delayed together), the graph's other jobs;
and groups of jobs by graph labelled by the graph's first job, not by its UUID."""

from odoo import fields, models

GRAPH_UUID_SHOWN = 8
"""Characters of a graph's UUID shown beside its first job's description."""


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

    def _web_read_group_groupby_formatter(self, groupby_spec, values):
        """Label a group by graph with its first job's description and the start of its
        UUID (two graphs may start alike); the group's domain stays the UUID."""
        if groupby_spec != "graph_uuid":
            return super()._web_read_group_groupby_formatter(groupby_spec, values)
        labels = self._graph_labels([value for value in values if value])

        def format_graph(value):
            if not value:
                return False, [("graph_uuid", "=", False)]
            return labels.get(value, value), [("graph_uuid", "=", value)]

        return format_graph

    def _graph_labels(self, graph_uuids):
        """``{graph_uuid: "<first job's description> (<uuid start>)"}``."""
        first_ids = dict(
            self._read_group([("graph_uuid", "in", graph_uuids)], ["graph_uuid"], ["id:min"])
        )
        firsts = self.browse(first_ids.values())
        return {
            graph_uuid: f"{first.name or first.func_string} ({graph_uuid[:GRAPH_UUID_SHOWN]})"
            for graph_uuid, first in zip(first_ids, firsts, strict=True)
        }
