from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..api_keys.api_key import (
    KEY_DIGEST_PARAMETER,
    configured_digests,
    deployment_keys,
    key_length_problem,
    revoke_api_key,
    store_new_api_key,
)
from ..processing.budget import (
    BATCH_SIZE_PARAMETER,
    BATCH_SIZE_RANGE,
    MAX_SECONDS_PARAMETER,
    MAX_SECONDS_RANGE,
)
from ..processing.database_processing import DEFAULT_BATCH_SIZE, DEFAULT_MAX_SECONDS
from ..runner.served_databases import RUNNER_DISABLED, RUNNER_ENABLED, RUNNER_PARAMETER
from ..runner.status import describe_runner_status, runner_status


class ResConfigSettings(models.TransientModel):
    """Job Queue > Settings: the endpoints' key and budget, the runner of this database,
    and who runs its jobs now."""

    _inherit = "res.config.settings"

    job_worker_batch_size = fields.Integer(
        string="Jobs per request",
        config_parameter=BATCH_SIZE_PARAMETER,
        default=DEFAULT_BATCH_SIZE,
        help="Jobs one call of the process endpoint, or one press of Process now, runs at "
        "most (unless the call says otherwise).",
    )
    job_worker_max_seconds = fields.Integer(
        string="Seconds per request",
        config_parameter=MAX_SECONDS_PARAMETER,
        default=int(DEFAULT_MAX_SECONDS),
        help="Seconds one call of the process endpoint may spend running jobs; kept under "
        "Odoo's limit_time_real.",
    )
    job_worker_runner = fields.Selection(
        [(RUNNER_ENABLED, "Enabled"), (RUNNER_DISABLED, "Disabled")],
        string="Embedded runner",
        config_parameter=RUNNER_PARAMETER,
        default=RUNNER_ENABLED,
        help="Disabled: no worker leads this database; jobs run only through "
        "job_worker_cron, the process endpoint or the buttons. Takes effect within the "
        "runner's database check interval (10 s by default).",
    )
    job_worker_api_key_source = fields.Char(
        string="API key", compute="_compute_job_worker_api_key_source"
    )
    job_worker_runner_status = fields.Text(
        string="Runner status", compute="_compute_job_worker_runner_status"
    )

    @api.constrains("job_worker_batch_size", "job_worker_max_seconds")
    def _check_job_worker_budget(self):
        for settings in self:
            low, high = BATCH_SIZE_RANGE
            if not low <= settings.job_worker_batch_size <= high:
                raise ValidationError(
                    self.env._(
                        "Jobs per request must be from %(low)s to %(high)s.", low=low, high=high
                    )
                )
            low, high = MAX_SECONDS_RANGE
            if not low <= settings.job_worker_max_seconds <= high:
                raise ValidationError(
                    self.env._(
                        "Seconds per request must be from %(low)s to %(high)s.",
                        low=int(low),
                        high=int(high),
                    )
                )

    def _compute_job_worker_api_key_source(self):
        stored = bool(self.env["ir.config_parameter"].sudo().get_param(KEY_DIGEST_PARAMETER))
        count = len(configured_digests(self.env))
        if stored:
            text = self.env._("A key generated here is active")
            if count > 1:
                text += self.env._(", and one from the configuration file or environment")
        elif count:
            text = self.env._("A key from the configuration file or environment is active")
        else:
            text = self.env._("No key: the endpoints refuse every request")
        refused = [key_length_problem(source, key) for source, key in deployment_keys()]
        for problem in filter(None, refused):
            text += f"; {problem}"
        for settings in self:
            settings.job_worker_api_key_source = text

    def _compute_job_worker_runner_status(self):
        text = describe_runner_status(self.env, runner_status(self.env.cr), with_candidates=True)
        for settings in self:
            settings.job_worker_runner_status = text

    def action_job_worker_generate_api_key(self):
        """Make a new key (the previous one made here stops working) and show it once."""
        self.env["queue.job"]._check_job_queue_manager()
        key = store_new_api_key(self.env)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("New API key: copy it now, it is not shown again"),
                "message": key,
                "type": "warning",
                "sticky": True,
            },
        }

    def action_job_worker_revoke_api_key(self):
        """Forget the key made here."""
        self.env["queue.job"]._check_job_queue_manager()
        revoke_api_key(self.env)
        return {"type": "ir.actions.client", "tag": "reload"}
