"""What Requeue, Cancel and Set to done answer: a notification that says what changed,
then the view reloads (the database's dependency trigger may have changed other jobs'
states as well)."""

from odoo import models

NAMES_SHOWN = 5
"""Jobs named in a notification; beyond that, only counted."""


class QueueJob(models.Model):
    _inherit = "queue.job"

    def _state_change_notification(self, title, left_running):
        """A notification naming these changed jobs and the running ones left alone,
        followed by a reload of the view."""
        names = [job.name or job.uuid for job in self[:NAMES_SHOWN]]
        if len(self) > NAMES_SHOWN:
            names.append(self.env._("and %(count)s more", count=len(self) - NAMES_SHOWN))
        lines = [
            self.env._("%(count)s job(s): %(names)s.", count=len(self), names=", ".join(names))
        ]
        if left_running:
            lines.append(
                self.env._(
                    "%(count)s started job(s) left alone: they are running.",
                    count=len(left_running),
                )
            )
        notification = self._notification(
            title, "\n".join(lines), "warning" if left_running else "success"
        )
        notification["params"]["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return notification
