"""Related actions: from a job, open what it works on (OCA ``queue_job``'s feature).

A job function's ``related_action`` (JSON) says what the button does:
``{"enable": false}`` hides it; ``{"func_name": "method", "kwargs": {...}}`` calls that
method of ``queue.job`` on the job, which returns an action; by default the job's
records open (a form for one, a list for several).
"""

from odoo import models
from odoo.exceptions import UserError


class QueueJob(models.Model):
    _inherit = "queue.job"

    def open_related_action(self):
        """The action of the job's function (see the module's docstring), or the default."""
        self.ensure_one()
        config = self.job_function_id.related_action_config()
        if not config.get("enable", True):
            raise UserError(self.env._("No related action is available for this job."))
        func_name = config.get("func_name") or "related_action_open_record"
        method = getattr(self, func_name, None)
        if not callable(method):
            raise UserError(
                self.env._(
                    "The related action %(name)s of %(function)s does not exist.",
                    name=func_name,
                    function=self.job_function_id.name,
                )
            )
        action = method(**config.get("kwargs", {}))
        if not action:
            raise UserError(self.env._("No related action is available for this job."))
        return action

    def related_action_open_record(self):
        """Open the job's records: a form for one, a list for several; nothing if none
        exists any more."""
        self.ensure_one()
        records = self.records.exists()
        if not records:
            return None
        if len(records) == 1:
            return {
                "type": "ir.actions.act_window",
                "name": self.env._("Related Record"),
                "res_model": records._name,
                "view_mode": "form",
                "res_id": records.id,
            }
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Related Records"),
            "res_model": records._name,
            "view_mode": "list,form",
            "domain": [("id", "in", records.ids)],
        }
