"""The endpoints against what a security review threw at them: bodies nested too deep or
too large, made-up keys when none is configured, keys in the request log, short keys
in the configuration, and requests that would hold every HTTP worker at once."""

import json
import logging

from odoo.tests import HttpCase, tagged

from ..api_keys import api_key
from ..controllers import endpoint_request
from ..controllers.request_log_redaction import REDACTED, redact_keys
from ..engine.connection import connect_engine
from ..engine.request_admission import REQUEST_PREFIX
from ..processing import budget
from ..processing.job_transaction import engine_connection_params

LOGGER = "odoo.addons.job_worker.controllers.endpoint_request"
KEY_LOGGER = "odoo.addons.job_worker.api_keys.api_key"
LONG_ENOUGH = "k" * api_key.MIN_KEY_LENGTH


@tagged("post_install", "-at_install")
class TestEndpointHardening(HttpCase):
    def setUp(self):
        super().setUp()
        self.key = api_key.store_new_api_key(self.env)
        self.dbname = self.env.cr.dbname
        self.patch(api_key, "read_job_worker_section", dict)
        self.patch(api_key, "environment_api_key", lambda: None)
        self.patch(api_key, "_reported_problems", set())

    def call(self, path, method="GET", key=None, body=None, raw=None, query=None, headers=None):
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if raw is not None:
            headers.setdefault("Content-Type", "application/json")
        return self.url_open(
            path,
            method=method,
            params={"db": self.dbname, **(query or {})},
            headers=headers,
            json=body,
            data=raw,
        )

    def test_a_deeply_nested_body_without_a_key_gets_400_logged_once_without_a_traceback(self):
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            response = self.call(
                "/job_worker/process", method="POST", raw=b"[" * 8000 + b"]" * 8000
            )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_json")
        self.assertEqual(len(logs.records), 1)
        self.assertEqual(logs.records[0].levelno, logging.WARNING)
        self.assertIsNone(logs.records[0].exc_info)
        self.assertIn("nested too deeply", logs.output[0])

    def test_without_a_configured_key_a_made_up_key_gets_the_wrong_keys_403(self):
        wrong = self.call("/job_worker/keepalive", key="made-up")
        api_key.revoke_api_key(self.env)
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            made_up = self.call("/job_worker/keepalive", key="made-up")
        self.assertEqual((wrong.status_code, made_up.status_code), (403, 403))
        self.assertEqual(made_up.json()["error"], wrong.json()["error"])
        self.assertEqual(made_up.json()["message"], wrong.json()["message"])
        self.assertIn("no API key is configured", logs.output[0])
        self.assertEqual(self.call("/job_worker/process", method="POST").status_code, 401)

    def test_a_key_in_the_query_string_is_redacted_from_the_request_log(self):
        with self.assertLogs("werkzeug", logging.INFO) as logs:
            response = self.call("/job_worker/keepalive", query={"key": self.key})
        self.assertEqual(response.status_code, 200)
        lines = [record.getMessage() for record in logs.records]
        request_lines = [line for line in lines if "/job_worker/keepalive" in line]
        self.assertEqual(len(request_lines), 1, lines)
        self.assertNotIn(self.key, request_lines[0])
        self.assertIn(f"key={REDACTED}", request_lines[0])
        self.assertIn(f"db={self.dbname}", request_lines[0])

    def test_redaction_leaves_other_routes_and_parameters_alone(self):
        self.assertEqual(
            redact_keys("GET /api/v1/queue/process?api_key=abc&x=1 HTTP/1.1"),
            f"GET /api/v1/queue/process?api_key={REDACTED}&x=1 HTTP/1.1",
        )
        self.assertEqual(redact_keys("GET /web?key=abc HTTP/1.1"), "GET /web?key=abc HTTP/1.1")
        self.assertEqual(
            redact_keys("GET /job_worker/keepalive?monkey=1 HTTP/1.1"),
            "GET /job_worker/keepalive?monkey=1 HTTP/1.1",
        )

    def test_an_oversized_body_with_a_declared_length_gets_the_json_413(self):
        raw = json.dumps({"padding": "x" * (endpoint_request.MAX_BODY_BYTES + 1)}).encode()
        for path in ("/job_worker/process", "/job_worker/keepalive"):
            response = self.call(path, method="POST", key=self.key, raw=raw)
            self.assertEqual(response.status_code, 413, path)
            self.assertEqual(response.json()["error"], "body_too_large", path)
        response = self.call("/api/v1/queue/process", method="POST", raw=raw)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["result"]["error"], "body_too_large")

    def test_short_keys_of_the_file_or_environment_are_refused_naming_their_source(self):
        api_key.revoke_api_key(self.env)
        self.patch(api_key, "read_job_worker_section", lambda: {"api_key": "short-file-key"})
        self.patch(api_key, "environment_api_key", lambda: "short-env-key")
        with self.assertLogs(KEY_LOGGER, logging.ERROR) as logs:
            for key in ("short-file-key", "short-env-key"):
                self.assertEqual(self.call("/job_worker/keepalive", key=key).status_code, 403)
        self.assertEqual(len(logs.output), 2)  # once per source, however many requests
        self.assertIn("[job_worker] api_key", logs.output[0])
        self.assertIn("JOB_WORKER_API_KEY", logs.output[1])
        self.assertIn(f"at least {api_key.MIN_KEY_LENGTH}", logs.output[0])
        self.assertNotIn("short-file-key", logs.output[0])
        self.patch(api_key, "read_job_worker_section", lambda: {"api_key": LONG_ENOUGH})
        self.assertEqual(self.call("/job_worker/keepalive", key=LONG_ENOUGH).status_code, 200)

    def test_a_process_request_while_another_processes_answers_at_once_that_it_did_nothing(self):
        other_request = connect_engine(
            engine_connection_params(self.dbname), f"{REQUEST_PREFIX}other:1"
        )
        try:
            busy = self.call("/job_worker/process", method="POST", key=self.key, body={})
            deltatech = self.call(
                "/api/v1/queue/process",
                method="POST",
                body={"jsonrpc": "2.0", "id": 3, "params": {"api_key": self.key}},
            )
        finally:
            other_request.close()
        free = self.call("/job_worker/process", method="POST", key=self.key, body={})
        self.assertEqual(busy.status_code, 200)
        answer = busy.json()
        self.assertEqual((answer["busy"], answer["processed"]), (True, 0))
        self.assertIn("nothing was processed", answer["message"])
        self.assertIn("at most 1", answer["message"])
        result = deltatech.json()["result"]
        self.assertEqual((result["busy"], result["processed"]), (True, 0))
        self.assertIn("nothing was processed", result["message"])
        self.assertIs(free.json()["busy"], False)

    def test_how_many_requests_may_process_at_once_is_a_system_parameter(self):
        parameters = self.env["ir.config_parameter"].sudo()
        parameters.set_param(budget.CONCURRENT_REQUESTS_PARAMETER, "2")
        other_request = connect_engine(
            engine_connection_params(self.dbname), f"{REQUEST_PREFIX}other:1"
        )
        try:
            answer = self.call("/job_worker/process", method="POST", key=self.key, body={})
            self.assertIs(answer.json()["busy"], False)
            parameters.set_param(budget.CONCURRENT_REQUESTS_PARAMETER, "lots")
            with self.assertLogs(budget.__name__, logging.WARNING):
                answer = self.call("/job_worker/process", method="POST", key=self.key, body={})
            self.assertIs(answer.json()["busy"], True)  # the default, 1, and a warning
        finally:
            other_request.close()
