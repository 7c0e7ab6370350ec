"""What the keep-alive and process endpoints share: reading a request that an uptime
checker sends (key, database, budget, body), refusing bad ones with a clear JSON answer,
and never answering with a traceback.

A refusal is logged once, at WARNING, with the route, the reason and the caller's
address, never with the key.
"""

import datetime
import functools
import json
import logging
from contextlib import contextmanager

from odoo import SUPERUSER_ID, api, http
from odoo.http import request
from odoo.modules.registry import Registry
from werkzeug.exceptions import HTTPException

from ..api_keys.api_key import KeyCheck, check_api_key
from ..processing.budget import Budget, BudgetError, processing_budget
from ..runner.served_databases import has_job_worker_installed

_logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
"""Largest request body accepted: a checker's body is a few hundred bytes."""


class EndpointRefusal(Exception):
    """A request refused: ``status`` is the HTTP status, ``reason`` what the caller is
    told, ``logged_reason`` what the log says (the same unless given)."""

    def __init__(self, status: int, error: str, reason: str, logged_reason: str = ""):
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.logged_reason = logged_reason or reason


KEY_REQUIRED = (401, "key_required", "an API key is required")
WRONG_KEY = (403, "wrong_key", "the API key is not valid")


def utc_timestamp() -> str:
    """Now, in ISO 8601, UTC."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@contextmanager
def database_env(dbname: str):
    """A superuser environment on a new cursor of ``dbname``, committed at the end."""
    registry = Registry(dbname).check_signaling()
    with registry.cursor() as cursor:
        yield api.Environment(cursor, SUPERUSER_ID, {})


def json_response(data: dict, status: int = 200):
    return request.make_json_response(data, status=status)


def read_json_body() -> dict:
    """The request's JSON object, or ``{}`` for an empty body; 400 otherwise."""
    declared = request.httprequest.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise EndpointRefusal(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    raw = request.httprequest.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise EndpointRefusal(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise EndpointRefusal(400, "invalid_json", "the body is not JSON") from None
    except RecursionError:  # nested deeper than Python's stack: not a checker's body
        raise EndpointRefusal(400, "invalid_json", "the body is nested too deeply") from None
    if not isinstance(body, dict):
        raise EndpointRefusal(400, "invalid_json", "the body is not a JSON object")
    return body


def presented_key(params: dict) -> str | None:
    """The key the caller sent: ``Authorization: Bearer``, ``X-Job-Worker-Key``, the
    body's ``api_key``, or the ``key`` query parameter, in that order."""
    headers = request.httprequest.headers
    authorization = headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return (
        headers.get("X-Job-Worker-Key")
        or _text(params.get("api_key"))
        or request.httprequest.args.get("key")
    )


def selected_database(params: dict) -> str:
    """The database named by the ``db`` query parameter or the ``X-Odoo-Database``
    header, else the request's, else the only one this server serves; it must be one
    this server serves (``db_name``, ``dbfilter``) and have job_worker installed.

    A request without a key is refused first, and a database that is not served is
    answered as a wrong key (the log says which): callers without the key learn nothing
    of which databases exist.
    """
    if not presented_key(params):
        raise EndpointRefusal(*KEY_REQUIRED)
    host = request.httprequest.environ.get("HTTP_HOST", "")
    named = request.httprequest.args.get("db") or request.httprequest.headers.get("X-Odoo-Database")
    served = http.db_list(force=True, host=host)
    dbname = named or request.db
    if not dbname:
        if len(served) != 1:
            raise EndpointRefusal(
                400,
                "database_required",
                "this server serves several databases: name one with the db query "
                "parameter or the X-Odoo-Database header",
            )
        dbname = served[0]
    if dbname not in served or not has_job_worker_installed(dbname):
        raise EndpointRefusal(
            *WRONG_KEY, logged_reason=f"no database {dbname!r} with job_worker is served here"
        )
    return dbname


def authenticate(env, params: dict) -> None:
    """Refuse the request unless it carries a configured key."""
    outcome = check_api_key(env, presented_key(params))
    if outcome is KeyCheck.ACCEPTED:
        return
    if outcome is KeyCheck.MISSING:
        raise EndpointRefusal(*KEY_REQUIRED)
    if outcome is KeyCheck.DISABLED:
        # Answered as a wrong key: a caller without the key must not learn that this
        # database exists and has job_worker. The operator reads why in the log.
        raise EndpointRefusal(
            *WRONG_KEY,
            logged_reason="no API key is configured for this database, so every key is "
            "refused (Job Queue > Settings, [job_worker] api_key, or JOB_WORKER_API_KEY)",
        )
    raise EndpointRefusal(*WRONG_KEY)


def requested_budget(env, params: dict) -> Budget:
    """``batch_size`` and ``max_seconds`` from the request, else from Settings; 400 naming
    the field when one is not a number in its range."""
    try:
        return processing_budget(env, params.get("batch_size"), params.get("max_seconds"))
    except BudgetError as error:
        raise EndpointRefusal(400, "invalid_parameter", str(error)) from None


def refusals_answered(answer_refusal):
    """Decorate an endpoint: a refusal becomes ``answer_refusal(refusal)``, logged once;
    any other error a generic 500, its traceback in the server log only."""

    def decorate(endpoint):
        @functools.wraps(endpoint)
        def serve(self, *args, **kwargs):
            try:
                return endpoint(self, *args, **kwargs)
            except EndpointRefusal as refusal:
                _log_refusal(refusal)
                return answer_refusal(refusal)
            except HTTPException as error:  # e.g. 413 raised by werkzeug reading the body
                refusal = EndpointRefusal(error.code or 400, "bad_request", error.name)
                _log_refusal(refusal)
                return answer_refusal(refusal)
            except Exception:
                _logger.exception("job_worker endpoint %s failed", request.httprequest.path)
                return answer_refusal(
                    EndpointRefusal(500, "internal_error", "the request failed; see the server log")
                )

        return serve

    return decorate


def refusal_json(refusal: EndpointRefusal):
    """The plain JSON answer to a refusal."""
    return json_response(
        {
            "status": "error",
            "error": refusal.error,
            "message": refusal.reason,
            "timestamp": utc_timestamp(),
        },
        status=refusal.status,
    )


def _log_refusal(refusal: EndpointRefusal) -> None:
    _logger.warning(
        "job_worker endpoint %s refused a request from %s: %s (%s)",
        request.httprequest.path,
        request.httprequest.remote_addr,
        refusal.logged_reason,
        refusal.status,
    )


def _text(value) -> str | None:
    return value if isinstance(value, str) else None
