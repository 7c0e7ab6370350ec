import inspect
from datetime import datetime, timedelta, timezone
from threading import Lock

from odoo import fields
from odoo.addons.job_worker.job import Job
from odoo.tests import TransactionCase, new_test_user


class TestEnqueue(TransactionCase):
    """``with_delay()`` stores a job and returns it (OCA's ``Job``); a call that could
    never run stores nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Delayed Partner"})
        cls.Job = cls.env["queue.job"]

    def job_count(self):
        return self.Job.search_count([])

    def test_with_delay_stores_a_pending_job_with_its_call(self):
        delayed = self.partner.with_delay().write({"name": "Renamed"})
        self.assertIsInstance(delayed, Job)
        self.assertEqual(delayed.args, ({"name": "Renamed"},))
        job = delayed.db_record()
        self.assertEqual(job._name, "queue.job")
        self.assertEqual(job.state, "pending")
        self.assertEqual(job.model_name, "res.partner")
        self.assertEqual(job.method_name, "write")
        self.assertEqual(job.records, self.partner)
        self.assertEqual(job.args, [{"name": "Renamed"}])
        self.assertEqual(job.kwargs, {})
        self.assertEqual(job.channel, "root")
        self.assertEqual(job.priority, 10)
        self.assertEqual(job.max_retries, 5)
        self.assertEqual(job.retry, 0)
        self.assertEqual(job.user_id, self.env.user)
        self.assertEqual(job.company_id, self.env.company)
        self.assertTrue(job.uuid)
        self.assertEqual(
            job.func_string, f"res.partner({self.partner.id},).write({{'name': 'Renamed'}})"
        )
        self.assertEqual(self.partner.name, "Delayed Partner", "the method must not run now")

    def test_with_delay_options_are_stored(self):
        job = self.partner.with_delay(
            priority=3, max_retries=7, description="Rename it", channel="root.sale"
        ).write({"name": "x"})
        self.assertEqual(
            (job.priority, job.max_retries, job.name, job.channel),
            (3, 7, "Rename it", "root.sale"),
        )

    def test_description_defaults_to_the_method_docstring_first_line(self):
        job = self.partner.with_delay().write({"name": "x"})
        expected = inspect.getdoc(self.partner.write).splitlines()[0]
        self.assertEqual(job.name, expected)

    def test_eta_accepts_seconds_timedelta_and_datetimes(self):
        before = fields.Datetime.now()
        in_seconds = self.partner.with_delay(eta=60).write({})
        in_delta = self.partner.with_delay(eta=timedelta(hours=1)).write({})
        naive = datetime(2030, 1, 2, 3, 4, 5)
        at_naive = self.partner.with_delay(eta=naive).write({})
        aware = datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
        at_aware = self.partner.with_delay(eta=aware).write({})
        self.assertGreaterEqual(in_seconds.eta, before + timedelta(seconds=60))
        self.assertLess(in_seconds.eta, before + timedelta(seconds=120))
        self.assertGreaterEqual(in_delta.eta, before + timedelta(hours=1))
        self.assertEqual(at_naive.eta, naive)
        self.assertEqual(at_aware.eta, naive, "an aware datetime is stored as naive UTC")

    def test_a_bad_eta_is_refused(self):
        with self.assertRaisesRegex(TypeError, "eta must be"):
            self.partner.with_delay(eta="tomorrow").write({})

    def test_channel_defaults_to_the_job_function_channel(self):
        self.env["queue.job.function"].create(
            {
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "method": "write",
                "channel": "root.partners",
            }
        )
        job = self.partner.with_delay().write({})
        self.assertEqual(job.channel, "root.partners")
        self.assertEqual(job.job_function_id.name, "res.partner.write")
        explicit = self.partner.with_delay(channel="root.other").write({})
        self.assertEqual(explicit.channel, "root.other")

    def test_an_unknown_method_fails_at_enqueue_and_stores_nothing(self):
        count = self.job_count()
        with self.assertRaisesRegex(AttributeError, "res.partner has no method|no method 'nope'"):
            self.partner.with_delay().nope()
        self.assertEqual(self.job_count(), count)

    def test_an_argument_that_cannot_be_serialized_is_named_and_nothing_is_stored(self):
        count = self.job_count()
        with self.assertRaises(TypeError) as caught:
            self.partner.with_delay().write({"name": "ok", "lock": Lock()})
        message = str(caught.exception)
        self.assertIn("res.partner.write()", message)
        self.assertIn("argument 'vals'['lock']", message)
        self.assertIn("lock", message)
        self.assertEqual(self.job_count(), count)

    def test_an_unserializable_keyword_argument_is_named(self):
        with self.assertRaisesRegex(TypeError, "argument 'body'"):
            self.partner.with_delay().message_post(body=object())

    def test_a_call_with_wrong_arguments_fails_at_enqueue(self):
        count = self.job_count()
        with self.assertRaisesRegex(TypeError, r"cannot delay res.partner.write\(\)"):
            self.partner.with_delay().write({"name": "x"}, "unexpected")
        with self.assertRaisesRegex(TypeError, r"cannot delay res.partner.write\(\)"):
            self.partner.with_delay().write(nonsense=1)
        self.assertEqual(self.job_count(), count)

    def test_unsaved_records_are_refused(self):
        new_partner = self.env["res.partner"].new({"name": "Not saved"})
        with self.assertRaisesRegex(TypeError, "not saved"):
            self.partner.with_delay().write({"parent_id": new_partner})

    def test_an_identity_key_that_is_neither_a_string_nor_a_function_is_refused(self):
        with self.assertRaisesRegex(TypeError, "identity_key must be a string or a callable"):
            self.partner.with_delay(identity_key=42)

    def test_a_job_enqueued_by_a_user_without_job_access_belongs_to_that_user(self):
        user = new_test_user(self.env, login="job_enqueuer", groups="base.group_user")
        partner = self.partner.with_user(user)
        job = partner.with_delay().write({"name": "by user"})
        self.assertEqual(job.sudo().user_id, user)
        self.assertEqual(job.sudo().records.env.uid, user.id)
        self.assertFalse(job.sudo().records.env.su)

    def test_out_of_range_options_are_refused_naming_the_option(self):
        with self.assertRaisesRegex(ValueError, "max_retries must be 0 .* got -1"):
            self.partner.with_delay(max_retries=-1)
        with self.assertRaisesRegex(TypeError, "priority must be an integer"):
            self.partner.with_delay(priority="high")
