"""OCA ``queue_job``'s ``Job`` object and the other names its users reach, over
job_worker's rows: loading, performing, state setters, storing through the delay API,
auto-delayed methods, job functions as OCA's data files write them, failure hooks."""

import hashlib
from collections import namedtuple
from unittest import mock

from odoo.addons.job_worker.delay import chain
from odoo.addons.job_worker.exception import FailedJobError, NoSuchJobError, RetryableJobError
from odoo.addons.job_worker.job import (
    DONE,
    FAILED,
    PENDING,
    WAIT_DEPENDENCIES,
    Job,
    identity_exact,
)
from odoo.addons.job_worker.processing.job_transaction import OdooJobTransaction
from odoo.addons.job_worker.tests.common import mock_with_delay, trap_jobs
from odoo.exceptions import UserError
from odoo.tests import TransactionCase


class TestOcaJobObject(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Job Object Partner"})

    def function(self, **values):
        return self.env["queue.job.function"].create(
            {"model_id": self.env["ir.model"]._get_id("res.partner"), "method": "write", **values}
        )

    # -- with_delay(), load, exists -------------------------------------------------------

    def test_with_delay_returns_a_job_over_the_stored_row(self):
        job = self.partner.with_delay(priority=3).write({"name": "Later"})
        self.assertIsInstance(job, Job)
        record = job.db_record()
        self.assertEqual((record.uuid, record.priority, record.state), (job.uuid, 3, PENDING))
        self.assertEqual(job.args, ({"name": "Later"},))
        self.assertEqual(job.recordset, self.partner)
        self.assertEqual(job.id, record.id, "other names are the record's")

    def test_load_rebuilds_the_call_and_an_unknown_uuid_raises_no_such_job(self):
        job = self.partner.with_delay().write({"name": "Loaded"})
        loaded = Job.load(self.env, job.uuid)
        self.assertEqual(loaded, job)
        self.assertEqual((loaded.model_name, loaded.method_name), ("res.partner", "write"))
        self.assertEqual((loaded.args, loaded.kwargs), (({"name": "Loaded"},), {}))
        self.assertTrue(Job.exists(self.env, job.uuid))
        job.db_record().unlink()
        self.assertFalse(Job.exists(self.env, job.uuid))
        with self.assertRaises(NoSuchJobError):
            Job.load(self.env, job.uuid)

    def test_a_job_whose_identity_key_a_waiting_job_holds_becomes_that_job(self):
        first = self.partner.with_delay(identity_key="only-one").write({"name": "1"})
        second = self.partner.with_delay(identity_key="only-one").write({"name": "2"})
        self.assertEqual(second.uuid, first.uuid)
        self.assertEqual(self.env["queue.job"].search_count([("identity_key", "=", "only-one")]), 1)

    def test_identity_exact_is_ocas_digest_of_the_arguments_tuple(self):
        job = Job(self.partner.write, args=({"name": "x"},), identity_key=identity_exact)
        expected = hashlib.sha1()
        for part in ("res.partner", "write", str([self.partner.id]), str(({"name": "x"},)), "[]"):
            expected.update(part.encode("utf-8"))
        self.assertEqual(job.identity_key, expected.hexdigest())

    # -- Job(...).store(), state setters ------------------------------------------------------

    def test_a_new_job_is_stored_through_the_delay_api_with_its_functions_channel(self):
        channel = self.env["queue.job.channel"].create(
            {"name": "objects", "parent_id": self.env.ref("job_worker.channel_root").id}
        )
        self.function(channel_id=channel.id)
        job = Job(self.partner.write, args=({"name": "Stored"},), description="By hand")
        self.assertFalse(job.db_record())
        job.store()
        record = job.db_record()
        self.assertEqual(
            (record.state, record.channel, record.name, record.user_id),
            (PENDING, "root.objects", "By hand", self.env.user),
        )

    def test_set_done_and_store_write_the_state_and_release_waiting_dependents(self):
        parent = Job(self.partner.write, args=({"name": "parent"},))
        child = Job(self.partner.write, args=({"name": "child"},))
        child.add_depends({parent})
        parent.store()
        child.store()
        self.assertEqual(child.db_record().state, WAIT_DEPENDENCIES)
        self.assertEqual(child.db_record().dependency_ids, parent.db_record())
        self.assertTrue(parent.db_record().graph_uuid, "the dependency triggers follow graphs")
        parent.set_done(result="by hand")
        parent.store()
        self.assertEqual((parent.db_record().state, parent.db_record().result), (DONE, "by hand"))
        self.assertEqual(Job.load(self.env, child.uuid).state, PENDING)

    def test_the_call_of_a_stored_job_cannot_change(self):
        job = self.partner.with_delay().write({"name": "fixed"})
        with self.assertRaisesRegex(AttributeError, "cannot change"):
            job.description = "another"
        job.set_failed(exc_name="KeyError", exc_message="boom")
        job.store()
        self.assertEqual((job.db_record().state, job.db_record().exc_name), (FAILED, "KeyError"))

    # -- perform() ------------------------------------------------------------------------------

    def test_perform_runs_the_call_now_with_job_uuid_in_its_context(self):
        job = self.partner.with_delay().read(["name"])
        self.assertEqual(job.perform(), [{"id": self.partner.id, "name": "Job Object Partner"}])
        self.assertEqual(job.func.__self__.env.context["job_uuid"], job.uuid)
        self.assertEqual(job.retry, 1, "the attempt is counted")

    def test_perform_gives_up_with_failed_job_error_after_max_retries(self):
        job = Job(self.partner.write, args=({"name": "retried"},), max_retries=2)
        with mock.patch.object(type(self.partner), "write", side_effect=RetryableJobError("busy")):
            with self.assertRaises(RetryableJobError):
                job.perform()
            with self.assertRaises(FailedJobError):
                job.perform()
        self.assertEqual(job.retry, 2)

    def test_a_job_run_by_the_engine_has_job_uuid_in_its_context(self):
        stored = self.partner.with_delay().write({"name": "engine"}).db_record()
        row = namedtuple(
            "ClaimedJob",
            "id uuid user_id model_name method_name records args kwargs company_id func_name",
        )
        claimed = row(
            stored.id,
            stored.uuid,
            self.env.uid,
            "res.partner",
            "write",
            stored.read(["records"])[0]["records"],
            stored.read(["args"])[0]["args"],
            "{}",
            False,
            "res.partner.write",
        )
        transaction = OdooJobTransaction(self.registry, claimed)
        try:
            method, args, _kwargs = transaction._decode_call()
            self.assertEqual(method.__self__.env.context["job_uuid"], stored.uuid)
            self.assertEqual(args, [{"name": "engine"}])
        finally:
            transaction.rollback()
            transaction.close()

    # -- _patch_job_auto_delay -----------------------------------------------------------------

    def test_an_auto_delayed_method_stores_a_job_except_when_it_runs_as_that_job(self):
        patched = self.env["res.partner"]._patch_job_auto_delay("write")
        job = patched(self.partner, {"name": "auto"})
        self.assertIsInstance(job, Job)
        self.assertEqual((job.method_name, job.args), ("write", ({"name": "auto"},)))
        self.assertEqual(self.partner.name, "Job Object Partner", "not run now")
        patched(self.partner.with_context(job_uuid=job.uuid), {"name": "ran"})
        self.assertEqual(self.partner.name, "ran", "run by its job: runs")
        keyed = self.env["res.partner"]._patch_job_auto_delay("write", context_key="delay_it")
        keyed(self.partner, {"name": "now"})
        self.assertEqual(self.partner.name, "now", "without its context key: runs")

    # -- company, context allow-list --------------------------------------------------------------

    def test_the_company_id_context_key_names_the_jobs_company(self):
        none = self.partner.with_context(company_id=None).with_delay().write({"name": "a"})
        self.assertFalse(none.db_record().company_id)
        default = self.partner.with_delay().write({"name": "b"})
        self.assertEqual(default.db_record().company_id, self.env.company)

    def test_the_model_hook_names_the_context_keys_a_job_keeps(self):
        records = self.partner.with_context(lang="en_US", custom_key=42)
        with mock.patch.object(
            type(self.partner),
            "_job_prepare_context_before_enqueue_keys",
            return_value=("custom_key",),
        ):
            job = records.with_delay().write({"name": "c"})
        self.assertEqual(job.db_record().records.env.context, {"custom_key": 42})

    # -- trap_jobs(), mock_with_delay() ---------------------------------------------------------

    def test_trap_jobs_compares_properties_as_given_and_performs_as_the_job(self):
        with trap_jobs() as trap:
            self.partner.with_delay(eta=15, identity_key=identity_exact).write({"name": "t"})
            self.partner.with_delay(eta=15, identity_key=identity_exact).write({"name": "t"})
            trap.assert_jobs_count(1)
            trap.assert_jobs_count(0, only=self.env["res.partner"].write)
            trap.assert_enqueued_job(
                self.partner.write,
                args=({"name": "t"},),
                properties={"eta": 15, "identity_key": identity_exact},
            )
            [trapped] = trap.enqueued_jobs
            trap.perform_enqueued_jobs()
        self.assertEqual((self.partner.name, trapped.result), ("t", True))

    def test_a_job_stored_by_hand_inside_trap_jobs_is_trapped_not_stored(self):
        job = Job(self.partner.write, args=({"name": "trapped"},))
        with trap_jobs() as trap:
            job.store()
            trap.assert_enqueued_job(self.partner.write, args=({"name": "trapped"},))
        self.assertFalse(job.db_record())

    def test_mock_with_delay_records_the_call_and_stores_nothing(self):
        count = self.env["queue.job"].search_count([])
        with mock_with_delay() as (proxy_class, proxy):
            self.partner.with_delay(priority=4).write({"name": "mocked"})
        self.assertEqual(proxy_class.call_args.kwargs["priority"], 4)
        self.assertEqual(proxy.write.call_args.args, ({"name": "mocked"},))
        self.assertEqual(self.env["queue.job"].search_count([]), count)

    # -- graphs ----------------------------------------------------------------------------------

    def test_a_delayable_delayed_before_waits_for_the_parents_of_its_new_graph(self):
        first = self.partner.delayable().write({"name": "first"})
        later = self.partner.delayable().write({"name": "later"})
        later.delay()
        first.on_done(later).delay()
        later_record = later._generated_job.db_record()
        self.assertEqual(later_record.state, WAIT_DEPENDENCIES)
        self.assertEqual(later_record.dependency_ids, first._generated_job.db_record())
        self.assertEqual(later._generated_job._depends_on, {first._generated_job})

    def test_a_started_job_cannot_wait_for_new_parents(self):
        started = self.partner.delayable().write({"name": "started"})
        started.delay()
        self.env.cr.execute(
            "UPDATE queue_job SET state = 'started' WHERE id = %s",
            [started._generated_job.db_record().id],
        )
        with self.assertRaisesRegex(ValueError, "cannot wait"):
            chain(self.partner.delayable().write({"name": "new"}), started).delay()

    def test_the_no_delay_switch_of_any_job_runs_the_whole_graph_now(self):
        count = self.env["queue.job"].search_count([])
        first = self.partner.delayable().write({"name": "first"})
        second = (
            self.partner.with_context(queue_job__no_delay=True)
            .delayable()
            .write({"name": "second"})
        )
        self.assertEqual(chain(first, second).delay(), [True, True])
        self.assertEqual(self.partner.name, "second")
        self.assertEqual(self.env["queue.job"].search_count([]), count)

    def test_a_cancelled_parent_cancels_its_dependents_in_ocas_words_at_its_time(self):
        parent = self.partner.delayable().write({"name": "parent"})
        child = self.partner.delayable().write({"name": "child"})
        chain(parent, child).delay()
        parent_record, child_record = (node._generated_job.db_record() for node in (parent, child))
        (parent_record | child_record).button_cancelled()
        self.assertEqual(child_record.result, "Cancelled because a job it depends on was cancelled")
        self.assertEqual(child_record.date_cancelled, parent_record.date_cancelled)

    def test_ocas_requeue_wizard_requeues_the_selected_jobs(self):
        job = self.partner.with_delay().write({"name": "w"}).db_record()
        job.button_cancelled()
        wizard = (
            self.env["queue.requeue.job"]
            .with_context(active_model="queue.job", active_ids=job.ids)
            .create({})
        )
        wizard.requeue()
        self.assertEqual(job.state, PENDING)

    # -- job functions as OCA's data files write them --------------------------------------------

    def test_job_functions_take_ocas_channel_id_allow_commit_and_edited_retry_pattern(self):
        function = self.function(allow_commit=True)
        name = self.env["queue.job.function"].job_function_name("res.partner", "write")
        self.assertEqual(function.name, name)
        self.assertEqual(function.channel_id, self.env.ref("job_worker.channel_root"))
        function.edit_retry_pattern = "{1: 10, 5: (30, 60)}"
        self.assertEqual(function.edit_retry_pattern, "{1: 10, 5: (30, 60)}")
        self.assertEqual(Job(self.partner.write, args=({},))._get_retry_seconds(), 600)
        with self.assertRaisesRegex(UserError, "not an attempt number"):
            function.edit_retry_pattern = "{'a': 10}"

    # -- failure hooks ----------------------------------------------------------------------------

    def test_a_job_written_failed_posts_its_failure_to_managers_and_its_creator(self):
        creator = self.env["res.users"].create({"name": "Creator", "login": "oca_job_creator"})
        job = self.partner.with_user(creator).with_delay().write({"name": "f"}).db_record()
        job.write({"state": FAILED, "exc_name": "KeyError", "exc_message": "boom"})
        self.assertIn(creator.partner_id, job.message_follower_ids.partner_id)
        self.assertIn("KeyError", job.message_ids[0].body)
        managers = self.env["res.users"].search(job._subscribe_users_domain())
        self.assertIn(self.env.ref("base.user_admin"), managers)
        self.assertIn(
            self.env.ref("base.user_admin").partner_id, job.message_follower_ids.partner_id
        )
