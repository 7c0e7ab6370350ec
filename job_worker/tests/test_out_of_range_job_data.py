"""Values out of range in a job's configuration or its stored call: refused when written,
or failing their job once, with an error naming the entry or the field."""

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase

from ..processing.database_processing import process_due_jobs_in_database
from .common import CommittedDataMixin


class TestRetryPatternBounds(TransactionCase):
    """A job function's retry pattern is refused past 30 days, or when not finite: such a
    delay cannot be stored as an ETA, and its jobs could never be settled."""

    def create_function(self, retry_pattern, method="write"):
        return self.env["queue.job.function"].create(
            {
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "method": method,
                "retry_pattern": retry_pattern,
            }
        )

    def test_a_pattern_stored_out_of_range_before_the_bounds_still_opens_as_stored(self):
        function = self.create_function('{"1": 10}')
        self.env.cr.execute(
            "UPDATE queue_job_function SET retry_pattern = %s WHERE id = %s",
            ['{"1": 1e308}', function.id],
        )
        function.invalidate_recordset()
        self.assertEqual(function.edit_retry_pattern, '{"1": 1e308}')

    def test_an_infinite_or_absurd_delay_is_refused_naming_the_entry(self):
        for pattern, message in (
            ('{"1": 10, "5": Infinity}', "delay for '5' must be from 0 to 2592000 seconds"),
            ('{"1": 1e308}', "delay for '1' must be from 0 to 2592000 seconds"),
            ('{"1": NaN}', "delay for '1' must be from 0 to 2592000 seconds"),
            ('{"2": [60, 1e308]}', "delay for '2' must be from 0 to 2592000 seconds"),
            ({3: float("inf")}, "delay for '3' must be from 0 to 2592000 seconds"),
        ):
            with self.subTest(pattern=pattern), self.assertRaisesRegex(ValidationError, message):
                self.create_function(pattern)

    def test_writing_an_infinite_delay_on_a_function_is_refused(self):
        function = self.create_function('{"1": 60}')
        with self.assertRaisesRegex(ValidationError, "res.partner.write: retry pattern delay"):
            function.write({"retry_pattern": '{"1": Infinity}'})

    def test_thirty_days_is_the_longest_delay_accepted(self):
        function = self.create_function('{"1": 2592000}')
        self.assertEqual(function.retry_pattern, '{"1": 2592000}')


class TestUndecodableArguments(CommittedDataMixin, TransactionCase):
    """A job whose stored arguments cannot be rebuilt fails once, as corrupt data naming
    the job and the field, and is never tried again."""

    def test_a_huge_timedelta_or_a_bad_decimal_fails_its_job_once_naming_it(self):
        for stored in (
            '[{"_type": "timedelta", "value": [1000000000, 0, 0]}]',
            '[{"_type": "decimal", "value": "twelve"}]',
        ):
            with self.subTest(stored=stored):
                with self.committed_env() as env:
                    job = env.ref("base.main_partner").with_delay(max_retries=5).exists()
                    job_id, job_uuid = job.id, job.uuid
                    env.cr.execute("UPDATE queue_job SET args = %s WHERE id = %s", [stored, job_id])
                self.delete_committed_after_test("queue.job", [job_id])

                report = process_due_jobs_in_database(self.env.cr.dbname, 5, max_seconds=30)

                self.assertEqual((report.processed, report.failed), (1, 1))
                job = self.read_committed(
                    "queue.job", job_id, ["state", "retry", "exc_name", "exc_message"]
                )
                self.assertEqual((job["state"], job["retry"]), ("failed", 1))
                self.assertTrue(job["exc_name"].endswith("CorruptJobDataError"))
                self.assertIn(f"job {job_uuid} (res.partner.exists)", job["exc_message"])
                self.assertIn("cannot be decoded: args[0]: a stored", job["exc_message"])
                again = process_due_jobs_in_database(self.env.cr.dbname, 5, max_seconds=30)
                self.assertEqual(again.processed, 0)
