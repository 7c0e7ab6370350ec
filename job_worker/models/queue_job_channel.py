"""The ``queue.job.channel`` model: the channel tree the engine enforces in PostgreSQL."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..configuration.channels_as_code import apply_configured_channels
from ..engine.schema import ROOT_CHANNEL


class QueueJobChannel(models.Model):
    """A lane of jobs under ``root``: how many may run at once, in order, how often.

    Limits are read by every claim, in every process, from this table: a change takes
    effect at the next claim, without a restart.
    """

    _name = "queue.job.channel"
    _description = "Job Channel"
    _rec_name = "complete_name"
    _order = "complete_name"

    name = fields.Char(required=True)
    complete_name = fields.Char(
        compute="_compute_complete_name", store=True, readonly=True, recursive=True, index=True
    )
    parent_id = fields.Many2one("queue.job.channel", string="Parent Channel", ondelete="cascade")
    capacity = fields.Integer(
        help="Jobs of this channel and its sub-channels that may run at once, across all "
        "processes. 0: no limit of its own (its parents' still apply)."
    )
    sequential = fields.Boolean(
        help="Run its jobs one at a time, in order; a failed job holds the channel until "
        "it is requeued, cancelled or set done."
    )
    rate_limit = fields.Integer(
        string="Rate limit", help="Job starts allowed per rate period. 0: no rate limit."
    )
    rate_period = fields.Integer(string="Rate period (s)", default=1)
    paused = fields.Boolean(help="Start none of its jobs (or its sub-channels') until unpaused.")
    removal_interval = fields.Integer(
        string="Removal interval (days)",
        required=True,
        default=30,
        help="Done and cancelled jobs older than this are deleted by housekeeping.",
    )

    _complete_name_unique = models.UniqueIndex(
        "(complete_name)", "A channel with this name already exists."
    )

    def _register_hook(self):
        """Apply the channels configured as code (environment or configuration file) at
        every registry load, in every process, on install too; never fails the load."""
        super()._register_hook()
        apply_configured_channels(self.env)

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for channel in self:
            if channel.parent_id:
                channel.complete_name = f"{channel.parent_id.complete_name}.{channel.name}"
            else:
                channel.complete_name = channel.name

    @api.constrains("parent_id", "name")
    def _check_tree(self):
        for channel in self:
            if not channel.parent_id and channel.name != ROOT_CHANNEL:
                raise ValidationError(
                    self.env._("Channel %s needs a parent: every channel descends from root.")
                    % channel.name
                )
            if "." in channel.name:
                raise ValidationError(
                    self.env._("Channel name %s must not contain a dot.") % channel.name
                )

    @api.constrains("parent_id")
    def _check_no_cycle(self):
        if self._has_cycle():
            raise ValidationError(self.env._("A channel cannot be its own ancestor."))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_root(self):
        """Every claim locks the root channel's row: without it, nothing would run."""
        if any(not channel.parent_id for channel in self):
            raise UserError(self.env._("The root channel cannot be deleted."))

    @api.constrains("capacity", "rate_limit", "rate_period", "removal_interval")
    def _check_limits(self):
        for channel in self:
            for field_name in ("capacity", "rate_limit", "removal_interval"):
                if channel[field_name] < 0:
                    raise ValidationError(
                        self.env._("Channel %(channel)s: %(field)s must not be negative.")
                        % {"channel": channel.complete_name, "field": field_name}
                    )
            if channel.rate_limit and channel.rate_period < 1:
                raise ValidationError(
                    self.env._("Channel %s: the rate period must be at least 1 second.")
                    % channel.complete_name
                )
