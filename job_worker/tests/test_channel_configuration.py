"""Channels as code: a specification from the environment or the configuration file,
applied over the channel records at registry load; precedence, refusals, concurrency."""

import logging
import os
import tempfile
from contextlib import closing
from unittest.mock import patch

from odoo.tests import TransactionCase
from odoo.tools import config

from ..configuration import channels_as_code
from ..configuration.channels_as_code import apply_configured_channels, find_channel_sources
from ..engine.claim import claim_due_jobs, release_claimed_jobs
from ..engine.connection import connect_engine
from ..processing.job_transaction import engine_connection_params
from .common import CommittedDataMixin

LOGGER = "odoo.addons.job_worker.configuration.channels_as_code"
# Levels are given as numbers: Odoo also names its level 25 "INFO", which "INFO" would mean.
LIMITS = ("capacity", "sequential", "rate_limit", "rate_period", "paused", "removal_interval")


class ChannelConfigurationCase(TransactionCase):
    def setUp(self):
        super().setUp()
        self.config_file("")  # no [job_worker] or [queue_job] section unless a test writes one

    def config_file(self, text):
        """Make ``text`` the server's configuration file for this test."""
        handle, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(handle, "w") as config_file:
            config_file.write(text)
        self.addCleanup(os.unlink, path)
        self.patch(config, "get", lambda key, default=None: path if key == "config" else default)

    def channel(self, complete_name, env=None):
        return (env or self.env)["queue.job.channel"].search(
            [("complete_name", "=", complete_name)]
        )

    def limits(self, complete_name, env=None):
        channel = self.channel(complete_name, env)
        return channel.read(LIMITS)[0] if channel else None

    def all_channels(self):
        channels = self.env["queue.job.channel"].search([])
        return {channel.complete_name: channel.read(LIMITS)[0] for channel in channels}

    def apply(self, specification=None, **environ):
        if specification is not None:
            environ.setdefault("ODOO_QUEUE_JOB_CHANNELS", specification)
        return apply_configured_channels(self.env, environ)


class TestChannelsApplied(ChannelConfigurationCase):
    def test_named_channels_are_created_with_their_parents_and_configured(self):
        result = self.apply("root:4,root.sale.eu:2:throttle=2,edi:1:sequential,api:0:rate=10/60")

        self.assertEqual(result.created, ["root.edi", "root.api", "root.sale", "root.sale.eu"])
        self.assertEqual(result.updated, ["root"])
        self.assertEqual(self.channel("root").capacity, 4)
        eu = self.channel("root.sale.eu")
        self.assertEqual(eu.parent_id, self.channel("root.sale"))
        self.assertEqual(eu.parent_id.parent_id, self.env.ref("job_worker.channel_root"))
        self.assertEqual((eu.name, eu.capacity, eu.rate_limit, eu.rate_period), ("eu", 2, 1, 2))
        self.assertEqual(eu.removal_interval, 30)
        # A parent created on the way has no limit of its own, as in OCA.
        sale = self.channel("root.sale")
        self.assertEqual((sale.capacity, sale.sequential, sale.rate_limit), (0, False, 0))
        edi = self.channel("root.edi")
        self.assertEqual((edi.capacity, edi.sequential, edi.paused), (1, True, False))
        api = self.channel("root.api")
        self.assertEqual((api.capacity, api.rate_limit, api.rate_period), (0, 10, 60))

    def test_a_parent_named_after_its_child_gets_its_own_settings(self):
        result = self.apply("root.sale.eu:2,root.sale:3:paused")
        self.assertEqual(result.created, ["root.sale", "root.sale.eu"])
        sale = self.channel("root.sale")
        self.assertEqual((sale.capacity, sale.paused), (3, True))
        self.assertEqual(self.channel("root.sale.eu").parent_id, sale)

    def test_applying_the_same_specification_again_writes_nothing(self):
        self.apply("root:4,root.sale:2:throttle=2")
        self.env.cr.execute("SELECT max(write_date) FROM queue_job_channel")
        (written_at,) = self.env.cr.fetchone()

        with self.assertLogs(LOGGER, logging.INFO) as logs:
            result = self.apply("root:4,root.sale:2:throttle=2")

        self.assertEqual((result.created, result.updated, result.error), ([], [], None))
        self.assertIn("already applied", logs.output[0])
        self.env.cr.execute("SELECT max(write_date) FROM queue_job_channel")
        self.assertEqual(self.env.cr.fetchone()[0], written_at)

    def test_named_channels_are_reset_to_the_specification_and_others_keep_their_edits(self):
        self.apply("root:4,root.sale:2")
        root = self.env.ref("job_worker.channel_root")
        edited_in_ui = self.env["queue.job.channel"].create(
            {"name": "other", "parent_id": root.id, "capacity": 5, "sequential": True}
        )
        self.channel("root.sale").write({"capacity": 9, "rate_limit": 3, "rate_period": 7})

        result = self.apply("root:4,root.sale:2")

        self.assertEqual(result.updated, ["root.sale"])
        sale = self.limits("root.sale")
        self.assertEqual((sale["capacity"], sale["rate_limit"]), (2, 0))
        self.assertEqual((edited_in_ui.capacity, edited_in_ui.sequential), (5, True))

    def test_the_specification_pauses_but_never_resumes_a_channel(self):
        self.apply("root.sale:2:paused")
        self.assertTrue(self.channel("root.sale").paused)

        with self.assertLogs(LOGGER, logging.INFO) as logs:
            self.apply("root.sale:2")

        self.assertTrue(self.channel("root.sale").paused)
        self.assertTrue(any("root.sale stays paused" in line for line in logs.output))

    def test_a_removal_interval_is_configured_only_when_given(self):
        self.apply("root.sale:2:removal_interval=7")
        self.assertEqual(self.channel("root.sale").removal_interval, 7)
        self.apply("root.sale:2")
        self.assertEqual(self.channel("root.sale").removal_interval, 7)

    def test_root_0_is_no_limit_here_and_the_log_says_how_to_disable_the_runner(self):
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            self.apply("root:0")
        self.assertEqual(self.channel("root").capacity, 0)
        self.assertIn("runner = off", logs.output[0])

    def test_the_registry_hook_applies_the_environment_of_the_process(self):
        variables = {"ODOO_QUEUE_JOB_CHANNELS": "root:3,root.hooked:2"}
        with patch.dict(os.environ, variables), self.assertLogs(LOGGER, logging.INFO):
            os.environ.pop("JOB_WORKER_CHANNELS", None)
            self.env["queue.job.channel"]._register_hook()
        self.assertEqual(self.channel("root").capacity, 3)
        self.assertEqual(self.channel("root.hooked").capacity, 2)

    def test_without_a_specification_nothing_is_applied(self):
        before = self.all_channels()
        self.assertIsNone(apply_configured_channels(self.env, {"ODOO_QUEUE_JOB_CHANNELS": " "}))
        self.assertEqual(self.all_channels(), before)


