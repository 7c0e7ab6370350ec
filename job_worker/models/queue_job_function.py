"""The ``queue.job.function`` model: per ``model.method`` defaults for its jobs."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine.retry import RetryPatternError, parse_retry_pattern
from ..engine.schema import ROOT_CHANNEL


class QueueJobFunction(models.Model):
    """Defaults for the jobs of one method, named ``<model>.<method>`` as in OCA ``queue_job``.

    A job delayed without an explicit channel takes the channel of its function.
    """

    _name = "queue.job.function"
    _description = "Job Function"
    _order = "name"

    name = fields.Char(compute="_compute_name", store=True, readonly=True, index=True)
    model_id = fields.Many2one("ir.model", string="Model", required=True, ondelete="cascade")
    method = fields.Char(required=True)
    channel = fields.Char(required=True, default=ROOT_CHANNEL)
    retry_pattern = fields.Text(
        help='When to try again, as JSON: {"<from attempt>": seconds or [min, max]}, e.g. '
        '{"1": 10, "5": 60, "10": [300, 900]}. Empty: 10 minutes.'
    )
    timeout = fields.Integer(
        string="Timeout (s)",
        help="Seconds a job may run before it is interrupted; 0: the default (1 hour).",
    )

    _name_unique = models.UniqueIndex("(name)", "A job function with this name already exists.")

    @api.constrains("retry_pattern")
    def _check_retry_pattern(self):
        for function in self:
            try:
                parse_retry_pattern(function.retry_pattern)
            except RetryPatternError as error:
                raise ValidationError(f"{function.name}: {error}") from None

    @api.depends("model_id.model", "method")
    def _compute_name(self):
        for function in self:
            function.name = f"{function.model_id.model}.{function.method}"

    @api.model
    def find_for(self, model_name, method_name):
        """The job function record of ``model_name.method_name``, or an empty recordset."""
        return self.sudo().search([("name", "=", f"{model_name}.{method_name}")], limit=1)
