from contextlib import closing
from datetime import timedelta

import psycopg2
from odoo import fields
from odoo.addons.base.models import ir_cron
from odoo.addons.job_worker.processing.job_transaction import engine_connection_params

from .common import CronProcessorCase


class TestCronProcessing(CronProcessorCase):
    """The scheduled action runs due jobs through the engine, within the cron's budget."""

    def test_the_scheduled_action_runs_due_jobs_as_the_cron_processor(self):
        partner_id = self.committed_partner("Before")
        job_ids = self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay()
            .write({"ref": "1"})
            .db_record()
            | env["res.partner"]
            .browse(partner_id)
            .with_delay()
            .write({"name": "After"})
            .db_record()
            | env["res.partner"].browse(partner_id).with_delay().write({"ref": "3"}).db_record()
        )
        self.assertEqual(self.cron.code.strip(), "model._process_due_jobs_from_cron()")

        self.run_cron()

        with self.committed_env() as env:
            jobs = env["queue.job"].browse(job_ids)
            self.assertEqual(jobs.mapped("state"), ["done"] * 3)
            self.assertTrue(
                all(owner.startswith("job_worker:cron:") for owner in jobs.mapped("owner"))
            )
            self.assertEqual(env["res.partner"].browse(partner_id).name, "After")
            progress = env["ir.cron.progress"].search([("cron_id", "=", self.cron.id)])
            self.assertEqual((progress.done, progress.remaining), (3, 0))

    def test_jobs_run_by_priority_not_last_in_first_out(self):
        partner_id = self.committed_partner("Order")
        # Enqueued first, run first: its priority is higher. A last-in-first-out runner
        # would run it last and leave "urgent" behind.
        self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay(priority=5)
            .write({"ref": "urgent"})
            .db_record()
            | env["res.partner"]
            .browse(partner_id)
            .with_delay(priority=20)
            .write({"ref": "later"})
            .db_record()
        )
        self.run_cron()
        self.assertEqual(self.read_committed("res.partner", partner_id, ["ref"])["ref"], "later")

    def test_jobs_run_in_batches_each_claimed_by_its_own_engine_connection(self):
        partner_id = self.committed_partner("Batches")
        job_ids = self.enqueue_committed(
            lambda env: env["queue.job"].concat(
                *(
                    env["res.partner"]
                    .browse(partner_id)
                    .with_delay()
                    .write({"ref": str(n)})
                    .db_record()
                    for n in range(5)
                )
            )
        )
        with self.committed_env() as env:
            ran = env["queue.job"]._process_due_jobs_from_cron(batch_size=2)
        self.assertEqual(ran, 5)
        with self.committed_env() as env:
            jobs = env["queue.job"].browse(job_ids)
            self.assertEqual(jobs.mapped("state"), ["done"] * 5)
            self.assertEqual(len(set(jobs.mapped("owner"))), 3)  # batches of 2, 2 and 1

    def test_a_batch_size_below_one_is_refused_with_its_value(self):
        with self.assertRaisesRegex(ValueError, "batch_size .* at least 1; got 0"):
            self.env["queue.job"]._process_due_jobs_from_cron(batch_size=0)

    def test_a_run_whose_time_is_spent_leaves_the_jobs_and_asks_to_run_again_at_once(self):
        partner_id = self.committed_partner("No time")
        job_ids = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
            | env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
        )
        self.forget_cron_schedule()
        self.patch(ir_cron, "MIN_TIME_PER_JOB", 0)  # Odoo grants the run no time at all

        self.run_cron()

        self.assertEqual(self.job_states(job_ids), ["pending", "pending"])
        with self.committed_env() as env:
            progress = env["ir.cron.progress"].search([("cron_id", "=", self.cron.id)])
            self.assertEqual((progress.done, progress.remaining), (0, 2))
        # Odoo reschedules a run that reports work left "as soon as possible".
        triggers = self.cron_trigger_times()
        self.assertTrue(triggers)
        self.assertLessEqual(triggers[0], fields.Datetime.now())

    def test_a_job_not_due_yet_stays_pending_and_the_cron_is_triggered_for_its_eta(self):
        partner_id = self.committed_partner("Later")
        eta = fields.Datetime.now() + timedelta(minutes=10)
        [later_id] = self.enqueue_committed(
            lambda env: env["res.partner"]
            .browse(partner_id)
            .with_delay(eta=eta)
            .write({})
            .db_record()
        )
        self.forget_cron_schedule()  # the trigger enqueuing made: the run must make its own

        self.run_cron()

        self.assertEqual(self.job_states([later_id]), ["pending"])
        self.assertEqual(self.cron_trigger_times(), [eta])

    def test_due_jobs_of_a_full_channel_wait_and_the_run_does_not_ask_to_run_again(self):
        partner_id = self.committed_partner("Full")
        self.set_root_capacity(1)
        # Another processor runs a job of the root channel: its owner's connection is
        # alive, so the job is not an orphan to recover, and it fills the channel.
        owner = "job_worker:test-other-processor"
        params = {**engine_connection_params(self.env.cr.dbname), "application_name": owner}
        with closing(psycopg2.connect(**params)):
            [running_id, waiting_id] = self.enqueue_committed(
                lambda env: env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
                | env["res.partner"].browse(partner_id).with_delay().write({}).db_record()
            )
            with self.committed_env() as env:
                env.cr.execute(
                    "UPDATE queue_job SET state = 'started', owner = %s,"
                    " heartbeat = (now() AT TIME ZONE 'UTC') WHERE id = %s",
                    [owner, running_id],
                )
            self.forget_cron_schedule()

            self.run_cron()

            self.assertEqual(self.job_states([running_id, waiting_id]), ["started", "pending"])
            with self.committed_env() as env:
                progress = env["ir.cron.progress"].search([("cron_id", "=", self.cron.id)])
                self.assertEqual((progress.done, progress.remaining), (0, 0))
            self.assertEqual(self.cron_trigger_times(), [])

    def set_root_capacity(self, capacity):
        """Give the root channel ``capacity`` (committed) until the test ends."""
        with self.committed_env() as env:
            root = env.ref("job_worker.channel_root")
            previous = root.capacity
            root.capacity = capacity

        def restore():
            with self.committed_env() as env:
                env.ref("job_worker.channel_root").capacity = previous

        self.addCleanup(restore)