class TestPrecedence(ChannelConfigurationCase):
    def test_job_worker_section_wins_over_queue_job_section(self):
        self.config_file("[queue_job]\nchannels = root:2\n\n[job_worker]\nchannels = root:3\n")
        with self.assertLogs(LOGGER, logging.INFO) as logs:
            result = self.apply()
        self.assertEqual(result.source.label, "[job_worker] channels")
        self.assertEqual(self.channel("root").capacity, 3)
        self.assertIn(
            "ignored, as [job_worker] channels wins: [queue_job] channels", logs.output[0]
        )

    def test_the_environment_wins_over_the_file(self):
        self.config_file("[queue_job]\nchannels = root:2\n\n[job_worker]\nchannels = root:3\n")
        self.apply("root:5")
        self.assertEqual(self.channel("root").capacity, 5)
        self.apply("root:5", JOB_WORKER_CHANNELS="root:6")
        self.assertEqual(self.channel("root").capacity, 6)
        labels = [
            source.label
            for source in find_channel_sources(
                {"ODOO_QUEUE_JOB_CHANNELS": "root:5", "JOB_WORKER_CHANNELS": "root:6"}
            )
        ]
        self.assertEqual(
            labels,
            [
                "JOB_WORKER_CHANNELS",
                "ODOO_QUEUE_JOB_CHANNELS",
                "[job_worker] channels",
                "[queue_job] channels",
            ],
        )

    def test_ocas_queue_job_section_is_read_with_one_channel_per_line(self):
        self.config_file(
            "[options]\ndb_name = x\n\n[queue_job]\nchannels = root:4\n"
            "    root.sale:2:throttle=2\n    root.edi:1:sequential\nscheme = https\n"
        )
        self.apply()
        self.assertEqual(self.channel("root").capacity, 4)
        self.assertEqual(self.channel("root.sale").rate_period, 2)
        self.assertTrue(self.channel("root.edi").sequential)


class TestRefusals(ChannelConfigurationCase):
    def test_a_malformed_specification_changes_nothing_and_logs_the_bad_entry(self):
        before = self.all_channels()

        with self.assertLogs(LOGGER, logging.ERROR) as logs:
            result = self.apply("root:7,root.new:2,root.sale:x")

        self.assertEqual(self.all_channels(), before)
        self.assertEqual(result.created + result.updated, [])
        [line] = logs.output
        self.assertIn("ODOO_QUEUE_JOB_CHANNELS is refused, no channel was changed", line)
        self.assertIn("'root.sale:x': capacity 'x' is not a whole number", line)

    def test_a_malformed_winner_is_not_replaced_by_a_lower_source(self):
        self.config_file("[queue_job]\nchannels = root:2\n\n[job_worker]\nchannels = root:2:seq\n")
        before = self.all_channels()
        with self.assertLogs(LOGGER, logging.ERROR) as logs:
            self.apply()
        self.assertEqual(self.all_channels(), before)
        self.assertIn("[job_worker] channels is refused", logs.output[0])
        self.assertIn("unknown option 'seq'", logs.output[0])

    def test_an_unexpected_failure_is_logged_and_changes_nothing(self):
        def fail_after_a_write(env, channels):
            env.cr.execute("UPDATE queue_job_channel SET capacity = 99 WHERE parent_id IS NULL")
            raise RuntimeError("disk on fire")

        self.patch(channels_as_code, "_store_channels", fail_after_a_write)
        before = self.all_channels()
        with self.assertLogs(LOGGER, logging.ERROR) as logs:
            self.assertIsNone(self.apply("root:4"))
        self.assertEqual(self.all_channels(), before)
        self.assertIn("disk on fire", logs.output[0])


