"""The channel list as an overview: how many jobs each channel holds by state, and
pause / resume at hand. A channel counts its own jobs and its sub-channels', as its
limits do."""

from odoo import fields, models

from ..engine.states import JobState


class QueueJobChannel(models.Model):
    _inherit = "queue.job.channel"

    pending_count = fields.Integer(string="Pending", compute="_compute_job_counts")
    started_count = fields.Integer(string="Running", compute="_compute_job_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_job_counts")

    def _compute_job_counts(self):
        counted_states = (JobState.PENDING.value, JobState.STARTED.value, JobState.FAILED.value)
        groups = self.env["queue.job"]._read_group(
            [("state", "in", counted_states)], ["channel", "state"], ["__count"]
        )
        for channel in self:
            prefix = f"{channel.complete_name}."
            counts = dict.fromkeys(counted_states, 0)
            for job_channel, state, count in groups:
                if job_channel == channel.complete_name or (job_channel or "").startswith(prefix):
                    counts[state] += count
            channel.pending_count = counts[JobState.PENDING.value]
            channel.started_count = counts[JobState.STARTED.value]
            channel.failed_count = counts[JobState.FAILED.value]

    def action_pause(self):
        """Start none of these channels' jobs (nor their sub-channels') until resumed."""
        self.write({"paused": True})
        return self._paused_notification(self.env._("Paused"))

    def action_resume(self):
        """Let these channels' jobs start again."""
        self.write({"paused": False})
        return self._paused_notification(self.env._("Resumed"))

    def action_open_jobs(self):
        """The jobs of this channel and its sub-channels that are still to do or failed."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Jobs of %(channel)s", channel=self.complete_name),
            "res_model": "queue.job",
            "view_mode": "list,form,pivot,graph",
            "domain": [
                "|",
                ("channel", "=", self.complete_name),
                ("channel", "=like", f"{_like_escaped(self.complete_name)}.%"),
            ],
            "context": {"search_default_todo": 1, "search_default_failed": 1},
        }

    def _paused_notification(self, title):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": ", ".join(self.mapped("complete_name")),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }


def _like_escaped(text):
    """``text`` matched literally by LIKE: its ``_`` and ``%`` are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
