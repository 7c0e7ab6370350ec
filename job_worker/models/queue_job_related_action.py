"""Related actions: from a job, open what it works on (OCA ``queue_job``'s feature).

A job function's ``related_action`` (JSON) says what the button does:
``{"enable": false}`` hides it; ``{"func_name": "related_action_<name>", "kwargs": {...}}``
calls that public method of ``queue.job`` on the job, which returns an action; by
default the job's records open (a form for one, a list for several). The method's name
and arguments are checked when the job function is written and again when the action
runs (see :func:`~.queue_job_function.check_related_action`).
"""

import inspect

from odoo import models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import get_public_method

from ..fields import UndecodableJobValue
from .queue_job_function import check_related_action

DEFAULT_RELATED_ACTION = "related_action_open_record"


class QueueJob(models.Model):
    _inherit = "queue.job"

    def open_related_action(self):
        """The action of the job's function (see the module's docstring), or the default."""
        self.ensure_one()
        function = self.job_function_id
        try:
            config = function.related_action_config()
        except ValueError as error:
            raise UserError(
                self.env._(
                    "The related action of %(function)s is refused: %(reason)s",
                    function=function.name,
                    reason=error,
                )
            ) from None
        if not config.get("enable", True):
            raise UserError(self.env._("No related action is available for this job."))
        method, kwargs = self._related_action_method(config)
        action = method(**kwargs)
        if not action:
            raise UserError(self.env._("No related action is available for this job."))
        return action

    def _related_action_method(self, config):
        """The bound method and keyword arguments of a related action, checked again: the
        configuration may predate the checks, or have been written in SQL."""
        func_name = config.get("func_name") or DEFAULT_RELATED_ACTION
        kwargs = config.get("kwargs", {})
        try:
            check_related_action({"func_name": func_name, "kwargs": kwargs})
        except ValueError as error:
            raise UserError(str(error)) from None
        try:
            # Odoo's own rule for what RPC may call: public, not @api.private anywhere in
            # the class hierarchy, not a class or static method.
            get_public_method(self, func_name)
        except (AccessError, AttributeError):
            raise UserError(
                self.env._(
                    "The related action %(name)s of %(function)s does not exist.",
                    name=func_name,
                    function=self.job_function_id.name,
                )
            ) from None
        bound = getattr(self, func_name)
        try:
            inspect.signature(bound).bind(**kwargs)
        except TypeError as error:
            raise UserError(
                self.env._(
                    "The related action %(name)s of %(function)s cannot take its keyword "
                    "arguments %(kwargs)s: %(reason)s",
                    name=func_name,
                    function=self.job_function_id.name,
                    kwargs=", ".join(sorted(kwargs)) or "-",
                    reason=error,
                )
            ) from None
        return bound, kwargs

    def related_action_open_record(self):
        """Open the job's records: a form for one, a list for several; nothing if none
        exists any more."""
        self.ensure_one()
        records = self.records
        if isinstance(records, UndecodableJobValue):
            raise UserError(
                self.env._(
                    "The records of this job cannot be opened: %(problem)s",
                    problem=records.problem,
                )
            )
        if records is None:
            raise UserError(self.env._("This job stores no records to open."))
        records = records.exists()
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
