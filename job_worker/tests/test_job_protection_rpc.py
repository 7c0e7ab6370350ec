"""A Job Queue Manager who is not an administrator, logged in, calling JSON-RPC as the
web client does (``/web/dataset/call_kw``) or with an API key (``/json/2``): no way to
make the server run a call of their choosing, and the documented actions still work.

The escalation reported in issue 15 is reproduced first: a job ``res.users.write`` whose
records carry ``{"uid": 1, "su": true}``, adding the manager to Settings.
"""

import json

from odoo.tests import HttpCase, new_test_user, tagged

MANAGER_LOGIN = "job_queue_manager_rpc"


@tagged("post_install", "-at_install")
class TestJobProtectionOverRpc(HttpCase):
    def setUp(self):
        super().setUp()
        self.manager = new_test_user(
            self.env,
            login=MANAGER_LOGIN,
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        self.settings_group = self.env.ref("base.group_system")
        self.assertNotIn(self.settings_group, self.manager.all_group_ids)
        self.partner = self.env["res.partner"].create({"name": "Target"})
        self.job = self.partner.with_delay().write({"name": "planned"}).db_record()
        self.authenticate(MANAGER_LOGIN, MANAGER_LOGIN)

    def call_kw(self, model, method, args, kwargs=None):
        """The JSON-RPC answer of the web client's route: ``result`` or ``error``."""
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        }
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def assertRefused(self, answer, error_name, fragment):
        self.assertIn("error", answer, answer)
        data = answer["error"]["data"]
        self.assertEqual(data["name"], f"odoo.exceptions.{error_name}", data)
        self.assertIn(fragment, data["message"])

    def escalation_values(self):
        records = {
            "_type": "odoo_recordset",
            "model": "res.users",
            "ids": [self.manager.id],
            "uid": 1,
            "su": True,
            "context": {},
        }
        return {
            "uuid": "escalation-by-rpc",
            "name": "Make me an administrator",
            "model_name": "res.users",
            "method_name": "write",
            "records": json.dumps(records),
            "args": json.dumps([{"group_ids": [[4, self.settings_group.id]]}]),
            "kwargs": "{}",
            "user_id": 1,
            "state": "pending",
        }

    def assertNothingStoredNorRun(self):
        self.env.invalidate_all()
        self.assertFalse(
            self.env["queue.job"].search([("model_name", "=", "res.users")]),
            "a job of the manager's choosing was stored",
        )
        self.assertNotIn(self.settings_group, self.manager.all_group_ids)

    # -- the reported escalation -----------------------------------------------------------

    def test_the_reported_escalation_by_create_is_refused_and_nothing_runs(self):
        answer = self.call_kw(
            "queue.job",
            "create",
            [self.escalation_values()],
            {"context": {"job_worker_storing_delayed_jobs": True, "_job_edit_sentinel": True}},
        )
        self.assertRefused(answer, "AccessError", "cannot be created directly")
        self.assertNothingStoredNorRun()

    def test_the_reported_escalation_over_json_2_with_an_api_key_is_refused(self):
        key = (
            self.env["res.users.apikeys"]
            .with_user(self.manager)
            .sudo()
            ._generate("rpc", "job queue manager", None)
        )
        response = self.url_open(
            "/json/2/queue.job/create",
            data=json.dumps({"vals_list": [self.escalation_values()]}),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        )
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("cannot be created directly", response.json()["message"])
        self.assertNothingStoredNorRun()

    def test_the_delay_apis_private_path_is_not_reachable(self):
        for method in ("_create_delayed_jobs", "_write_by_state_action"):
            answer = self.call_kw("queue.job", method, [[self.escalation_values()]])
            self.assertRefused(answer, "AccessError", "cannot be called remotely")
        self.assertNothingStoredNorRun()

    # -- choosing the call after the fact ----------------------------------------------------

    def test_the_call_of_a_stored_job_cannot_be_rewritten(self):
        forged = self.escalation_values()
        for field in ("model_name", "method_name", "records", "args", "kwargs", "user_id"):
            answer = self.call_kw("queue.job", "write", [[self.job.id], {field: forged[field]}])
            self.assertRefused(answer, "UserError", field)
        answer = self.call_kw("queue.job", "copy", [[self.job.id]], {"default": forged})
        self.assertRefused(answer, "AccessError", "cannot be copied")
        self.job.invalidate_recordset()
        self.assertEqual((self.job.model_name, self.job.method_name), ("res.partner", "write"))
        self.assertNothingStoredNorRun()

    def test_a_related_action_cannot_name_copy_unlink_or_a_private_method(self):
        function = self.env["queue.job.function"].create(
            {"model_id": self.env["ir.model"]._get_id("res.partner"), "method": "write"}
        )
        for config in (
            {"func_name": "copy", "kwargs": {"default": {"model_name": "res.users"}}},
            {"func_name": "unlink"},
            {"func_name": "_write_by_state_action", "kwargs": {"vals": {"state": "done"}}},
        ):
            answer = self.call_kw(
                "queue.job.function", "write", [[function.id], {"related_action": config}]
            )
            self.assertRefused(answer, "ValidationError", repr(config["func_name"]))
        answer = self.call_kw("queue.job", "open_related_action", [[self.job.id]])
        self.assertEqual(answer["result"]["res_id"], self.partner.id)
        self.assertEqual(self.job.exists().state, "pending")

    # -- state ---------------------------------------------------------------------------

    def test_the_state_of_a_started_job_cannot_be_written_and_the_actions_leave_it(self):
        self.env.cr.execute("UPDATE queue_job SET state = 'started' WHERE id = %s", [self.job.id])
        for values in ({"state": "pending"}, {"date_started": False}, {"retry": 0}):
            answer = self.call_kw("queue.job", "write", [[self.job.id], values])
            self.assertRefused(answer, "UserError", next(iter(values)))
        answer = self.call_kw("queue.job", "requeue", [[self.job.id]])
        self.assertRefused(answer, "UserError", "running")
        self.job.invalidate_recordset()
        self.assertEqual(self.job.state, "started")

    def test_the_documented_actions_still_work_for_the_manager(self):
        answer = self.call_kw("queue.job", "write", [[self.job.id], {"priority": 2}])
        self.assertIs(answer["result"], True)
        for action in ("button_cancelled", "requeue", "button_done"):
            notification = self.call_kw("queue.job", action, [[self.job.id]])["result"]
            self.assertEqual(notification["params"]["type"], "success", action)
        self.job.invalidate_recordset()
        self.assertEqual((self.job.state, self.job.priority), ("done", 2))
