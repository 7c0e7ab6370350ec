from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import TransactionCase

from ..exception import NothingToDoJob, RetryableJobError
from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


def _retry_in_an_hour(self):
    raise RetryableJobError("the remote side is busy", seconds=3600)


def _retry_by_pattern(self):
    raise RetryableJobError("try again later")


def _nothing_to_do(self):
    raise NothingToDoJob("already in sync")


def _commit_then_fail(self):
    self.write({"comment": "kept: committed by the job"})
    self.env.cr.commit()
    self.write({"comment": "lost: written after the commit"})
    raise ValueError("failed after committing")


def _commit_then_succeed(self):
    self.write({"comment": "first part"})
    self.env.cr.commit()
    self.write({"comment": "second part"})
    return "finished"


class TestOutcomes(CommittedDataMixin, TransactionCase):
    """What the exceptions of ``odoo.addons.job_worker.exception`` make of a job, and how
    a job whose stored call no longer makes sense fails without blocking the queue."""

    def setUp(self):
        super().setUp()
        partner_class = type(self.env["res.partner"])
        for name, function in (
            ("_job_worker_test_retry_in_an_hour", _retry_in_an_hour),
            ("_job_worker_test_retry_by_pattern", _retry_by_pattern),
            ("_job_worker_test_nothing_to_do", _nothing_to_do),
            ("_job_worker_test_commit_then_fail", _commit_then_fail),
            ("_job_worker_test_commit_then_succeed", _commit_then_succeed),
        ):
            patcher = patch.object(partner_class, name, function, create=True)
            patcher.start()
            self.addCleanup(patcher.stop)

    def enqueue(self, method_name, **options):
        with self.committed_env() as env:
            job = getattr(env.ref("base.main_partner").with_delay(**options), method_name)()
            job_id = job.id
        self.delete_committed_after_test("queue.job", [job_id])
        return job_id

    def job(self, job_id, *fields):
        return self.read_committed("queue.job", job_id, list(fields))

    def process(self):
        return process_due_jobs_in_database(self.env.cr.dbname, 20, max_seconds=30)

    def test_a_retryable_error_puts_the_job_back_after_its_delay_with_the_attempt_counted(self):
        job_id = self.enqueue("_job_worker_test_retry_in_an_hour", max_retries=3)
        before = fields.Datetime.now()
        self.process()
        job = self.job(job_id, "state", "retry", "eta", "exc_message", "exc_name")
        self.assertEqual((job["state"], job["retry"]), ("pending", 1))
        self.assertGreater(job["eta"], before + timedelta(minutes=59))
        self.assertEqual(job["exc_message"], "the remote side is busy")
        self.assertTrue(job["exc_name"].endswith("RetryableJobError"))

    def test_a_retryable_error_at_the_last_attempt_fails_the_job(self):
        job_id = self.enqueue("_job_worker_test_retry_in_an_hour", max_retries=1)
        self.process()
        job = self.job(job_id, "state", "retry", "exc_message")
        self.assertEqual((job["state"], job["retry"]), ("failed", 1))
        self.assertIn("Max. retries (1) reached: the remote side is busy", job["exc_message"])

    def test_the_job_functions_retry_pattern_sets_the_delay(self):
        with self.committed_env() as env:
            function = env["queue.job.function"].create(
                {
                    "model_id": env["ir.model"]._get_id("res.partner"),
                    "method": "_job_worker_test_retry_by_pattern",
                    "retry_pattern": '{"1": 7200, "3": 60}',
                }
            )
            function_id = function.id
        self.delete_committed_after_test("queue.job.function", [function_id])
        job_id = self.enqueue("_job_worker_test_retry_by_pattern")
        before = fields.Datetime.now()
        self.process()
        eta = self.job(job_id, "eta")["eta"]
        self.assertGreater(eta, before + timedelta(minutes=119))
        self.assertLess(eta, before + timedelta(minutes=121))

    def test_nothing_to_do_ends_the_job_done_with_its_message(self):
        job_id = self.enqueue("_job_worker_test_nothing_to_do")
        self.process()
        job = self.job(job_id, "state", "result")
        self.assertEqual((job["state"], job["result"]), ("done", "already in sync"))

    def test_a_job_that_commits_keeps_its_work_up_to_the_commit_when_it_fails_later(self):
        partner = self.env.ref("base.main_partner")
        comment_before = partner.comment
        self.addCleanup(self._restore_main_partner_comment, comment_before)
        job_id = self.enqueue("_job_worker_test_commit_then_fail")
        self.process()
        job = self.job(job_id, "state", "exc_message")
        self.assertEqual((job["state"], job["exc_message"]), ("failed", "failed after committing"))
        comment = self.read_committed("res.partner", partner.id, ["comment"])["comment"]
        self.assertIn("kept: committed by the job", comment)

    def test_a_job_that_commits_then_succeeds_is_done_once(self):
        partner = self.env.ref("base.main_partner")
        self.addCleanup(self._restore_main_partner_comment, partner.comment)
        job_id = self.enqueue("_job_worker_test_commit_then_succeed")
        report = self.process()
        self.assertEqual((report.processed, report.done), (1, 1))
        job = self.job(job_id, "state", "result", "retry")
        self.assertEqual((job["state"], job["result"], job["retry"]), ("done", "finished", 1))
        comment = self.read_committed("res.partner", partner.id, ["comment"])["comment"]
        self.assertIn("second part", comment)

    def _restore_main_partner_comment(self, comment):
        with self.committed_env() as env:
            env.ref("base.main_partner").comment = comment

    def test_corrupt_stored_arguments_fail_the_job_and_the_next_one_runs(self):
        corrupt_id = self.enqueue("exists")
        next_id = self.enqueue("exists")
        with self.committed_env() as env:
            env.cr.execute("UPDATE queue_job SET args = '{not json' WHERE id = %s", [corrupt_id])
        self.process()
        corrupt = self.job(corrupt_id, "state", "exc_name", "exc_message")
        self.assertEqual(corrupt["state"], "failed")
        self.assertTrue(corrupt["exc_name"].endswith("CorruptJobDataError"))
        self.assertIn("cannot be decoded", corrupt["exc_message"])
        self.assertEqual(self.job(next_id, "state")["state"], "done")

    def test_a_method_that_no_longer_exists_fails_the_job_with_a_clear_reason(self):
        job_id = self.enqueue("exists")
        with self.committed_env() as env:
            env.cr.execute(
                "UPDATE queue_job SET method_name = 'removed_since' WHERE id = %s", [job_id]
            )
        self.process()
        job = self.job(job_id, "state", "exc_message")
        self.assertEqual(job["state"], "failed")
        self.assertIn("res.partner has no method 'removed_since' any more", job["exc_message"])

    def test_a_model_that_no_longer_exists_fails_the_job_with_a_clear_reason(self):
        job_id = self.enqueue("exists")
        with self.committed_env() as env:
            env.cr.execute(
                "UPDATE queue_job SET model_name = 'uninstalled.model' WHERE id = %s", [job_id]
            )
        self.process()
        job = self.job(job_id, "state", "exc_message")
        self.assertEqual(job["state"], "failed")
        self.assertIn("model 'uninstalled.model'", job["exc_message"])


