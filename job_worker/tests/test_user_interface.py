"""The web client, driven in a real browser (headless Chromium) by the tours of
``static/tests/tours``: every button, menu, action and view of Job Queue, pressed as a
Job Queue Manager who is not an administrator (Settings and scheduled actions as the
administrator, the only one who reaches them). A tour fails on any client error: an
"Oops!" dialog logs one.

The jobs are made in the test's transaction, which the browser's requests share; the
engine claims through connections of its own, which do not see them: the processing
buttons run nothing here, and Run now hands the job to the runner (it says so).
"""

import unittest

from odoo.addons.job_worker.delay import chain
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import _find_executable

try:
    import websocket
except ImportError:
    websocket = None


@tagged("post_install", "-at_install")
class TestJobQueueUserInterface(HttpCase):
    browser_size = "1440x900"  # the width the list must read well at

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="ui_job_queue_manager",
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        cls.env["queue.job.function"].create(
            {
                "model_id": cls.env.ref("base.model_res_partner").id,
                "method": "write",
                "retry_pattern": '{"1": 10, "5": 60}',
            }
        )
        partner = cls.env["res.partner"].create({"name": "UI partner"})
        cls.env["queue.job.channel"].create(
            {"name": "ui_channel", "parent_id": cls.env.ref("job_worker.channel_root").id}
        )
        cls.pending = (
            partner.with_delay(description="UI pending job").write({"name": "UI"}).db_record()
        )
        partner.with_delay(description="UI channel job", channel="root.ui_channel").write(
            {"name": "UI"}
        )
        cls.failed = (
            partner.with_delay(description="UI failed job").write({"name": "UI"}).db_record()
        )
        cls.done = partner.with_delay(description="UI done job").write({"name": "UI"}).db_record()
        first = partner.delayable(description="UI graph first").write({"name": "UI 1"})
        second = partner.delayable(description="UI graph second").write({"name": "UI 2"})
        chain(first, second).delay()
        cls.env.cr.execute(
            "UPDATE queue_job SET state = 'failed', retry = 3, exc_name = 'ValueError',"
            " exc_message = 'invalid literal for int()', exc_info = 'Traceback: ValueError'"
            " WHERE id = %s",
            [cls.failed.id],
        )
        cls.env.cr.execute(
            "UPDATE queue_job SET state = 'done', date_done = now() - interval '30 days'"
            " WHERE id = %s",
            [cls.done.id],
        )
        cls.env.invalidate_all()
        cls.failed._post_failure_message()

    def test_the_browser_tests_can_run_here(self):
        # Without a browser or websocket-client, Odoo skips every tour: the suite would
        # pass having pressed nothing. scripts/bootstrap-system.sh installs Chromium and
        # scripts/build-odoo-env.sh websocket-client.
        self.assertIsNotNone(websocket, "websocket-client is not installed in Odoo's Python")
        try:
            _find_executable()
        except unittest.SkipTest as missing:
            self.fail(f"no Chromium for the browser tests: {missing}")

    def test_the_jobs_list_its_buttons_and_its_analysis_views(self):
        self.start_tour(
            "/odoo/action-job_worker.action_queue_job",
            "job_worker_jobs_tour",
            login=self.manager.login,
        )
        self.assertEqual(self.failed.state, "pending")

    def test_a_failed_job_from_failed_jobs_through_every_button_of_its_form(self):
        self.start_tour(
            "/odoo/action-job_worker.action_queue_job_failed",
            "job_worker_job_form_tour",
            login=self.manager.login,
        )
        self.assertEqual(self.failed.state, "done")

    def test_failed_jobs_of_one_exception_are_requeued_all_at_once(self):
        self.start_tour(
            "/odoo/action-job_worker.action_queue_job_failed",
            "job_worker_requeue_failed_tour",
            login=self.manager.login,
        )
        self.assertEqual(self.failed.state, "pending")

    def test_a_graph_jobs_smart_button_opens_its_graph(self):
        self.start_tour(
            "/odoo/action-job_worker.action_queue_job",
            "job_worker_graph_jobs_tour",
            login=self.manager.login,
        )

    def test_the_menus_channels_and_job_functions(self):
        self.start_tour("/odoo", "job_worker_configuration_tour", login=self.manager.login)
        channel = self.env["queue.job.channel"].search([("complete_name", "=", "root.ui_channel")])
        self.assertFalse(channel.paused)
        self.assertFalse(self.done.exists(), "the purge deletes the done job")

    def test_settings_generate_and_revoke_the_api_key(self):
        self.start_tour(
            "/odoo/action-job_worker.action_job_worker_settings",
            "job_worker_settings_tour",
            login="admin",
        )
        parameter = self.env["ir.config_parameter"].sudo().get_param("job_worker.api_key_sha256")
        self.assertFalse(parameter)

    def test_the_prune_scheduled_action_runs_from_its_form(self):
        cron = self.env.ref("job_worker.ir_cron_prune_finished_jobs")
        self.assertFalse(cron.lastcall)
        self.start_tour(
            f"/odoo/action-base.ir_cron_act/{cron.id}",
            "job_worker_scheduled_action_tour",
            login="admin",
        )
        cron.invalidate_recordset()
        self.assertTrue(cron.lastcall)
