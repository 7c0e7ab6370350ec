"""Where an HTTP request turns into processing: the keep-alive and process endpoints.

An uptime checker calling ``/job_worker/keepalive`` keeps the worker that serves it
awake, makes sure that worker's candidate runner runs, and wakes the leader;
``/job_worker/process`` also runs a bounded batch of due jobs within the request;
``/api/v1/queue/process`` does the same for callers written for ``deltatech_queue_job``.
All go through the engine: channels, locks and capacities hold beside the leader.
"""

import logging
import time

from odoo import http
from odoo.http import request

from ..engine.backlog import read_backlog
from ..engine.request_admission import request_admission
from ..engine.schema import NOTIFY_CHANNEL
from ..processing.budget import concurrent_requests_limit
from ..processing.database_processing import process_due_jobs_in_database
from ..processing.job_transaction import engine_connection_params
from ..runner.embedded_runner import serve_database_soon
from ..runner.server_hooks import ensure_runner_started
from ..runner.status import runner_status
from .endpoint_request import (
    EndpointRefusal,
    authenticate,
    database_env,
    json_response,
    read_json_body,
    refusal_json,
    refusals_answered,
    requested_budget,
    selected_database,
    utc_timestamp,
)

_logger = logging.getLogger(__name__)

ROUTE_OPTIONS = {
    "type": "http",
    "auth": "none",
    "csrf": False,
    "readonly": False,
    "save_session": False,
}
"""No ``max_content_length``: Odoo would answer an oversized body with its HTML page
before the endpoint runs; :func:`.endpoint_request.read_json_body` refuses it in JSON."""


class ProcessingEndpoints(http.Controller):
    @http.route("/job_worker/keepalive", methods=["GET", "POST"], **ROUTE_OPTIONS)
    @refusals_answered(refusal_json)
    def keepalive(self, **_query):
        """Keep this worker's runner alive and wake the leader; report the queue."""
        body = read_json_body() if request.httprequest.method == "POST" else {}
        dbname = selected_database(body)
        with database_env(dbname) as env:
            authenticate(env, body)
            ensure_runner_started()
            serve_database_soon(dbname)
            env.cr.execute("SELECT pg_notify(%s, 'keepalive')", [NOTIFY_CHANNEL])
            backlog = read_backlog(env.cr)
            status = runner_status(env.cr)
        return json_response(
            {
                "status": "ok",
                "database": dbname,
                "runner": status,
                "pending_count": backlog.pending,
                "due_count": backlog.due,
                "oldest_due_age_s": backlog.oldest_due_age_s,
                "timestamp": utc_timestamp(),
            }
        )

    @http.route("/job_worker/process", methods=["POST"], **ROUTE_OPTIONS)
    @refusals_answered(refusal_json)
    def process(self, **_query):
        """Run a bounded batch of due jobs in this request; report what it did."""
        body = read_json_body()
        params = {**request.httprequest.args.to_dict(), **body}
        result = _process_in_request(params)
        return json_response({**result, "timestamp": utc_timestamp()})

    @http.route("/api/v1/queue/process", methods=["POST"], **ROUTE_OPTIONS)
    @refusals_answered(lambda refusal: _jsonrpc_refusal(refusal))  # defined below
    def process_jsonrpc(self, **_query):
        """``deltatech_queue_job``'s endpoint: a JSON-RPC body ``{"params": {"api_key",
        "batch_size", "max_seconds"}}``, answered with its result fields."""
        body = read_json_body()
        params = body.get("params", {})
        if not isinstance(params, dict):
            raise EndpointRefusal(400, "invalid_json", "params is not a JSON object")
        result = _process_in_request(params)
        return json_response(
            {
                "jsonrpc": "2.0",
                "id": body.get("id"),
                "result": {
                    "status": "success",
                    "busy": result["busy"],
                    **({"message": result["message"]} if result["busy"] else {}),
                    "processed": result["processed"],
                    "failed": result["failed"],
                    "pending_count": result["pending_count"],
                    "time_elapsed": result["time_elapsed"],
                    "timestamp": time.strftime("%Y-%m-%d %H:%M:%S"),
                },
            }
        )


def _process_in_request(params: dict) -> dict:
    """Process a bounded batch, unless enough requests process this database already:
    then nothing is done, at once, and the answer says so (``busy`` and a ``message``).
    The request itself succeeded: an uptime checker keeping the worker awake stays green
    while another request runs the jobs."""
    dbname = selected_database(params)
    with database_env(dbname) as env:
        authenticate(env, params)
        budget = requested_budget(env, params)
        limit = concurrent_requests_limit(env)
    with request_admission(engine_connection_params(dbname), limit) as already_processing:
        if already_processing is None:
            # Every job ends within the budget, whatever its own timeout: the request
            # must end before Odoo's limit_time_real kills the worker mid-job.
            report = process_due_jobs_in_database(
                dbname, budget.batch_size, budget.max_seconds, jobs_end_within_budget=True
            )
    with database_env(dbname) as env:
        backlog = read_backlog(env.cr)
    if already_processing is not None:
        _logger.info(
            "job_worker: a process request for %s did nothing: %d request(s) process it already",
            dbname,
            already_processing,
        )
        return {
            "status": "ok",
            "busy": True,
            "message": f"nothing was processed: {already_processing} other request(s) "
            f"process this database's jobs already, and at most {limit} may at once",
            "database": dbname,
            "processed": 0,
            "done": 0,
            "failed": 0,
            "pending_count": backlog.pending,
            "time_elapsed": 0.0,
        }
    return {
        "status": "ok",
        "busy": False,
        "database": dbname,
        "processed": report.processed,
        "done": report.done,
        "failed": report.failed,
        "pending_count": backlog.pending,
        "time_elapsed": round(report.elapsed_s, 3),
    }


def _jsonrpc_refusal(refusal: EndpointRefusal):
    """A refusal as ``deltatech_queue_job`` answers one (its callers read ``result``),
    with the HTTP status telling it too."""
    return json_response(
        {
            "jsonrpc": "2.0",
            "id": None,
            "result": {
                "status": "error",
                "message": refusal.reason,
                "code": refusal.status,
                "error": refusal.error,
            },
        },
        status=refusal.status,
    )
