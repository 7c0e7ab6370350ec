from odoo import models

from ..runner.embedded_runner import warn_once_if_not_server_wide


class IrHttp(models.AbstractModel):
    """Tells, on the first request a process serves, that job_worker is not loaded
    server-wide when it is not: then no worker runs jobs by itself."""

    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        warn_once_if_not_server_wide()
        return super()._pre_dispatch(rule, args)
