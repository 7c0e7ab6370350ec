"""What a Job Queue Manager does with jobs and job functions: requeue, cancel, set done,
related actions, which channel a job really runs in, failure notifications; and what no
one may do: rewrite a job's call."""

from odoo.addons.job_worker.delay import chain
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user

from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


class TestJobManagement(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Managed"})
        cls.Job = cls.env["queue.job"]

    def delay(self, **properties):
        return self.partner.with_delay(**properties).write({"name": "x"}).db_record()

    # -- protection ------------------------------------------------------------------------

    def test_a_jobs_call_cannot_be_rewritten_and_nothing_is_written(self):
        job = self.delay()
        for field, value in (
            ("method_name", "unlink"),
            ("model_name", "res.users"),
            ("args", [{"name": "changed"}]),
            ("user_id", self.env.ref("base.user_admin").id),
        ):
            with self.assertRaisesRegex(UserError, field):
                job.write({field: value, "priority": 1})
            self.assertEqual(job.priority, 10)
        self.assertEqual((job.method_name, job.args), ("write", [{"name": "x"}]))

    def test_a_user_outside_the_managers_cannot_touch_jobs(self):
        job = self.delay()
        user = new_test_user(self.env, login="not_a_manager", groups="base.group_user")
        with self.assertRaises(AccessError):
            job.with_user(user).write({"method_name": "unlink"})
        with self.assertRaises(AccessError):
            job.with_user(user).requeue()

    # -- requeue, cancel, done ---------------------------------------------------------------

    def test_requeue_makes_a_failed_job_pending_with_its_attempts_reset(self):
        job = self.delay()
        self.env.cr.execute(
            "UPDATE queue_job SET state = 'failed', retry = 5, exc_name = 'KeyError',"
            " exc_message = 'boom', exc_info = 'Traceback' WHERE id = %s",
            [job.id],
        )
        job.invalidate_recordset()
        job.requeue()
        self.assertEqual(
            (job.state, job.retry, job.exc_name, job.exc_message), ("pending", 0, False, False)
        )

    def test_requeue_of_a_failed_parent_and_its_waiting_child_keeps_the_child_waiting(self):
        parent = self.partner.delayable().write({"name": "parent"})
        child = self.partner.delayable().write({"name": "child"})
        chain(parent, child).delay()
        parent_job, child_job = parent._generated_job.db_record(), child._generated_job.db_record()
        self.env.cr.execute("UPDATE queue_job SET state = 'failed' WHERE id = %s", [parent_job.id])
        (parent_job | child_job).invalidate_recordset()
        (parent_job | child_job).requeue()
        (parent_job | child_job).invalidate_recordset()
        self.assertEqual((parent_job.state, child_job.state), ("pending", "wait_dependencies"))
        parent_job.button_done()
        child_job.invalidate_recordset()
        self.assertEqual(child_job.state, "pending")

    def test_cancel_and_set_done_follow_the_graph(self):
        first = self.partner.delayable().write({"name": "1"})
        second = self.partner.delayable().write({"name": "2"})
        third = self.partner.delayable().write({"name": "3"})
        chain(first, second).delay()
        first._generated_job.db_record().button_done()
        self.assertEqual(second._generated_job.db_record().state, "pending")
        fourth = self.partner.delayable().write({"name": "4"})
        chain(third, fourth).delay()
        third._generated_job.db_record().button_cancelled()
        self.assertEqual(fourth._generated_job.db_record().state, "cancelled")
        self.assertTrue(fourth._generated_job.db_record().date_cancelled)

    def test_running_jobs_are_left_alone(self):
        running, waiting = self.delay(), self.delay()
        self.env.cr.execute("UPDATE queue_job SET state = 'started' WHERE id = %s", [running.id])
        (running | waiting).invalidate_recordset()
        with self.assertRaisesRegex(UserError, "running"):
            running.button_cancelled()
        (running | waiting).button_cancelled()
        self.assertEqual((running.state, waiting.state), ("started", "cancelled"))

    # -- related actions ---------------------------------------------------------------------

    def function(self, **values):
        return self.env["queue.job.function"].create(
            {"model_id": self.env["ir.model"]._get_id("res.partner"), "method": "write", **values}
        )

    def test_the_default_related_action_opens_the_jobs_records(self):
        action = self.delay().open_related_action()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", self.partner.id))
        other = self.env["res.partner"].create({"name": "Other"})
        several = (self.partner | other).with_delay().write({"name": "y"})
        action = several.open_related_action()
        self.assertEqual(action["domain"], [("id", "in", [self.partner.id, other.id])])

    def test_a_job_function_can_disable_or_name_its_related_action(self):
        self.function(related_action={"enable": False})
        with self.assertRaisesRegex(UserError, "No related action"):
            self.delay().open_related_action()
        self.function(related_action={"func_name": "related_action_open_record", "kwargs": {}})
        self.assertEqual(self.delay().open_related_action()["res_id"], self.partner.id)

    def test_a_malformed_related_action_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "must be an object"):
            self.function(related_action='{"open": true}')

    # -- job functions -------------------------------------------------------------------------

    def test_job_functions_of_the_same_name_merge_and_take_oca_dicts(self):
        first = self.function(channel="root.a", retry_pattern={1: 10, 5: (60, 120)})
        second = self.function(timeout=30)
        self.assertEqual(first, second)
        self.assertEqual((first.channel, first.timeout), ("root.a", 30))
        self.assertEqual(first.retry_pattern, '{"1": 10, "5": [60, 120]}')
        self.assertEqual(
            self.env["queue.job.function"].search_count([("name", "=", "res.partner.write")]), 1
        )

    def test_an_invalid_retry_pattern_is_refused_with_its_reason_and_nothing_written(self):
        count = self.env["queue.job.function"].search_count([])
        with self.assertRaises(ValidationError) as refused:
            self.function(retry_pattern='{"one": 10}')
        self.assertIn("res.partner.write", str(refused.exception))
        self.assertEqual(self.env["queue.job.function"].search_count([]), count)

    # -- channels ----------------------------------------------------------------------------

    def test_a_job_shows_the_configured_channel_it_runs_in(self):
        root = self.env.ref("job_worker.channel_root")
        self.env["queue.job.channel"].create({"name": "sale", "parent_id": root.id})
        self.assertEqual(self.delay(channel="root.sale.eu").channel_used, "root.sale")
        self.assertEqual(self.delay(channel="root.sale").channel_used, "root.sale")
        self.assertEqual(self.delay(channel="root.unknown").channel_used, "root")


