"""The cron processor's scheduled action, run from its form in a real browser (headless
Chromium) the way an administrator does: Run Manually processes due jobs without an
error (a client error fails the tour)."""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestCronProcessorUserInterface(HttpCase):
    def test_the_scheduled_action_runs_from_its_form(self):
        cron = self.env.ref("job_worker_cron.ir_cron_process_due_jobs")
        cron.lastcall = False
        self.start_tour(
            f"/odoo/action-base.ir_cron_act/{cron.id}",
            "job_worker_scheduled_action_tour",
            login="admin",
        )
        cron.invalidate_recordset()
        self.assertTrue(cron.lastcall)
