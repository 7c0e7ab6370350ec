"""How much one request-bound processing may do: a job count and a time budget.

The process endpoint and the Process buttons take theirs from the request or from Job
Queue > Settings; both are validated here, and the time budget is kept under Odoo's
``limit_time_real`` so the worker serving the request is not killed mid-job. How many
process requests of a database may run at once is read here too.
"""

import logging
from dataclasses import dataclass

from odoo.tools import config

from ..engine.request_admission import MAX_CONCURRENT_REQUESTS
from .database_processing import DEFAULT_BATCH_SIZE, DEFAULT_MAX_SECONDS

_logger = logging.getLogger(__name__)

BATCH_SIZE_PARAMETER = "job_worker.batch_size"
MAX_SECONDS_PARAMETER = "job_worker.max_seconds"
CONCURRENT_REQUESTS_PARAMETER = "job_worker.concurrent_requests"
"""``ir.config_parameter``: process requests of this database that may run at once."""
BATCH_SIZE_RANGE = (1, 1000)
MAX_SECONDS_RANGE = (1.0, 600.0)
CONCURRENT_REQUESTS_RANGE = (1, 64)
MAX_SECONDS_HEADROOM_S = 10.0
"""Processing stops this long before ``limit_time_real`` would kill the worker."""


class BudgetError(ValueError):
    """A budget value out of range; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Budget:
    """How much one processing may do."""

    batch_size: int
    max_seconds: float


def processing_budget(env, batch_size=None, max_seconds=None) -> Budget:
    """The budget asked for (numbers, or text from a query string), each value defaulting
    to Settings; :class:`BudgetError` naming the field when one is out of range."""
    settings = env["ir.config_parameter"].sudo()
    high = MAX_SECONDS_RANGE[1]
    if config["limit_time_real"] and config["limit_time_real"] > 0:
        high = max(
            MAX_SECONDS_RANGE[0], min(high, config["limit_time_real"] - MAX_SECONDS_HEADROOM_S)
        )
    default_batch = int(settings.get_param(BATCH_SIZE_PARAMETER, DEFAULT_BATCH_SIZE))
    default_seconds = float(settings.get_param(MAX_SECONDS_PARAMETER, DEFAULT_MAX_SECONDS))
    return Budget(
        batch_size=_number("batch_size", batch_size, int, BATCH_SIZE_RANGE, default_batch),
        max_seconds=_number(
            "max_seconds",
            max_seconds,
            float,
            (MAX_SECONDS_RANGE[0], high),
            min(high, default_seconds),
        ),
    )


def concurrent_requests_limit(env) -> int:
    """How many process requests of this database may run at once (default 1, so that a
    second one leaves its HTTP worker to users); a stored value out of range is logged
    and the default used."""
    stored = env["ir.config_parameter"].sudo().get_param(CONCURRENT_REQUESTS_PARAMETER)
    try:
        return _number(
            CONCURRENT_REQUESTS_PARAMETER,
            stored,
            int,
            CONCURRENT_REQUESTS_RANGE,
            MAX_CONCURRENT_REQUESTS,
        )
    except BudgetError as error:
        _logger.warning("job_worker: %s; using %d", error, MAX_CONCURRENT_REQUESTS)
        return MAX_CONCURRENT_REQUESTS


def _number(field, value, kind, bounds, default):
    if value is None or value == "":
        return default
    low, high = bounds
    try:
        if isinstance(value, bool) or (
            kind is int and isinstance(value, float) and not value.is_integer()
        ):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise BudgetError(field, f"{field} must be a number from {low:g} to {high:g}")
    return number
