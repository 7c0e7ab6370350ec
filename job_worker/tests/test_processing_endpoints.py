"""The keep-alive and process endpoints over real HTTP: keys, database selection, bodies,
parameters, refusals, and the answers uptime checkers read.

(Jobs these requests process must be committed for the engine to see them; the
end-to-end tests in ``tests/`` process real jobs through a running server.)
"""

import json
import logging

from odoo.tests import HttpCase, tagged

from ..api_keys import api_key
from ..api_keys.key_digest import key_digest
from ..controllers import endpoint_request, processing_endpoints

LOGGER = "odoo.addons.job_worker.controllers.endpoint_request"


@tagged("post_install", "-at_install")
class TestProcessingEndpoints(HttpCase):
    def setUp(self):
        super().setUp()
        self.key = api_key.store_new_api_key(self.env)
        self.dbname = self.env.cr.dbname
        self.patch(api_key, "read_job_worker_section", dict)
        self.patch(api_key, "environment_api_key", lambda: None)

    def call(self, path, method="GET", key=None, body=None, raw=None, headers=None, query=None):
        params = {"db": self.dbname, **(query or {})}
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if raw is not None:
            headers.setdefault("Content-Type", "application/json")
        return self.url_open(
            path,
            method=method,
            params=params,
            headers=headers,
            json=body,
            data=raw,
        )

    # -- keep-alive ------------------------------------------------------------------------

    def test_keepalive_answers_the_queue_and_runner_status_to_a_get(self):
        response = self.call("/job_worker/keepalive", key=self.key)
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        self.assertEqual(answer["status"], "ok")
        self.assertEqual(answer["database"], self.dbname)
        self.assertIsInstance(answer["pending_count"], int)
        self.assertIn("due_count", answer)
        self.assertIn("oldest_due_age_s", answer)
        self.assertIn("timestamp", answer)
        runner = answer["runner"]
        self.assertEqual(runner["database"], self.dbname)
        self.assertIn(runner["this_process"]["role"], ("inactive", "leader", "follower"))
        self.assertIn("candidates", runner)

    def test_keepalive_takes_the_key_from_a_header_or_the_query_string_and_post(self):
        by_header = self.call("/job_worker/keepalive", headers={"X-Job-Worker-Key": self.key})
        by_query = self.call("/job_worker/keepalive", query={"key": self.key})
        by_post = self.call("/job_worker/keepalive", method="POST", key=self.key, body={})
        self.assertEqual(
            [by_header.status_code, by_query.status_code, by_post.status_code], [200, 200, 200]
        )

    def test_keepalive_counts_pending_and_due_jobs(self):
        before = self.call("/job_worker/keepalive", key=self.key).json()
        self.env["res.partner"].with_delay().write({"name": "due"})
        self.env["res.partner"].with_delay(eta=3600).write({"name": "later"})
        after = self.call("/job_worker/keepalive", key=self.key).json()
        self.assertEqual(after["pending_count"], before["pending_count"] + 2)
        self.assertEqual(after["due_count"], before["due_count"] + 1)
        self.assertGreaterEqual(after["oldest_due_age_s"], 0)

    # -- keys ------------------------------------------------------------------------------

    def test_a_missing_key_gets_401_and_a_wrong_one_403_whatever_its_length(self):
        missing = self.call("/job_worker/keepalive")
        wrong = self.call("/job_worker/keepalive", key=self.key[:-1] + "x")
        short = self.call("/job_worker/keepalive", key="short")
        self.assertEqual(missing.status_code, 401)
        self.assertEqual(missing.json()["error"], "key_required")
        self.assertEqual((wrong.status_code, short.status_code), (403, 403))
        self.assertEqual(wrong.json()["message"], short.json()["message"])

    def test_without_a_configured_key_any_key_is_refused_as_a_wrong_one(self):
        api_key.revoke_api_key(self.env)
        response = self.call("/job_worker/keepalive", key="anything")
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"], "wrong_key")

    def test_a_key_from_the_configuration_file_or_environment_is_accepted(self):
        api_key.revoke_api_key(self.env)
        from_file, from_environment = "from-the-file-" * 3, "from-the-environment-" * 2
        self.patch(api_key, "read_job_worker_section", lambda: {"api_key": from_file})
        self.patch(api_key, "environment_api_key", lambda: from_environment)
        for key in (from_file, from_environment):
            self.assertEqual(self.call("/job_worker/keepalive", key=key).status_code, 200)
        self.assertEqual(self.call("/job_worker/keepalive", key="other").status_code, 403)

    def test_only_a_digest_of_a_generated_key_is_stored_and_rotation_revokes_it(self):
        stored = self.env["ir.config_parameter"].sudo().get_param(api_key.KEY_DIGEST_PARAMETER)
        self.assertEqual(stored, key_digest(self.key))
        self.assertNotIn(self.key, stored)
        new_key = api_key.store_new_api_key(self.env)
        self.assertEqual(self.call("/job_worker/keepalive", key=self.key).status_code, 403)
        self.assertEqual(self.call("/job_worker/keepalive", key=new_key).status_code, 200)

    def test_each_refusal_is_logged_once_without_the_key(self):
        wrong_key = "a-wrong-key-that-must-not-be-logged"
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            self.call("/job_worker/keepalive", key=wrong_key)
        self.assertEqual(len(logs.output), 1)
        self.assertIn("the API key is not valid", logs.output[0])
        self.assertNotIn(wrong_key, logs.output[0])

    # -- databases -------------------------------------------------------------------------

    def test_an_unknown_database_is_answered_as_a_wrong_key_and_logged_for_what_it_is(self):
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            unknown = self.call(
                "/job_worker/keepalive", key=self.key, query={"db": "job_worker_no_such_db"}
            )
        wrong_key = self.call("/job_worker/keepalive", key="not-the-key")
        self.assertEqual(unknown.status_code, 403)
        self.assertEqual(unknown.json()["message"], wrong_key.json()["message"])
        self.assertIn("no database 'job_worker_no_such_db'", logs.output[0])
        without_key = self.call("/job_worker/keepalive", query={"db": "job_worker_no_such_db"})
        self.assertEqual(without_key.status_code, 401)

    # -- processing ------------------------------------------------------------------------

    def test_process_answers_what_it_did(self):
        response = self.call(
            "/job_worker/process",
            method="POST",
            key=self.key,
            body={"batch_size": 5, "max_seconds": 5},
        )
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        self.assertEqual(answer["status"], "ok")
        for field in ("processed", "failed", "pending_count", "time_elapsed", "timestamp"):
            self.assertIn(field, answer)

    def test_process_refuses_a_get(self):
        response = self.call("/job_worker/process", key=self.key)
        self.assertEqual(response.status_code, 405)

    def test_out_of_range_parameters_get_400_naming_the_field(self):
        for body, field in (
            ({"batch_size": 0}, "batch_size"),
            ({"batch_size": 100000}, "batch_size"),
            ({"batch_size": "lots"}, "batch_size"),
            ({"batch_size": 2.5}, "batch_size"),
            ({"max_seconds": -1}, "max_seconds"),
            ({"max_seconds": "soon"}, "max_seconds"),
        ):
            response = self.call("/job_worker/process", method="POST", key=self.key, body=body)
            self.assertEqual(response.status_code, 400, body)
            self.assertTrue(response.json()["message"].startswith(field), body)

    def test_a_body_that_is_not_json_gets_400(self):
        for raw in (b"batch_size=5", b"[1, 2]", b"\xff\xfe"):
            response = self.call("/job_worker/process", method="POST", key=self.key, raw=raw)
            self.assertEqual(response.status_code, 400, raw)
            self.assertEqual(response.json()["error"], "invalid_json")

    def test_an_oversized_body_is_refused(self):
        raw = json.dumps({"padding": "x" * (endpoint_request.MAX_BODY_BYTES + 1)}).encode()
        response = self.call("/job_worker/process", method="POST", key=self.key, raw=raw)
        self.assertEqual(response.status_code, 413)

    def test_an_internal_error_is_answered_without_a_traceback(self):
        def broken(cursor):
            raise RuntimeError("the backlog cannot be read")

        self.patch(processing_endpoints, "read_backlog", broken)
        with self.assertLogs("odoo.addons.job_worker.controllers.endpoint_request", "ERROR"):
            response = self.call("/job_worker/keepalive", key=self.key)
        self.assertEqual(response.status_code, 500)
        self.assertNotIn("Traceback", response.text)
        self.assertNotIn("the backlog cannot be read", response.text)

    # -- deltatech_queue_job's endpoint ------------------------------------------------------

    def test_the_jsonrpc_endpoint_takes_deltatech_bodies(self):
        response = self.call(
            "/api/v1/queue/process",
            method="POST",
            body={"jsonrpc": "2.0", "id": 7, "params": {"api_key": self.key, "batch_size": 3}},
        )
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        self.assertEqual((answer["jsonrpc"], answer["id"]), ("2.0", 7))
        result = answer["result"]
        self.assertEqual(result["status"], "success")
        for field in ("processed", "failed", "pending_count", "time_elapsed", "timestamp"):
            self.assertIn(field, result)

    def test_the_jsonrpc_endpoint_refuses_a_wrong_key_as_deltatech_does(self):
        response = self.call(
            "/api/v1/queue/process",
            method="POST",
            body={"jsonrpc": "2.0", "params": {"api_key": "wrong"}},
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["result"]["status"], "error")
        self.assertEqual(response.json()["result"]["code"], 403)
