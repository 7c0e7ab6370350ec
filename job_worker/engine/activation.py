"""Whether a process's candidate runner is active: cron-worker detection and override.

Odoo.sh starts its cron worker as an Odoo server of its own, with
``--max-cron-threads=0 --limit-time-real-cron=0 --limit-time-real=0``. A server started
with all three is taken for that cron worker and its runner stays inactive: it opens no
election connection. The ``runner`` setting (``auto``, ``on``, ``off``) wins over the
detection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CRON_WORKER_SIGNATURE = ("max_cron_threads", "limit_time_real_cron", "limit_time_real")
"""Server options that are all 0 in an Odoo.sh cron worker, and together nowhere else."""


@dataclass(frozen=True)
class Activation:
    """The decision for one process, and the reason an operator reads in the log."""

    active: bool
    reason: str


def has_cron_worker_signature(server_options: Mapping[str, object]) -> bool:
    """Whether every option of :data:`CRON_WORKER_SIGNATURE` is 0."""
    return all(_is_zero(server_options.get(option)) for option in CRON_WORKER_SIGNATURE)


def decide_activation(runner_mode: str, server_options: Mapping[str, object]) -> Activation:
    """Decide for a process that would otherwise start a candidate (an HTTP worker)."""
    signature = ", ".join(f"{option} = 0" for option in CRON_WORKER_SIGNATURE)
    if runner_mode == "off":
        return Activation(False, "disabled by configuration (runner = off)")
    if runner_mode == "on":
        if has_cron_worker_signature(server_options):
            return Activation(
                True,
                f"enabled by configuration (runner = on) despite the cron-worker "
                f"signature ({signature})",
            )
        return Activation(True, "enabled by configuration (runner = on)")
    if has_cron_worker_signature(server_options):
        return Activation(
            False,
            f"cron worker detected ({signature}, the Odoo.sh cron-worker signature); "
            f"set runner = on in [job_worker] or JOB_WORKER_RUNNER=on to override",
        )
    return Activation(True, "HTTP worker: a candidate for leadership")


def _is_zero(value: object) -> bool:
    try:
        return int(value) == 0
    except (TypeError, ValueError):
        return False
