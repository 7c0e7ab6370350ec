"""Graphs and identity keys with committed jobs, run by the engine: dependents wait for
their parents, follow a cancelled or failed one as documented, and an identity key
enqueued by many transactions at once is stored once."""

import threading

from odoo.addons.job_worker.delay import chain, group
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase

from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


class TestGraphProcessing(CommittedDataMixin, TransactionCase):
    def committed_partners(self, count):
        with self.committed_env() as env:
            ids = env["res.partner"].create([{"name": f"Graph {n}"} for n in range(count)]).ids
        self.delete_committed_after_test("res.partner", ids)
        return ids

    def delay_committed(self, build):
        """Commit the graph ``build(env)`` returns, delayed; return its job ids."""
        with self.committed_env() as env:
            job_ids = [job.id for job in build(env).delay()]
        self.delete_committed_after_test("queue.job", job_ids)
        return job_ids

    def states(self, job_ids):
        return [self.read_committed("queue.job", job_id, ["state"])["state"] for job_id in job_ids]

    def process(self):
        return process_due_jobs_in_database(self.env.cr.dbname, 50, max_seconds=30)

    def test_a_chain_runs_in_order_and_a_group_waits_for_all_its_members(self):
        ids = self.committed_partners(3)

        def build(env):
            partners = env["res.partner"].browse(ids)
            first = partners[0].delayable().write({"name": "first"})
            second = partners[1].delayable().write({"name": "second"})
            last = partners[2].delayable().write({"name": "last"})
            return group(first, second).on_done(last)

        first_id, second_id, last_id = self.delay_committed(build)
        self.assertEqual(
            self.states([first_id, second_id, last_id]), ["pending", "pending", "wait_dependencies"]
        )
        report = self.process()
        self.assertEqual((report.processed, report.done), (3, 3))
        self.assertEqual(self.states([first_id, second_id, last_id]), ["done"] * 3)
        last = self.read_committed("queue.job", last_id, ["date_started"])["date_started"]
        for parent_id in (first_id, second_id):
            parent_done = self.read_committed("queue.job", parent_id, ["date_done"])["date_done"]
            self.assertLessEqual(parent_done, last)

    def test_a_failed_parent_keeps_its_dependents_waiting_and_a_cancelled_one_cancels_them(self):
        ids = self.committed_partners(2)

        def build(env):
            partners = env["res.partner"].browse(ids)
            failing = partners[0].delayable(max_retries=1).write({"no_such_field": 1})
            return chain(failing, partners[1].delayable().write({"name": "after"}))

        failing_id, dependent_id = self.delay_committed(build)
        self.process()
        self.assertEqual(self.states([failing_id, dependent_id]), ["failed", "wait_dependencies"])
        with self.committed_env() as env:
            env["queue.job"].browse(failing_id).write({"state": "cancelled"})
        self.assertEqual(self.states([dependent_id]), ["cancelled"])

    def test_setting_a_parent_done_by_hand_releases_its_dependents(self):
        ids = self.committed_partners(2)

        def build(env):
            partners = env["res.partner"].browse(ids)
            return chain(
                partners[0].delayable().write({"name": "parent"}),
                partners[1].delayable().write({"name": "child"}),
            )

        parent_id, child_id = self.delay_committed(build)
        with self.committed_env() as env:
            env["queue.job"].browse(parent_id).write({"state": "done"})
        self.assertEqual(self.states([child_id]), ["pending"])


class TestDeduplicatedParent(CommittedDataMixin, TransactionCase):
    def test_a_waiting_job_that_holds_a_parents_identity_key_stands_in_the_graph(self):
        with self.committed_env() as env:
            partner = env["res.partner"].create({"name": "Shared parent"})
            lone = partner.with_delay(identity_key="shared-parent").write({"name": "lone"})
            partner_id, lone_id = partner.id, lone.id
        self.delete_committed_after_test("res.partner", [partner_id])
        self.delete_committed_after_test("queue.job", [lone_id])

        with self.committed_env() as env:
            partner = env["res.partner"].browse(partner_id)
            parent = partner.delayable(identity_key="shared-parent").write({"name": "dup"})
            child = partner.delayable().write({"name": "after the shared parent"})
            jobs = parent.on_done(child).delay()
            self.assertEqual(jobs[0].id, lone_id)  # the waiting job stands in for it
            child_id = jobs[1].id
        self.delete_committed_after_test("queue.job", [child_id])

        process_due_jobs_in_database(self.env.cr.dbname, 10, max_seconds=30)
        states = [
            self.read_committed("queue.job", job_id, ["state"])["state"]
            for job_id in (lone_id, child_id)
        ]
        self.assertEqual(states, ["done", "done"])
        name = self.read_committed("res.partner", partner_id, ["name"])["name"]
        self.assertEqual(name, "after the shared parent")


class TestIdentityKeyRace(CommittedDataMixin, TransactionCase):
    THREADS = 8

    def test_many_transactions_enqueuing_one_identity_key_at_once_store_one_job(self):
        # The test runner holds the registry lock, which the threads' environments need.
        self.patch(Registry, "_lock", DummyRLock())
        with self.committed_env() as env:
            partner_id = env["res.partner"].create({"name": "Raced"}).id
        self.delete_committed_after_test("res.partner", [partner_id])
        start = threading.Barrier(self.THREADS)
        errors = []

        def enqueue(number):
            try:
                with self.committed_env() as env:
                    partner = env["res.partner"].browse(partner_id)
                    partner.name  # noqa: B018  (the snapshot is taken before the race)
                    start.wait(timeout=30)
                    partner.with_delay(identity_key="one-for-all").write({"name": f"{number}"})
            except Exception as error:  # reported below, not lost in the thread
                errors.append(error)

        threads = [threading.Thread(target=enqueue, args=(n,)) for n in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        with self.committed_env() as env:
            jobs = env["queue.job"].search([("identity_key", "=", "one-for-all")])
            job_ids = jobs.ids
        self.delete_committed_after_test("queue.job", job_ids)
        self.assertEqual(len(job_ids), 1)
