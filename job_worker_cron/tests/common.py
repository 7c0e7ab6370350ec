"""Helpers for the cron processor's tests.

Everything they check happens after a commit (the triggers are scheduled once the
enqueuing transaction commits, the engine only sees committed jobs), so jobs are
committed for real, and each test deletes the jobs, triggers and progress rows it left.
"""

import time
from datetime import timedelta

from odoo import fields
from odoo.addons.job_worker.tests.common import CommittedDataMixin
from odoo.tests import TransactionCase

from ..cron_triggers import PROCESSING_CRON_XMLID


class CronProcessorCase(CommittedDataMixin, TransactionCase):
    """A clean slate for the processing cron: no trigger, no progress, no job left."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref(PROCESSING_CRON_XMLID)

    def setUp(self):
        super().setUp()
        with self.committed_env() as env:
            env.cr.execute("SELECT coalesce(max(id), 0) FROM queue_job")
            (last_job_id,) = env.cr.fetchone()
        self.forget_cron_schedule()
        self.addCleanup(self.forget_cron_schedule)
        self.addCleanup(self.delete_committed_jobs_after, last_job_id)

    def forget_cron_schedule(self):
        with self.committed_env() as env:
            env.cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = %s", [self.cron.id])
            env.cr.execute("DELETE FROM ir_cron_progress WHERE cron_id = %s", [self.cron.id])

    def delete_committed_jobs_after(self, last_job_id):
        with self.committed_env() as env:
            env.cr.execute("DELETE FROM queue_job WHERE id > %s", [last_job_id])

    def committed_partner(self, name):
        with self.committed_env() as env:
            partner_id = env["res.partner"].create({"name": name}).id
        self.delete_committed_after_test("res.partner", [partner_id])
        return partner_id

    def enqueue_committed(self, enqueue):
        """Commit the jobs ``enqueue(env)`` returns; return their ids."""
        with self.committed_env() as env:
            return enqueue(env).ids

    def cron_trigger_times(self):
        """When the processing cron's pending triggers fire, in order (committed)."""
        with self.committed_env() as env:
            env.cr.execute(
                "SELECT call_at FROM ir_cron_trigger WHERE cron_id = %s ORDER BY call_at",
                [self.cron.id],
            )
            return [call_at for (call_at,) in env.cr.fetchall()]

    def job_states(self, job_ids):
        with self.committed_env() as env:
            return env["queue.job"].browse(job_ids).mapped("state")

    def run_cron(self):
        """Run the processing cron once, as Odoo's scheduler runs it."""
        with self.committed_env() as env:
            env.ref(PROCESSING_CRON_XMLID).method_direct_trigger()

    def start_of_minute_ahead(self, minutes):
        """The first second of the minute ``minutes`` from now, in naive UTC."""
        return fields.Datetime.now().replace(second=0) + timedelta(minutes=minutes)

    def stay_within_one_minute(self, seconds_needed=10):
        """Wait for the next minute if this one ends within ``seconds_needed``: checks of
        "one trigger a minute" must not straddle two minutes."""
        now = fields.Datetime.now()
        if now.second >= 60 - seconds_needed:
            time.sleep(60 - now.second + 1)