class TestConcurrentRegistryLoads(CommittedDataMixin, ChannelConfigurationCase):
    """Workers loading the registry together apply the same specification at once: the
    one whose snapshot predates another's commit leaves the work to it, changing nothing,
    and its registry load goes on."""

    def restore_committed_root_after_test(self):
        with self.committed_env() as env:
            saved = env.ref("job_worker.channel_root").read(LIMITS)[0]
        saved.pop("id")

        def restore():
            with self.committed_env() as env:
                env.ref("job_worker.channel_root").write(saved)

        self.addCleanup(restore)

    def test_a_channel_created_meanwhile_by_another_worker_leaves_everything_unchanged(self):
        self.env.cr.execute("SELECT 1 FROM queue_job_channel")  # this transaction's snapshot
        before = self.all_channels()
        with self.committed_env() as env:
            other_worker = env["queue.job.channel"].create(
                {"name": "sale", "parent_id": env.ref("job_worker.channel_root").id}
            )
        self.delete_committed_after_test("queue.job.channel", other_worker.ids)

        with self.assertLogs(LOGGER, logging.INFO) as logs:
            result = self.apply("root:9,root.sale:2")

        self.assertIn("UniqueViolation", result.error)
        self.assertIn("not applied by this process", logs.output[0])
        # root was updated before the conflict: the savepoint took that back too.
        self.assertEqual(self.all_channels(), before)

    def test_a_channel_updated_meanwhile_by_another_worker_leaves_everything_unchanged(self):
        self.restore_committed_root_after_test()
        self.env.cr.execute("SELECT 1 FROM queue_job_channel")  # this transaction's snapshot
        before = self.all_channels()
        with self.committed_env() as env:
            env.ref("job_worker.channel_root").capacity = 8

        with self.assertLogs(LOGGER, logging.INFO):
            result = self.apply("root:9")

        self.assertIn("SerializationFailure", result.error)
        self.assertEqual(self.all_channels(), before)

    def test_a_channel_row_held_past_the_lock_timeout_is_left_with_a_warning_naming_it(self):
        before = self.all_channels()
        with self.registry.cursor() as holder:  # another transaction, left open
            holder.execute("SELECT id FROM queue_job_channel WHERE parent_id IS NULL FOR UPDATE")
            with self.assertLogs(LOGGER, logging.WARNING) as logs:
                result = self.apply("root:9")
            holder.rollback()

        self.assertIn("channel root: another transaction has held its row", result.error)
        [line] = logs.output
        self.assertIn("not applied by this process", line)
        self.assertIn("LockNotAvailable", line)
        self.assertEqual(self.all_channels(), before)


class TestConfiguredCapacityHolds(CommittedDataMixin, ChannelConfigurationCase):
    """The configured channels are the ones every claim enforces: jobs are committed and
    claimed through an engine connection, as a processor would."""

    def apply_committed(self, specification):
        with self.committed_env() as env:
            apply_configured_channels(env, {"ODOO_QUEUE_JOB_CHANNELS": specification})

    def test_a_configured_sub_channel_limits_its_jobs_to_its_capacity(self):
        with self.committed_env() as env:
            root_before = env.ref("job_worker.channel_root").read(LIMITS)[0]
        root_before.pop("id")

        def restore():
            with self.committed_env() as env:
                self.channel("root.sale", env).unlink()
                env.ref("job_worker.channel_root").write(root_before)

        self.addCleanup(restore)
        self.apply_committed("root:4,root.sale:1")
        with self.committed_env() as env:
            partner = env["res.partner"].create({"name": "Channel capacity"})
            job_ids = [
                partner.with_delay(channel="root.sale").write({"ref": str(number)}).id
                for number in range(3)
            ]
            partner_id = partner.id
        self.delete_committed_after_test("res.partner", [partner_id])
        self.delete_committed_after_test("queue.job", job_ids)

        connection = connect_engine(
            engine_connection_params(self.env.cr.dbname), "job_worker:test-channel-config"
        )
        with closing(connection):
            first = claim_due_jobs(connection, 10, only_job_ids=job_ids)
            self.assertEqual(len(first), 1)
            self.assertEqual(claim_due_jobs(connection, 10, only_job_ids=job_ids), [])

            self.apply_committed("root:4,root.sale:2")
            second = claim_due_jobs(connection, 10, only_job_ids=job_ids)
            self.assertEqual(len(second), 1)
            self.assertEqual(claim_due_jobs(connection, 10, only_job_ids=job_ids), [])
            release_claimed_jobs(connection, first + second)