class TestChannels(TransactionCase):
    """Channels form a tree under root and refuse settings the engine cannot honour."""

    def test_the_root_channel_exists_and_is_named(self):
        root = self.env.ref("job_worker.channel_root")
        self.assertEqual((root.complete_name, root.parent_id.id), ("root", False))

    def test_a_child_channel_gets_its_complete_name(self):
        root = self.env.ref("job_worker.channel_root")
        sale = self.env["queue.job.channel"].create({"name": "sale", "parent_id": root.id})
        eu = self.env["queue.job.channel"].create({"name": "eu", "parent_id": sale.id})
        self.assertEqual(eu.complete_name, "root.sale.eu")

    def test_a_channel_outside_the_tree_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "needs a parent"):
            self.env["queue.job.channel"].create({"name": "orphan"})

    def test_negative_limits_are_refused(self):
        root = self.env.ref("job_worker.channel_root")
        with self.assertRaisesRegex(ValidationError, "capacity must not be negative"):
            self.env["queue.job.channel"].create(
                {"name": "bad", "parent_id": root.id, "capacity": -1}
            )

    def test_an_unusable_retry_pattern_is_refused_naming_the_entry(self):
        with self.assertRaisesRegex(ValidationError, "'x' is not an attempt number"):
            self.env["queue.job.function"].create(
                {
                    "model_id": self.env["ir.model"]._get_id("res.partner"),
                    "method": "write",
                    "retry_pattern": '{"x": 10}',
                }
            )

    def test_the_root_channel_cannot_be_deleted(self):
        with self.assertRaisesRegex(UserError, "root channel cannot be deleted"):
            self.env.ref("job_worker.channel_root").unlink()

    def test_a_channel_cannot_become_its_own_ancestor(self):
        root = self.env.ref("job_worker.channel_root")
        parent = self.env["queue.job.channel"].create({"name": "a", "parent_id": root.id})
        child = self.env["queue.job.channel"].create({"name": "b", "parent_id": parent.id})
        with self.assertRaisesRegex(ValidationError, "its own ancestor"):
            parent.parent_id = child
