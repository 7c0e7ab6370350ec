"""The candidate runner embedded in this Odoo process, if it has one.

:mod:`.server_hooks` starts it in each HTTP worker (and in a threaded server), and stops
it when the worker is recycled or the server stops. It reads the ``[job_worker]``
section and ``JOB_WORKER_*`` environment variables once, decides whether the process is
a candidate at all (a cron worker stays inactive), logs that decision and its reason
once, and then serves every database found by :mod:`.served_databases`.
"""

import logging
import os
import threading
from functools import partial

from odoo.tools import config

from ..configuration.config_section import read_job_worker_section
from ..engine.activation import CRON_WORKER_SIGNATURE, Activation, decide_activation
from ..engine.candidate import CandidateStatus
from ..engine.process_runner import build_process_runner
from ..engine.runner import CandidateRunner
from ..engine.runner_config import RunnerConfig, parse_runner_config
from ..processing.job_transaction import engine_connection_params, odoo_transaction_factory
from .served_databases import list_served_databases

_logger = logging.getLogger(__name__)

SHUTDOWN_MARGIN_S = 20.0
"""Beyond the shutdown grace, what a stopping runner is given: its dispatcher interrupts
the jobs still running, waits up to 5 s for them to give back, then joins its threads."""
NOT_SERVER_WIDE = (
    "job_worker is not loaded server-wide, so no HTTP worker runs jobs: add it to "
    "server_wide_modules (--load=base,web,job_worker) and restart"
)
NO_HTTP_WORKER = (
    "this process is not an HTTP worker (an odoo shell, a --stop-after-init or test run, a "
    "prefork master or cron worker, or a server whose HTTP workers have not started)"
)


class _EmbeddedRunnerState:
    """What this process decided about running jobs, and its candidate runner while it runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.config: RunnerConfig | None = None
        self.activation: Activation | None = None
        self.runner: CandidateRunner | None = None
        self.pid: int | None = None


_process = _EmbeddedRunnerState()
_not_server_wide_reported = False


def is_loaded_server_wide() -> bool:
    """Whether ``job_worker`` is among the server-wide modules of this server."""
    return "job_worker" in config["server_wide_modules"]


def warn_once_if_not_server_wide() -> None:
    """Log, once per process, that job_worker is installed but not loaded server-wide."""
    global _not_server_wide_reported
    if _not_server_wide_reported or is_loaded_server_wide():
        return
    _not_server_wide_reported = True
    _logger.warning("job_worker runner: %s", NOT_SERVER_WIDE)


def start_embedded_runner(process_kind: str) -> bool:
    """Decide whether this process is a candidate, log why, and start its runner if so;
    return whether a runner runs in this process.

    ``process_kind`` names the process for the log (a prefork HTTP worker, a threaded
    server). Called once per process, after fork; a later call only starts the runner
    again should its thread have stopped.
    """
    with _process.lock:
        if _process.pid == os.getpid():
            runner = _process.runner
            if runner is None or runner.is_running:
                return runner is not None
            _logger.warning("job_worker runner: its thread had stopped; starting it again")
            runner.stop(timeout_s=_process.config.shutdown_grace + SHUTDOWN_MARGIN_S)
        _process.pid = os.getpid()
        runner_config, problems = parse_runner_config(read_job_worker_section(), os.environ)
        for problem in problems:
            _logger.error("job_worker runner configuration: %s", problem)
        server_options = {option: config[option] for option in CRON_WORKER_SIGNATURE}
        activation = decide_activation(runner_config.runner, server_options)
        _process.config, _process.activation = runner_config, activation
        if not activation.active:
            _logger.info(
                "job_worker runner: inactive in this %s (pid %d): %s",
                process_kind,
                os.getpid(),
                activation.reason,
            )
            return False
        _logger.info(
            "job_worker runner: candidate in this %s (pid %d): %s; up to %d job(s) at once, "
            "leader check every %gs, databases listed every %gs",
            process_kind,
            os.getpid(),
            activation.reason,
            runner_config.max_threads,
            runner_config.leader_check_interval,
            runner_config.database_check_interval,
        )
        if runner_config.databases is not None:
            _logger.info(
                "job_worker runner: serving only the databases of [job_worker] databases: %s",
                ", ".join(runner_config.databases) or "none",
            )
        _process.runner = build_process_runner(
            runner_config,
            list_databases=partial(list_served_databases, runner_config.databases),
            connection_params=engine_connection_params,
            transaction_factory=odoo_transaction_factory,
        )
        _process.runner.start()
        return True


def stop_embedded_runner() -> None:
    """Step down, stop claiming, and give running jobs the shutdown grace to finish."""
    with _process.lock:
        runner, _process.runner = _process.runner, None
    if runner is None:
        return
    grace = _process.config.shutdown_grace
    _logger.info("job_worker runner: stopping (running jobs get up to %gs)", grace)
    runner.stop(timeout_s=grace + SHUTDOWN_MARGIN_S)


def serve_database_soon(dbname: str) -> None:
    """Have this process's runner list its databases now if it does not serve ``dbname``
    yet (job_worker was just installed there, and a keep-alive names it)."""
    runner = _process.runner
    if runner is not None and _process.pid == os.getpid() and dbname not in runner.statuses():
        runner.check_databases_now()


def own_role(dbname: str) -> tuple[str, str]:
    """This process's role for ``dbname``, and why: ``leader``, ``follower``, ``blind``,
    ``joining``, ``disconnected``, or ``inactive``."""
    if not is_loaded_server_wide():
        return "inactive", NOT_SERVER_WIDE
    if _process.activation is None or _process.pid != os.getpid():
        return "inactive", NO_HTTP_WORKER
    if not _process.activation.active:
        return "inactive", _process.activation.reason
    runner = _process.runner
    if runner is None:
        return "inactive", "the runner of this process has stopped"
    status: CandidateStatus | None = runner.statuses().get(dbname)
    if status is None:
        return "joining", (
            "this database is not served yet (job_worker just installed? databases are "
            f"listed every {_process.config.database_check_interval:g}s)"
        )
    return status.role.value, status.reason
