"""Where candidates start: hooks into Odoo's servers, installed by the ``post_load`` of
the server-wide ``job_worker`` module.

- A prefork server (``workers > 0``): each ``WorkerHTTP`` starts a candidate once forked
  (never the master, whose threads fork badly), and stops it in ``WorkerHTTP.stop``, run
  when the worker leaves its loop: recycled (memory, request count) or told to stop.
  ``WorkerCron`` processes are not hooked.
- A threaded server (``workers = 0``, the shape of each Odoo.sh worker): the candidate
  starts with the cron threads, which Odoo spawns only for a long-running server (not
  for ``odoo-bin shell``, ``--stop-after-init``, tests, or install and upgrade runs),
  and stops with the server (``on_stop``), before its connections are closed.
- No candidate in the gevent process, in a server started with ``--no-http``, or in a
  process with the Odoo.sh cron-worker signature (see :mod:`.engine.activation`).
"""

import functools
import logging

import odoo
from odoo.modules import module as odoo_module
from odoo.service import server as odoo_server
from odoo.tools import config

from .embedded_runner import is_loaded_server_wide, start_embedded_runner, stop_embedded_runner

_logger = logging.getLogger(__name__)

_hooks_installed = False


def install_server_hooks():
    """``post_load`` of ``job_worker``: hook the servers when loaded server-wide."""
    global _hooks_installed
    if _hooks_installed or not is_loaded_server_wide() or odoo.evented:
        # Not server-wide: loaded with a registry, too late for the server; the first
        # request and the runner status say so. The gevent process never runs jobs.
        return
    _hooks_installed = True
    worker_http = odoo_server.WorkerHTTP
    threaded_server = odoo_server.ThreadedServer
    worker_http.start = _after(worker_http.start, _start_in_http_worker)
    worker_http.stop = _before(worker_http.stop, stop_embedded_runner)
    threaded_server.cron_spawn = _after(threaded_server.cron_spawn, _start_in_threaded_server)


def _after(original, extra):
    @functools.wraps(original)
    def hooked(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        _never_failing(extra)
        return result

    return hooked


def _before(original, extra):
    @functools.wraps(original)
    def hooked(self, *args, **kwargs):
        _never_failing(extra)
        return original(self, *args, **kwargs)

    return hooked


def _never_failing(extra):
    """Run a hook of the runner; an error is logged, never raised into Odoo's server
    (a worker whose start raised would exit, be respawned, and fail again)."""
    try:
        extra()
    except Exception:
        _logger.exception("job_worker runner: its server hook failed; this process runs no jobs")


def _start_in_http_worker():
    if _is_one_off_run():
        return
    start_embedded_runner("prefork HTTP worker")


def _start_in_threaded_server():
    if _is_one_off_run():
        return
    if not config["http_enable"]:
        _logger.info(
            "job_worker runner: inactive in this threaded server: started with --no-http "
            "(a cron-only process)"
        )
        return
    odoo_server.CommonServer.on_stop(stop_embedded_runner)
    start_embedded_runner("threaded server")


def ensure_runner_started():
    """Start this process's runner if it should have one and has none running (a
    keep-alive request reaching a worker just woken, or whose runner died); return
    whether a runner runs here now."""
    if not _hooks_installed or _is_one_off_run() or not config["http_enable"]:
        return False
    server = odoo_server.server
    if isinstance(server, odoo_server.ThreadedServer):
        return start_embedded_runner("threaded server")
    if isinstance(server, odoo_server.PreforkServer):
        return start_embedded_runner("prefork HTTP worker")
    return False


def _is_one_off_run():
    """Test runs and ``--stop-after-init`` runs (installs, upgrades) never run jobs."""
    return bool(config["test_enable"] or config["stop_after_init"] or odoo_module.current_test)
