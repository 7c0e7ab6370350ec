from odoo.exceptions import AccessError
from odoo.tests import TransactionCase

from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


class TestProcessing(CommittedDataMixin, TransactionCase):
    """The engine claims committed jobs and runs each in its own Odoo transaction.

    Jobs are committed for real (the engine's connection cannot see the test's
    transaction) and deleted after each test.
    """

    def enqueue_committed(self, enqueue, uid=None):
        """Commit the jobs ``enqueue(env)`` creates; return their ids."""
        with self.committed_env(**({"uid": uid} if uid else {})) as env:
            jobs = enqueue(env)
            job_ids = jobs.ids
        self.delete_committed_after_test("queue.job", job_ids)
        return job_ids

    def committed_partner(self, name, uid=None):
        with self.committed_env(**({"uid": uid} if uid else {})) as env:
            partner_id = env["res.partner"].create({"name": name}).id
        self.delete_committed_after_test("res.partner", [partner_id])
        return partner_id

    def process(self, max_jobs=50):
        return process_due_jobs_in_database(self.env.cr.dbname, max_jobs, max_seconds=30)

    def test_a_delayed_write_runs_and_its_job_ends_done(self):
        partner_id = self.committed_partner("Before")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({"name": "After"})
        )
        report = self.process()
        self.assertEqual((report.processed, report.done, report.failed), (1, 1, 0))
        job = self.read_committed(
            "queue.job", job_id, ["state", "result", "date_done", "exec_time", "owner", "retry"]
        )
        self.assertEqual(job["state"], "done")
        self.assertEqual(job["result"], "True")
        self.assertTrue(job["date_done"])
        self.assertGreater(job["exec_time"], 0)
        self.assertTrue(job["owner"].startswith("job_worker:process:"))
        self.assertEqual(job["retry"], 1)
        self.assertEqual(self.read_committed("res.partner", partner_id, ["name"])["name"], "After")

    def test_a_failing_job_is_rolled_back_and_failed_and_the_next_job_still_runs(self):
        partner_id = self.committed_partner("Untouched")
        other_id = self.committed_partner("Other")

        def enqueue(env):
            partner = env["res.partner"].browse(partner_id)
            first = partner.with_delay(priority=1).write({"email": "first@example.com"})
            failing = partner.with_delay(priority=2).write({"no_such_field": 1})
            after_failure = (
                env["res.partner"]
                .browse(other_id)
                .with_delay(priority=3)
                .write({"name": "Other done"})
            )
            return first.db_record() | failing.db_record() | after_failure.db_record()

        ok_id, failed_id, done_id = self.enqueue_committed(enqueue)
        with self.assertRaises(Exception) as direct_call:
            self.env["res.partner"].browse(partner_id).write({"no_such_field": 1})
        expected_name = type(direct_call.exception).__name__
        report = self.process()
        self.assertEqual((report.processed, report.done, report.failed), (3, 2, 1))
        failed = self.read_committed(
            "queue.job", failed_id, ["state", "exc_name", "exc_message", "exc_info"]
        )
        self.assertEqual(failed["state"], "failed")
        self.assertEqual(failed["exc_name"], expected_name)
        self.assertIn("no_such_field", failed["exc_message"])
        self.assertIn("Traceback", failed["exc_info"])
        self.assertEqual(self.read_committed("queue.job", ok_id, ["state"])["state"], "done")
        self.assertEqual(self.read_committed("queue.job", done_id, ["state"])["state"], "done")
        self.assertEqual(
            self.read_committed("res.partner", other_id, ["name"])["name"], "Other done"
        )

    def test_a_failing_jobs_writes_are_rolled_back(self):
        partner_id = self.committed_partner("Original")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay()
            .write({"name": "Written then undone", "no_such_field": 1})
        )
        self.process()
        self.assertEqual(self.read_committed("queue.job", job_id, ["state"])["state"], "failed")
        self.assertEqual(
            self.read_committed("res.partner", partner_id, ["name"])["name"], "Original"
        )

    def test_a_job_runs_as_the_user_who_enqueued_it(self):
        with self.committed_env() as env:
            user_id = (
                env["res.users"]
                .create(
                    {
                        "name": "Job user",
                        "login": "job_worker_test_job_user",
                        "group_ids": [
                            (4, env.ref("base.group_user").id),
                            (4, env.ref("base.group_partner_manager").id),
                        ],
                    }
                )
                .id
            )
        self.delete_committed_after_test("res.users", [user_id])
        partner_id = self.committed_partner("Owned")
        self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay()
            .write({"name": "By user"}),
            uid=user_id,
        )
        self.process()
        partner = self.read_committed("res.partner", partner_id, ["name", "write_uid"])
        self.assertEqual(partner["name"], "By user")
        self.assertEqual(partner["write_uid"][0], user_id)

    def test_jobs_with_a_future_eta_are_not_run(self):
        partner_id = self.committed_partner("Later")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay(eta=3600).write({})
        )
        report = self.process()
        self.assertEqual(report.processed, 0)
        self.assertEqual(self.read_committed("queue.job", job_id, ["state"])["state"], "pending")

    def test_the_process_button_runs_due_jobs_and_reports_counts(self):
        partner_id = self.committed_partner("Button")
        self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay()
            .write({"name": "Pressed"})
        )
        action = self.env["queue.job"].action_process_due_jobs()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("1 job(s) processed: 1 done, 0 failed", action["params"]["message"])
        self.assertEqual(
            self.read_committed("res.partner", partner_id, ["name"])["name"], "Pressed"
        )

    def test_the_housekeeping_action_deletes_finished_jobs_past_the_removal_interval(self):
        partner_id = self.committed_partner("Housekeeping")
        old_id, recent_id = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
            | env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
        )
        with self.committed_env() as env:
            env.cr.execute(
                "UPDATE queue_job SET state = 'done', date_done = (now() AT TIME ZONE 'UTC')"
                " - CASE WHEN id = %s THEN interval '31 days' ELSE interval '1 day' END"
                " WHERE id IN %s",
                [old_id, (old_id, recent_id)],
            )
        cron = self.env.ref("job_worker.ir_cron_prune_finished_jobs")
        self.assertEqual(cron.code.strip(), "model._prune_finished_jobs()")

        deleted = self.env["queue.job"]._prune_finished_jobs()

        self.assertGreaterEqual(deleted, 1)
        with self.committed_env() as env:
            self.assertEqual(env["queue.job"].browse([old_id, recent_id]).exists().ids, [recent_id])

    def test_processing_is_refused_to_users_outside_the_job_queue_managers(self):
        user = self.env["res.users"].create(
            {
                "name": "Plain user",
                "login": "job_worker_plain_user",
                "group_ids": [(6, 0, [self.env.ref("base.group_user").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.env["queue.job"].with_user(user).action_process_due_jobs()
