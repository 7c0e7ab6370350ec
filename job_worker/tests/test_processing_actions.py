"""The Job Queue buttons that run jobs (Process in background, Run now) and the settings
they read; jobs are committed for real, as the engine claims through its own connection."""

import signal
import threading
import time

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase, new_test_user

from ..engine.threads import PROCESS_SIGNALS
from ..models import queue_job_processing_actions
from ..processing.budget import BudgetError, processing_budget
from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


def blocked_signals():
    """The signals the calling thread blocks, read from /proc."""
    with open(f"/proc/self/task/{threading.get_native_id()}/status") as status:
        mask = next(line for line in status if line.startswith("SigBlk:")).split()[1]
    bits = int(mask, 16)
    return {sig for sig in signal.Signals if bits & (1 << (sig - 1))}


class TestProcessingActions(CommittedDataMixin, TransactionCase):
    def enqueue_committed(self, enqueue):
        with self.committed_env() as env:
            job_ids = enqueue(env).ids
        self.delete_committed_after_test("queue.job", job_ids)
        return job_ids

    def committed_partner(self, name):
        with self.committed_env() as env:
            partner_id = env["res.partner"].create({"name": name}).id
        self.delete_committed_after_test("res.partner", [partner_id])
        return partner_id

    def run_now(self, job_ids):
        """Press Run now on these jobs, as a request would: in a transaction that sees
        them (the test's own began before they were committed)."""
        with self.committed_env() as env:
            return env["queue.job"].browse(job_ids).action_run_now()

    def states(self, job_ids):
        return [self.read_committed("queue.job", job_id, ["state"])["state"] for job_id in job_ids]

    def test_run_now_runs_only_the_selected_jobs_even_with_an_eta_ahead(self):
        partner_id = self.committed_partner("Before")

        def enqueue(env):
            partner = env["res.partner"].browse(partner_id)
            first = partner.with_delay(priority=1).write({"email": "first@example.com"})
            later = partner.with_delay(priority=50, eta=3600).write({"name": "Run now"})
            return first.db_record() | later.db_record()

        first_id, later_id = self.enqueue_committed(enqueue)
        action = self.run_now([later_id])

        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["message"], "1 job(s) run here: 1 done, 0 failed.")
        self.assertEqual(self.states([first_id, later_id]), ["pending", "done"])
        self.assertEqual(
            self.read_committed("res.partner", partner_id, ["name"])["name"], "Run now"
        )

    def test_run_now_leaves_jobs_that_are_not_pending_and_says_so(self):
        partner_id = self.committed_partner("Before")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({"name": "x"})
        )
        self.run_now([job_id])
        with self.assertRaises(UserError):
            self.run_now([job_id])

    def test_run_now_still_respects_a_full_channel(self):
        partner_id = self.committed_partner("Before")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({"name": "x"})
        )
        with self.committed_env() as env:
            root = env.ref("job_worker.channel_root")
            capacity, paused = root.capacity, root.paused
            root.paused = True

        def restore():
            with self.committed_env() as env:
                env.ref("job_worker.channel_root").write({"capacity": capacity, "paused": paused})

        self.addCleanup(restore)
        action = self.run_now([job_id])
        self.assertIn("1 job(s) handed to the runner", action["params"]["message"])
        self.assertNotIn("run here", action["params"]["message"])
        self.assertEqual(self.states([job_id]), ["pending"])

    def test_run_now_on_a_job_another_processor_just_started_names_that_processor(self):
        partner_id = self.committed_partner("Before")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({"name": "x"})
        )
        leader = "job_worker:leader:0123abcd:4242"
        with self.committed_env() as env:
            # The press's request read the job pending, then the leader took it (its
            # heartbeat is fresh: recovery leaves it to its owner).
            pressed = env["queue.job"].browse(job_id)
            self.assertEqual(pressed.state, "pending")
            with self.committed_env() as leader_env:
                leader_env.cr.execute(
                    "UPDATE queue_job SET state = 'started', owner = %s, retry = 1,"
                    " date_started = now() AT TIME ZONE 'UTC',"
                    " heartbeat = now() AT TIME ZONE 'UTC' WHERE id = %s",
                    [leader, job_id],
                )
            action = pressed.action_run_now()
        self.assertEqual(action["params"]["type"], "info")
        self.assertEqual(action["params"]["message"], f"1 job(s) already started by {leader}.")
        self.assertEqual(self.states([job_id]), ["started"])

    def test_process_in_background_runs_due_jobs_on_a_thread_that_blocks_the_signals(self):
        # The test runner holds the registry lock, which the thread's job needs.
        self.patch(Registry, "_lock", DummyRLock())
        masks = []

        def process_noting_the_mask(*args, **kwargs):
            masks.append(blocked_signals())
            return process_due_jobs_in_database(*args, **kwargs)

        self.patch(
            queue_job_processing_actions, "process_due_jobs_in_database", process_noting_the_mask
        )
        partner_id = self.committed_partner("Before")
        [job_id] = self.enqueue_committed(
            lambda env: env["res.partner"].browse(partner_id).with_delay().write({"name": "bg"})
        )
        action = self.env["queue.job"].action_process_due_jobs_in_background()
        self.assertEqual(action["params"]["type"], "info")
        deadline = time.monotonic() + 30
        while self.states([job_id]) != ["done"] and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.states([job_id]), ["done"])
        # A SIGINT the kernel handed to it would never stop the worker.
        self.assertEqual(len(masks), 1)
        self.assertLessEqual(PROCESS_SIGNALS, masks[0])
        self.assertFalse(PROCESS_SIGNALS & blocked_signals())  # the request's thread

    def test_the_buttons_are_for_job_queue_managers_only(self):
        user = new_test_user(self.env, login="not_a_job_queue_manager")
        jobs = self.env["queue.job"].with_user(user)
        for action in (
            jobs.action_process_due_jobs,
            jobs.action_process_due_jobs_in_background,
            jobs.action_run_now,
            jobs.action_show_runner_status,
        ):
            with self.assertRaises(AccessError):
                action()