class TestFailureNotification(CommittedDataMixin, TransactionCase):
    def test_a_job_failing_for_good_is_posted_for_the_managers_and_a_retry_is_not(self):
        with self.committed_env() as env:
            partner = env["res.partner"].create({"name": "Fails"})
            failing = partner.with_delay(max_retries=1).write({"no_such_field": 1})
            job_id, partner_id, uuid = failing.id, partner.id, failing.uuid
        self.delete_committed_after_test("queue.job", [job_id])
        self.delete_committed_after_test("res.partner", [partner_id])

        with self.assertLogs("odoo.addons.job_worker.engine.execution", "WARNING") as logs:
            report = process_due_jobs_in_database(self.env.cr.dbname, 5, max_seconds=30)

        self.assertEqual(report.failed, 1)
        [line] = logs.output
        self.assertIn(f"job {uuid} (res.partner.write) failed for good", line)
        self.assertIn("no_such_field", line)
        with self.committed_env() as env:
            job = env["queue.job"].browse(job_id)
            failure_posts = job.message_ids.filtered(
                lambda message: message.subtype_id == env.ref("job_worker.mt_job_failed")
            )
            self.assertEqual(len(failure_posts), 1)
            self.assertIn("no_such_field", failure_posts.body)
            admin = env.ref("base.user_admin")
            self.assertIn(admin.partner_id, job.message_partner_ids)
