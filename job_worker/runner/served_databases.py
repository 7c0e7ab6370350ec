"""The databases an embedded runner serves: those this server would serve (``db_name``,
``dbfilter``) that have ``job_worker`` installed, among ``[job_worker] databases`` when
it is set."""

import logging
from contextlib import closing

import psycopg2
from odoo import http, sql_db
from odoo.service import db as db_service
from odoo.tools import config

_logger = logging.getLogger(__name__)

RUNNER_PARAMETER = "job_worker.runner"
"""``ir.config_parameter``: ``disabled`` keeps every worker from leading the database."""
RUNNER_ENABLED = "enabled"
RUNNER_DISABLED = "disabled"

_host_filter_reported: tuple[str, ...] | None = None


def list_served_databases(only: tuple[str, ...] | None = None) -> list[str]:
    """Databases of this server that have ``job_worker`` installed, by name; with
    ``only`` (``[job_worker] databases``), those of them named there."""
    names = db_service.list_dbs(force=True)
    dbfilter = config["dbfilter"]
    host_dependent = bool(dbfilter) and ("%h" in dbfilter or "%d" in dbfilter)
    if host_dependent:
        # The filter depends on each request's host, which a background thread has not:
        # serve the databases the server lists (restricted to db_name when it is set).
        if config["db_name"]:
            names = sorted(set(config["db_name"]).intersection(names))
    else:
        names = http.db_filter(names, host="")
    if only is not None:
        names = [name for name in names if name in only]
    served = [name for name in names if has_job_worker_installed(name, for_runner=True)]
    if host_dependent and only is None:
        _warn_host_filter(dbfilter, served)
    return served


def has_job_worker_installed(dbname: str, for_runner: bool = False) -> bool:
    """Whether ``dbname`` is an Odoo database where ``job_worker`` is installed (not
    being installed or upgraded by another process); with ``for_runner``, also whether
    its embedded runner is enabled (Job Queue > Settings). A database that exists but
    cannot be reached now raises ``psycopg2.OperationalError``."""
    try:
        with closing(sql_db.db_connect(dbname).cursor()) as cursor:
            cursor.execute("SELECT to_regclass('ir_module_module') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute(
                "SELECT module.state,"
                " (SELECT value FROM ir_config_parameter WHERE key = %s)"
                " FROM ir_module_module AS module WHERE module.name = 'job_worker'",
                [RUNNER_PARAMETER],
            )
            row = cursor.fetchone()
    except psycopg2.OperationalError as error:
        if "does not exist" in str(error):  # named by db_name, but not there
            return False
        # Unreachable for now (too many clients, a failover): say so, rather than
        # "not installed", which would stop the database's leader. The runner keeps
        # the databases it serves when listing them fails.
        raise
    if not row or row[0] != "installed":
        return False
    return not (for_runner and row[1] == RUNNER_DISABLED)


def _warn_host_filter(dbfilter: str, served: list[str]) -> None:
    """One WARNING when the databases served under a host-dependent filter are first
    known, and again whenever they change: a copy of production (a staging database)
    restored on the same cluster would run production's jobs, e-mails included."""
    global _host_filter_reported
    if _host_filter_reported == tuple(served):
        return
    _host_filter_reported = tuple(served)
    _logger.warning(
        "job_worker runner: dbfilter %r depends on the request's host, so the runner "
        "serves every database %s that has job_worker installed: %s. Set [job_worker] "
        "databases = <name>,... (or JOB_WORKER_DATABASES) to serve only those",
        dbfilter,
        "of db_name" if config["db_name"] else "Odoo lists (all those of its PostgreSQL user)",
        ", ".join(served) or "none",
    )