class TestProcessingSettings(TransactionCase):
    def test_the_budget_comes_from_settings_and_is_validated(self):
        settings = self.env["res.config.settings"].create(
            {"job_worker_batch_size": 7, "job_worker_max_seconds": 9}
        )
        settings.execute()
        budget = processing_budget(self.env)
        self.assertEqual((budget.batch_size, budget.max_seconds), (7, 9.0))
        with self.assertRaises(BudgetError) as refused:
            processing_budget(self.env, batch_size="0")
        self.assertEqual(refused.exception.field, "batch_size")

    def test_out_of_range_settings_are_refused_naming_the_field(self):
        with self.assertRaises(ValidationError) as refused:
            self.env["res.config.settings"].create({"job_worker_batch_size": 0})
        self.assertIn("Jobs per request", str(refused.exception))
        with self.assertRaises(ValidationError) as refused:
            self.env["res.config.settings"].create({"job_worker_max_seconds": 100000})
        self.assertIn("Seconds per request", str(refused.exception))

    def test_a_generated_key_is_shown_once_and_stored_as_a_digest(self):
        settings = self.env["res.config.settings"].create({})
        action = settings.action_job_worker_generate_api_key()
        key = action["params"]["message"]
        self.assertEqual(len(key), 43)
        stored = self.env["ir.config_parameter"].sudo().get_param("job_worker.api_key_sha256")
        self.assertNotEqual(stored, key)
        self.assertEqual(len(stored), 64)
        self.assertIn("generated here is active", settings.job_worker_api_key_source)
        settings.action_job_worker_revoke_api_key()
        self.assertFalse(
            self.env["ir.config_parameter"].sudo().get_param("job_worker.api_key_sha256")
        )

    def test_disabling_the_runner_takes_the_database_out_of_the_served_ones(self):
        from ..runner.served_databases import has_job_worker_installed

        dbname = self.env.cr.dbname
        self.assertTrue(has_job_worker_installed(dbname, for_runner=True))
        with self.registry.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ir_config_parameter (key, value) VALUES ('job_worker.runner', "
                "'disabled') ON CONFLICT (key) DO UPDATE SET value = 'disabled'"
            )

        def enable():
            with self.registry.cursor() as cursor:
                cursor.execute("DELETE FROM ir_config_parameter WHERE key = 'job_worker.runner'")

        self.addCleanup(enable)
        self.assertFalse(has_job_worker_installed(dbname, for_runner=True))
        self.assertTrue(has_job_worker_installed(dbname))

    def test_the_status_panel_tells_who_runs_jobs(self):
        settings = self.env["res.config.settings"].create({})
        self.assertIn("This worker (pid", settings.job_worker_runner_status)
