"""Code written for OCA ``queue_job`` works unchanged but for the module name: the delay
API, graphs, identity keys, the no-delay switches and ``trap_jobs()``, used as OCA's
documentation shows them, and retries as OCA declares them."""

import os
from datetime import timedelta
from unittest import mock

from odoo import fields
from odoo.addons.job_worker.delay import chain, group
from odoo.addons.job_worker.exception import RetryableJobError
from odoo.addons.job_worker.job import identity_exact
from odoo.addons.job_worker.processing.database_processing import process_due_jobs_in_database
from odoo.addons.job_worker.tests.common import CommittedDataMixin, trap_jobs
from odoo.tests import TransactionCase


class TestDelayApi(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partners = cls.env["res.partner"].create([{"name": f"Partner {n}"} for n in range(5)])

    def rename(self, index, name, **properties):
        """A delayable renaming one partner."""
        return self.partners[index].delayable(**properties).write({"name": name})

    def parents(self, job):
        return job.dependency_ids

    # -- delayable(), set(), on_done(), delay() ------------------------------------------

    def test_delayable_set_and_delay_store_one_job_with_its_properties(self):
        delayable = self.partners[0].delayable(priority=5)
        delayable.set(channel="root.sync", description="Rename")
        delayable.set({"max_retries": 2})
        delayable.write({"name": "Renamed"})
        [job] = delayable.delay()
        self.assertEqual(
            (job.priority, job.channel, job.name, job.max_retries, job.state),
            (5, "root.sync", "Rename", 2, "pending"),
        )
        self.assertEqual(job.args, ({"name": "Renamed"},), "a tuple, as OCA's Job has them")
        self.assertEqual(self.partners[0].name, "Partner 0")

    def test_on_done_makes_jobs_wait_for_their_parent(self):
        first = self.rename(0, "first")
        second = self.rename(1, "second")
        jobs = [job.db_record() for job in first.on_done(second).delay()]
        self.assertEqual([job.state for job in jobs], ["pending", "wait_dependencies"])
        self.assertEqual(self.parents(jobs[1]), jobs[0])
        self.assertTrue(jobs[0].graph_uuid)
        self.assertEqual(jobs[0].graph_uuid, jobs[1].graph_uuid)

    def test_chain_runs_jobs_one_after_the_other(self):
        first, second, third = (self.rename(n, f"chained {n}") for n in range(3))
        jobs = [job.db_record() for job in chain(first, second, third).delay()]
        by_partner = {job.records.id: job for job in jobs}
        job_1, job_2, job_3 = (by_partner[self.partners[n].id] for n in range(3))
        self.assertEqual(job_1.state, "pending")
        self.assertEqual(self.parents(job_2), job_1)
        self.assertEqual(self.parents(job_3), job_2)

    def test_group_on_done_waits_for_every_member(self):
        members = [self.rename(n, f"grouped {n}") for n in range(2)]
        after = self.rename(2, "after the group")
        group(*members).on_done(after).delay()
        job_after = after._generated_job.db_record()
        self.assertEqual(job_after.state, "wait_dependencies")
        self.assertEqual(
            set(self.parents(job_after).ids),
            {member._generated_job.db_record().id for member in members},
        )

    def test_nested_groups_and_chains_wait_for_whole_stages(self):
        a, b, c, d, e = (self.rename(n, f"stage {n}") for n in range(5))
        chain(group(a, b), group(c, d), e).delay()
        job = {
            name: node._generated_job.db_record()
            for name, node in zip("abcde", (a, b, c, d, e), strict=True)
        }
        self.assertEqual(job["a"].state, "pending")
        self.assertEqual(job["b"].state, "pending")
        for name in "cd":
            self.assertEqual(self.parents(job[name]), job["a"] | job["b"])
        self.assertEqual(self.parents(job["e"]), job["c"] | job["d"])

    def test_a_graph_without_a_call_or_with_a_cycle_stores_nothing(self):
        count = self.env["queue.job"].search_count([])
        with self.assertRaisesRegex(ValueError, "no call to delay"):
            self.partners[0].delayable().on_done(self.rename(1, "x")).delay()
        first, second = self.rename(0, "a"), self.rename(1, "b")
        first.on_done(second)
        second.on_done(first)
        with self.assertRaisesRegex(ValueError, "cycle"):
            first.delay()
        self.assertEqual(self.env["queue.job"].search_count([]), count)

    def test_a_delayable_of_an_unknown_method_fails_at_once(self):
        with self.assertRaisesRegex(AttributeError, "no method 'nope'"):
            self.partners[0].delayable().nope()

    # -- identity keys -------------------------------------------------------------------

    def test_an_identity_key_keeps_one_job_while_it_waits_to_run(self):
        first = self.partners[0].with_delay(identity_key="sync-0").write({"name": "a"})
        again = self.partners[0].with_delay(identity_key="sync-0").write({"name": "b"})
        self.assertEqual(again, first)
        self.assertEqual(self.env["queue.job"].search_count([("identity_key", "=", "sync-0")]), 1)
        first.sudo().write({"state": "done"})
        later = self.partners[0].with_delay(identity_key="sync-0").write({"name": "c"})
        self.assertNotEqual(later, first)

    def test_identity_exact_deduplicates_the_same_call_only(self):
        partner = self.partners[0]
        first = partner.with_delay(identity_key=identity_exact).write({"name": "same"})
        same = partner.with_delay(identity_key=identity_exact).write({"name": "same"})
        other = partner.with_delay(identity_key=identity_exact).write({"name": "other"})
        self.assertEqual(same, first)
        self.assertNotEqual(other, first)
        self.assertEqual(len(first.identity_key), 40)

    # -- run without delay -----------------------------------------------------------------

    def test_the_no_delay_context_keys_run_the_call_at_once(self):
        for key in ("queue_job__no_delay", "test_queue_job_no_delay"):
            count = self.env["queue.job"].search_count([])
            partner = self.partners[0].with_context(**{key: True})
            partner.with_delay().write({"name": key})
            self.assertEqual(self.partners[0].name, key)
            self.assertEqual(self.env["queue.job"].search_count([]), count)

    def test_the_no_delay_environment_variables_run_graphs_in_order(self):
        for variable in ("QUEUE_JOB__NO_DELAY", "TEST_QUEUE_JOB_NO_DELAY"):
            count = self.env["queue.job"].search_count([])
            with mock.patch.dict(os.environ, {variable: "1"}):
                chain(self.rename(0, "then"), self.rename(0, variable)).delay()
            self.assertEqual(self.partners[0].name, variable)
            self.assertEqual(self.env["queue.job"].search_count([]), count)

    # -- trap_jobs() -----------------------------------------------------------------------

    def test_trap_jobs_keeps_calls_in_memory_and_performs_them_on_demand(self):
        partner = self.partners[0]
        count = self.env["queue.job"].search_count([])
        with trap_jobs() as trap:
            partner.with_delay(priority=3, channel="root.sync").write({"name": "trapped"})
            self.partners[1].with_delay().write({"name": "other"})
            trap.assert_jobs_count(2)
            trap.assert_jobs_count(1, only=partner.write)
            trap.assert_enqueued_job(
                partner.write,
                args=({"name": "trapped"},),
                properties={"priority": 3, "channel": "root.sync"},
            )
            with self.assertRaises(AssertionError):
                trap.assert_enqueued_job(partner.write, args=({"name": "never"},))
            self.assertEqual(self.env["queue.job"].search_count([]), count)
            self.assertEqual(partner.name, "Partner 0")
            trap.perform_enqueued_jobs()
        self.assertEqual((partner.name, self.partners[1].name), ("trapped", "other"))

    def test_trap_jobs_performs_graphs_parents_first_and_still_checks_calls(self):
        with trap_jobs() as trap:
            chain(self.rename(0, "first"), self.rename(0, "second")).delay()
            trap.assert_jobs_count(2)
            with self.assertRaises(TypeError):
                self.partners[0].with_delay().write({"name": object()})
            trap.perform_enqueued_jobs()
        self.assertEqual(self.partners[0].name, "second")


def _sync_with_a_busy_remote(self):
    """A job whose remote side is busy: try again as the retry pattern says."""
    raise RetryableJobError("the remote side is busy")


def _poll_without_spending_an_attempt(self):
    """A job that polls: try again in 5 s without counting the attempt."""
    raise RetryableJobError("not ready yet", seconds=5, ignore_retry=True)


class TestOcaRetries(CommittedDataMixin, TransactionCase):
    """Retry patterns declared as OCA data files do, and ``RetryableJobError``."""

    def setUp(self):
        super().setUp()
        partner_class = type(self.env["res.partner"])
        for name, function in (
            ("_oca_sync_with_a_busy_remote", _sync_with_a_busy_remote),
            ("_oca_poll_without_spending_an_attempt", _poll_without_spending_an_attempt),
        ):
            patcher = mock.patch.object(partner_class, name, function, create=True)
            patcher.start()
            self.addCleanup(patcher.stop)

    def run_once(self, method_name):
        with self.committed_env() as env:
            function = env["queue.job.function"].create(
                {
                    "model_id": env["ir.model"]._get_id("res.partner"),
                    "method": method_name,
                    "retry_pattern": {1: 600, 3: (1200, 1800)},  # as OCA's <field eval=…>
                }
            )
            job = getattr(env.ref("base.main_partner").with_delay(), method_name)()
            job_id, function_id = job.id, function.id
        self.delete_committed_after_test("queue.job", [job_id])
        self.delete_committed_after_test("queue.job.function", [function_id])
        before = fields.Datetime.now()
        process_due_jobs_in_database(self.env.cr.dbname, 1, max_seconds=30)
        job = self.read_committed("queue.job", job_id, ["state", "retry", "eta", "exc_message"])
        return job, before

    def test_a_retryable_error_waits_as_the_retry_pattern_says(self):
        job, before = self.run_once("_oca_sync_with_a_busy_remote")
        self.assertEqual((job["state"], job["retry"]), ("pending", 1))
        self.assertGreaterEqual(job["eta"], before + timedelta(seconds=599))
        self.assertLess(job["eta"], before + timedelta(seconds=700))
        self.assertIn("the remote side is busy", job["exc_message"])

    def test_ignore_retry_tries_again_without_spending_an_attempt(self):
        job, before = self.run_once("_oca_poll_without_spending_an_attempt")
        self.assertEqual((job["state"], job["retry"]), ("pending", 0))
        self.assertLess(job["eta"], before + timedelta(seconds=60))
