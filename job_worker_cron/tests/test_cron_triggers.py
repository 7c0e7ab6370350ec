from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields

from .common import CronProcessorCase


class TestCronTriggers(CronProcessorCase):
    """Jobs becoming due schedule the processing cron, with one trigger a minute at most."""

    def setUp(self):
        super().setUp()
        self.partner_id = self.committed_partner("Triggering")

    def delay(self, env, **options):
        return (
            env["res.partner"].browse(self.partner_id).with_delay(**options).write({}).db_record()
        )

    def test_one_transaction_of_many_jobs_makes_one_trigger_per_minute_they_fall_due(self):
        self.stay_within_one_minute()
        later = self.start_of_minute_ahead(3)

        def enqueue(env):
            jobs = env["queue.job"]
            for _ in range(30):
                jobs |= self.delay(env)
            for second in range(1, 31):
                jobs |= self.delay(env, eta=later + timedelta(seconds=second))
            return jobs

        self.enqueue_committed(enqueue)

        due_now, at_eta = self.cron_trigger_times()
        self.assertLessEqual(due_now, fields.Datetime.now())
        self.assertEqual(at_eta, later + timedelta(seconds=1))  # the minute's earliest

    def test_a_minute_with_a_pending_trigger_gets_no_other(self):
        self.stay_within_one_minute()
        later = self.start_of_minute_ahead(3)
        self.enqueue_committed(lambda env: self.delay(env, eta=later + timedelta(seconds=20)))
        self.enqueue_committed(lambda env: self.delay(env))
        self.enqueue_committed(
            lambda env: self.delay(env, eta=later + timedelta(seconds=10))
            | self.delay(env, eta=later + timedelta(seconds=40))
        )
        self.enqueue_committed(lambda env: self.delay(env))

        due_now, at_eta = self.cron_trigger_times()
        self.assertLessEqual(due_now, fields.Datetime.now())
        # The run at :20 finds the job due at :10, and schedules itself for the one at :40.
        self.assertEqual(at_eta, later + timedelta(seconds=20))

    def test_a_trigger_that_a_run_begun_since_may_have_spent_does_not_count(self):
        self.stay_within_one_minute()
        self.enqueue_committed(lambda env: self.delay(env))
        # A run starts: it deletes the triggers due by then, but commits that only when it
        # ends, and may look for due jobs before the next ones are committed.
        with self.committed_env() as env:
            env.ref("job_worker_cron.ir_cron_process_due_jobs")._add_progress()

        self.enqueue_committed(lambda env: self.delay(env))

        self.assertEqual(len(self.cron_trigger_times()), 2)

    def test_requeuing_a_job_or_moving_its_eta_schedules_the_cron(self):
        [job_id] = self.enqueue_committed(lambda env: self.delay(env))
        with self.committed_env() as env:
            env["queue.job"].browse(job_id).write({"state": "failed"})
        self.forget_cron_schedule()

        with self.committed_env() as env:
            env["queue.job"].browse(job_id).write({"state": "pending"})
        [requeued] = self.cron_trigger_times()
        self.assertLessEqual(requeued, fields.Datetime.now())

        self.forget_cron_schedule()
        eta = self.start_of_minute_ahead(5) + timedelta(seconds=30)
        with self.committed_env() as env:
            env["queue.job"].browse(job_id).write({"eta": eta})
        self.assertEqual(self.cron_trigger_times(), [eta])

    def test_jobs_that_are_not_pending_schedule_nothing(self):
        job_ids = self.enqueue_committed(lambda env: self.delay(env) | self.delay(env))
        self.forget_cron_schedule()
        with self.committed_env() as env:
            jobs = env["queue.job"].browse(job_ids)
            jobs[0].write({"state": "done"})
            jobs[1].write({"state": "wait_dependencies", "eta": fields.Datetime.now()})
        self.assertEqual(self.cron_trigger_times(), [])

    def test_a_transaction_rolled_back_schedules_nothing(self):
        with self.registry.cursor() as cursor:
            self.delay(api.Environment(cursor, SUPERUSER_ID, {}))
            cursor.rollback()
        self.assertEqual(self.cron_trigger_times(), [])

    def test_an_archived_processing_cron_is_not_scheduled(self):
        with self.committed_env() as env:
            env.ref("job_worker_cron.ir_cron_process_due_jobs").active = False

        def reactivate():
            with self.committed_env() as env:
                env.ref("job_worker_cron.ir_cron_process_due_jobs").active = True

        self.addCleanup(reactivate)
        self.enqueue_committed(lambda env: self.delay(env, eta=3600) | self.delay(env))
        self.assertEqual(self.cron_trigger_times(), [])
