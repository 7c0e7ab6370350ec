"""What no one may do to a job through the ORM, in Python: create one outside the delay
API, copy one, rewrite its call, or change its state and timestamps other than through
the state actions; related actions limited to public ``related_action_*`` methods with
plain data; a job's records keep the user and superuser flag the delaying code chose.
(The same refusals over JSON-RPC: ``test_job_protection_rpc``.)"""

import psycopg2.errors
from odoo.addons.job_worker.delay import chain
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, new_test_user
from odoo.tools import mute_logger

from ..engine.connection import connect_engine
from ..engine.errors import CorruptJobDataError
from ..fields import UndecodableJobValue
from ..models.queue_job_function import check_related_action
from ..processing.job_transaction import engine_connection_params
from .common import CommittedDataMixin


class TestJobCreation(TransactionCase):
    def test_jobs_cannot_be_created_through_the_orm_even_as_superuser(self):
        values = {"model_name": "res.users", "method_name": "write", "uuid": "forged"}
        for Job in (self.env["queue.job"], self.env["queue.job"].sudo()):
            with self.assertRaisesRegex(AccessError, "cannot be created directly"):
                Job.create(values)
        self.assertFalse(self.env["queue.job"].search([("uuid", "=", "forged")]))

    def test_a_context_flag_does_not_open_creation(self):
        Job = (
            self.env["queue.job"]
            .sudo()
            .with_context(job_worker_storing_delayed_jobs=True, _job_edit_sentinel=True)
        )
        with self.assertRaises(AccessError):
            Job.create({"model_name": "res.users", "method_name": "write", "uuid": "forged"})

    def test_superuser_code_with_ocas_edit_sentinel_object_may_create_and_no_one_else(self):
        Job = self.env["queue.job"]
        values = {"model_name": "res.partner", "method_name": "exists", "uuid": "sentinel"}
        with self.assertRaises(AccessError):  # the very object, but not as the superuser
            manager = new_test_user(
                self.env,
                login="sentinel_manager",
                groups="base.group_user,job_worker.group_queue_job_manager",
            )
            Job.with_user(manager).with_context(_job_edit_sentinel=Job.EDIT_SENTINEL).create(values)
        created = Job.sudo().with_context(_job_edit_sentinel=Job.EDIT_SENTINEL).create(values)
        self.assertEqual(created.uuid, "sentinel")

    def test_the_company_id_context_key_names_only_a_company_of_the_delaying_user(self):
        other_company = self.env["res.company"].create({"name": "Not the manager's"})
        manager = new_test_user(
            self.env,
            login="company_manager",
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        partner = self.env["res.partner"].create({"name": "Companies"})
        as_manager = partner.with_user(manager)
        own = manager.company_id.id
        job = as_manager.with_context(company_id=own).with_delay().write({}).db_record()
        self.assertEqual(job.company_id.id, own)
        count = self.env["queue.job"].search_count([])
        for records in (as_manager, as_manager.sudo()):  # sudo() keeps the caller's context
            with self.assertRaisesRegex(AccessError, "company_manager is not in it"):
                records.with_context(company_id=other_company.id).with_delay().write({})
        self.assertEqual(self.env["queue.job"].search_count([]), count)

    def test_the_delay_api_still_stores_jobs(self):
        partner = self.env["res.partner"].create({"name": "Delayed"})
        job = partner.with_delay().write({"name": "later"}).db_record()
        self.assertEqual(
            (job.model_name, job.method_name, job.state), ("res.partner", "write", "pending")
        )

    def test_jobs_cannot_be_copied(self):
        job = self.env["res.partner"].create({"name": "Copied"}).with_delay().write({}).db_record()
        count = self.env["queue.job"].search_count([])
        with self.assertRaisesRegex(AccessError, "cannot be copied"):
            job.copy({"model_name": "res.users"})
        self.assertEqual(self.env["queue.job"].search_count([]), count)

    def test_a_job_keeps_the_user_and_superuser_flag_the_delaying_code_chose(self):
        manager = new_test_user(
            self.env,
            login="protection_manager",
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        partner = self.env["res.partner"].create({"name": "Owned"})
        as_manager = partner.with_user(manager).with_delay().write({"name": "m"}).db_record()
        as_superuser = (
            partner.with_user(manager).sudo().with_delay().write({"name": "s"}).db_record()
        )
        self.assertEqual(as_manager.user_id, manager)
        self.assertEqual(
            (as_manager.records.env.uid, as_manager.records.env.su), (manager.id, False)
        )
        self.assertEqual(
            (as_superuser.records.env.uid, as_superuser.records.env.su), (manager.id, True)
        )


class TestJobDeletion(TransactionCase):
    def setUp(self):
        super().setUp()
        self.manager = new_test_user(
            self.env,
            login="deletion_manager",
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        self.partner = self.env["res.partner"].create({"name": "Deleted"})

    def test_a_job_that_others_wait_for_cannot_be_deleted_but_cancelled(self):
        parent = self.partner.delayable().write({"name": "parent"})
        child = self.partner.delayable().write({"name": "child"})
        chain(parent, child).delay()
        parent_job = parent._generated_job.db_record().with_user(self.manager)
        with self.assertRaisesRegex(UserError, "would wait forever"):
            parent_job.unlink()
        parent_job.button_cancelled()
        self.assertEqual(child._generated_job.db_record().state, "cancelled")
        parent_job.unlink()
        self.assertFalse(parent_job.exists())

    def test_a_running_job_cannot_be_deleted(self):
        job = self.partner.with_delay().write({}).db_record()
        self.env.cr.execute("UPDATE queue_job SET state = 'started' WHERE id = %s", [job.id])
        job.invalidate_recordset()
        with self.assertRaisesRegex(UserError, "while they run"):
            job.with_user(self.manager).unlink()
        self.assertTrue(job.exists())


class TestJobWrites(TransactionCase):
    def setUp(self):
        super().setUp()
        self.job = (
            self.env["res.partner"].create({"name": "Written"}).with_delay().write({}).db_record()
        )
        manager = new_test_user(
            self.env,
            login="protection_writer",
            groups="base.group_user,job_worker.group_queue_job_manager",
        )
        self.managed = self.job.with_user(manager)

    def set_state_in_sql(self, state):
        self.env.cr.execute("UPDATE queue_job SET state = %s WHERE id = %s", [state, self.job.id])
        self.job.invalidate_recordset()

    def test_state_timestamps_attempts_and_owner_are_not_written_through_the_orm(self):
        for field, value in (
            ("state", "done"),
            ("date_done", "2030-01-01 00:00:00"),
            ("date_started", "2030-01-01 00:00:00"),
            ("retry", 0),
            ("owner", "job_worker:process:forged:1"),
            ("result", "forged"),
            ("timeout", 1),
        ):
            with self.assertRaisesRegex(UserError, field):
                self.managed.write({field: value})
        self.assertEqual(
            (self.job.state, self.job.owner, self.job.result), ("pending", False, False)
        )

    def test_code_running_as_superuser_may_set_a_waiting_jobs_state(self):
        self.job.sudo().write({"state": "done"})
        self.assertEqual(self.job.state, "done")

    def test_a_manager_may_change_priority_eta_attempts_and_channel_of_a_waiting_job(self):
        self.managed.write({"priority": 3, "max_retries": 2, "channel": "root.other", "eta": False})
        self.assertEqual(
            (self.job.priority, self.job.max_retries, self.job.channel), (3, 2, "root.other")
        )

    def test_a_started_job_cannot_be_changed(self):
        self.set_state_in_sql("started")
        for job in (self.managed, self.job.sudo()):
            with self.assertRaisesRegex(UserError, "Started jobs cannot be changed"):
                job.write({"priority": 1})
        with self.assertRaisesRegex(UserError, "state"):
            self.managed.write({"state": "pending"})
        with self.assertRaisesRegex(UserError, "Started jobs cannot be changed"):
            self.job.sudo().write({"state": "pending"})
        self.assertEqual((self.job.state, self.job.priority), ("started", 10))

    def test_the_state_actions_still_change_the_state(self):
        self.set_state_in_sql("failed")
        self.managed.requeue()
        self.assertEqual(self.job.state, "pending")
        self.managed.button_done()
        self.assertEqual(self.job.state, "done")


class TestStateActionsOnAJobClaimedMeanwhile(CommittedDataMixin, TransactionCase):
    def test_a_job_running_elsewhere_is_left_alone_whatever_this_transaction_read(self):
        with self.committed_env() as env:
            job_id = env["res.partner"].with_delay().write({}).id
        self.delete_committed_after_test("queue.job", [job_id])
        processor = connect_engine(
            engine_connection_params(self.env.cr.dbname), "job_worker:test-running"
        )
        self.addCleanup(processor.close)
        with self.committed_env() as env:
            job = env["queue.job"].browse(job_id)
            self.assertEqual(job.state, "pending")  # this transaction read it pending
            # Meanwhile a processor claims it and runs it: its transaction holds the row.
            with processor.cursor() as cursor:
                cursor.execute(
                    "UPDATE queue_job SET state = 'started', owner = 'job_worker:test-running'"
                    " WHERE id = %s",
                    [job_id],
                )
                processor.commit()
                cursor.execute("SELECT id FROM queue_job WHERE id = %s FOR NO KEY UPDATE", [job_id])
            env.cr.execute("SET LOCAL lock_timeout = '2s'")  # unchecked, the write would wait
            # What this stale snapshot read cannot be acted on: the request fails with a
            # serialization error, which Odoo answers by running the request again...
            with (
                mute_logger("odoo.sql_db"),
                self.assertRaises(psycopg2.errors.SerializationFailure),
            ):
                job.button_cancelled()
            env.cr.rollback()
        # ... in a new transaction, which sees the job started and leaves it alone.
        with self.committed_env() as env:
            env.cr.execute("SET LOCAL lock_timeout = '2s'")
            with self.assertRaisesRegex(UserError, "running"):
                env["queue.job"].browse(job_id).button_cancelled()
        processor.rollback()
        self.assertEqual(self.read_committed("queue.job", job_id, ["state"])["state"], "started")


class TestRelatedActionConfiguration(TransactionCase):
    def function(self, related_action):
        return self.env["queue.job.function"].create(
            {
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "method": "write",
                "related_action": related_action,
            }
        )

    def test_only_public_related_action_methods_may_be_named(self):
        for func_name in ("copy", "unlink", "write", "_related_action_x", "related_action", "sudo"):
            with self.assertRaisesRegex(ValidationError, repr(func_name)):
                self.function({"func_name": func_name})
        self.assertTrue(self.function({"func_name": "related_action_open_record"}))

    def test_keyword_arguments_must_be_plain_data(self):
        check_related_action({"kwargs": {"a": [1, 2.5, "x", None, True, {"b": []}]}})
        with self.assertRaisesRegex(ValueError, r"kwargs\['default'\]\['records'\]"):
            check_related_action({"kwargs": {"default": {"records": self.env["res.partner"]}}})
        with self.assertRaisesRegex(ValidationError, "not JSON data"):
            self.function(
                {"func_name": "related_action_open_record", "kwargs": {"x": self.env.user}}
            )

    def test_a_refused_action_stored_in_sql_is_refused_again_when_it_runs(self):
        function = self.function({"func_name": "related_action_open_record"})
        job = self.env["res.partner"].create({"name": "Related"}).with_delay().write({}).db_record()
        job_count = self.env["queue.job"].search_count([])
        for config in (
            '{"func_name": "copy", "kwargs": {"default": {"method_name": "unlink"}}}',
            '{"func_name": "unlink"}',
            '{"func_name": "_write_by_state_action", "kwargs": {"vals": {"state": "done"}}}',
        ):
            self.env.cr.execute(
                "UPDATE queue_job_function SET related_action = %s WHERE id = %s",
                [config, function.id],
            )
            function.invalidate_recordset()
            job.invalidate_recordset()
            with self.assertRaisesRegex(UserError, "refused"):
                job.open_related_action()
        self.assertEqual(self.env["queue.job"].search_count([]), job_count)
        self.assertEqual(job.exists().state, "pending")

    def test_a_modules_data_file_may_name_any_method_and_the_button_still_refuses_it(self):
        loading = self.env["queue.job.function"].with_context(install_mode=True)
        loading.create(
            {
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "method": "write",
                "related_action": {"func_name": "copy"},
            }
        )
        job = self.env["res.partner"].create({"name": "Related"}).with_delay().write({}).db_record()
        with self.assertRaisesRegex(UserError, "refused"):
            job.open_related_action()
        with self.assertRaisesRegex(ValidationError, "'copy'"):  # not while loading: refused
            self.function({"func_name": "copy"})

    def test_unknown_keyword_arguments_are_a_clear_error(self):
        self.function({"func_name": "related_action_open_record", "kwargs": {"extra": 1}})
        job = self.env["res.partner"].create({"name": "Related"}).with_delay().write({}).db_record()
        with self.assertRaisesRegex(UserError, "cannot take its keyword arguments extra"):
            job.open_related_action()


class TestJobsWithoutUsableData(TransactionCase):
    def job_with(self, **columns):
        job = self.env["res.partner"].create({"name": "Odd"}).with_delay().write({}).db_record()
        for column, value in columns.items():
            self.env.cr.execute(
                f"UPDATE queue_job SET {column} = %s WHERE id = %s", [value, job.id]
            )
        job.invalidate_recordset()
        return job

    def test_related_on_a_job_without_stored_records_is_a_clear_error(self):
        job = self.job_with(records=None)
        with self.assertRaisesRegex(UserError, "stores no records"):
            job.open_related_action()

    def test_undecodable_arguments_read_as_a_placeholder_naming_the_problem(self):
        for args, problem in (
            ('[{"_type": "timedelta", "value": [1e20]}]', "OverflowError"),
            ('[{"_type": "decimal", "value": "not a number"}]', "InvalidOperation"),
            ('[{"_type": "no_such_type"}]', "unknown value type"),
            ("[[[", "not JSON"),
        ):
            job = self.job_with(args=args)
            [read] = job.read(["args"])
            self.assertIn("cannot be decoded", read["args"])
            self.assertIn(problem, read["args"])
            self.assertIsInstance(job.args, UndecodableJobValue)
            with self.assertRaisesRegex(CorruptJobDataError, "stored args of this job"):
                job.args[0]

    def test_related_on_a_job_with_undecodable_records_is_a_clear_error(self):
        job = self.job_with(
            records='{"_type": "odoo_recordset", "model": "no.such.model", "ids": [1]}'
        )
        with self.assertRaisesRegex(UserError, "cannot be opened"):
            job.open_related_action()
