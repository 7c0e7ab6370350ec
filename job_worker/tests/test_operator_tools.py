"""What the operator's views compute and do, beyond pressing their buttons (the browser
tests of test_user_interface.py press them): channel counts, the requeue and purge
wizards' choice of jobs, the runner status snapshot."""

import datetime
from contextlib import closing

import psycopg2
from odoo.addons.job_worker.delay import chain, group
from odoo.exceptions import UserError
from odoo.tests import TransactionCase

from ..engine.election import join_election
from ..processing.job_transaction import engine_connection_params


class TestOperatorTools(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Operated"})
        root = cls.env.ref("job_worker.channel_root")
        cls.sale = cls.env["queue.job.channel"].create({"name": "sale_x", "parent_id": root.id})
        cls.sale_eu = cls.env["queue.job.channel"].create({"name": "eu", "parent_id": cls.sale.id})

    def job(self, state="pending", channel="root", **values):
        job = self.partner.with_delay(channel=channel).write({"name": "x"}).db_record()
        assignments = ", ".join(f"{column} = %s" for column in ("state", *values))
        self.env.cr.execute(
            f"UPDATE queue_job SET {assignments} WHERE id = %s",
            [state, *values.values(), job.id],
        )
        job.invalidate_recordset()
        return job

    def test_a_channel_counts_its_jobs_and_its_sub_channels_by_state(self):
        self.job(channel="root.sale_x")
        self.job(channel="root.sale_x.eu")
        self.job(state="failed", channel="root.sale_x.eu")
        self.job(channel="root.sale_xy")  # a name that only starts alike
        self.sale.invalidate_recordset()
        self.assertEqual(
            (self.sale.pending_count, self.sale.started_count, self.sale.failed_count), (2, 0, 1)
        )
        self.assertEqual((self.sale_eu.pending_count, self.sale_eu.failed_count), (1, 1))
        jobs = self.env["queue.job"].search(self.sale.action_open_jobs()["domain"])
        self.assertEqual(set(jobs.mapped("channel")), {"root.sale_x", "root.sale_x.eu"})

    def test_pause_and_resume_say_which_channels(self):
        action = self.sale.action_pause()
        self.assertTrue(self.sale.paused)
        self.assertEqual(action["params"]["message"], "root.sale_x")
        self.sale.action_resume()
        self.assertFalse(self.sale.paused)

    def test_requeue_all_takes_the_failed_jobs_of_one_exception_only(self):
        value_errors = self.job(state="failed", exc_name="ValueError") | self.job(
            state="failed", exc_name="ValueError"
        )
        key_error = self.job(state="failed", exc_name="KeyError")
        wizard = (
            self.env["queue.job.requeue.failed"]
            .with_context(active_ids=value_errors[:1].ids)
            .create({})
        )
        self.assertEqual((wizard.exc_name, wizard.job_count), ("ValueError", 2))
        self.assertIn(("ValueError", "ValueError (2)"), wizard._exception_selection())
        action = wizard.action_requeue()
        self.assertIn("2 job(s)", action["params"]["message"])
        self.assertEqual(set(value_errors.mapped("state")), {"pending"})
        self.assertEqual(key_error.state, "failed")

    def test_the_purge_deletes_only_done_jobs_older_than_asked(self):
        now = datetime.datetime.now()
        old = self.job(state="done", date_done=now - datetime.timedelta(days=10))
        recent = self.job(state="done", date_done=now - datetime.timedelta(days=2))
        old_failed = self.job(state="failed", date_done=now - datetime.timedelta(days=10))
        wizard = self.env["queue.job.purge.done"].create({"older_than_days": 7})
        self.assertEqual(wizard.job_count, 1)
        action = wizard.action_purge()
        self.assertIn("1 done job(s) older than 7 day(s)", action["params"]["message"])
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists() and old_failed.exists())

    def test_a_purge_age_past_any_date_counts_nothing_and_is_refused_clearly(self):
        wizard = self.env["queue.job.purge.done"].create({"older_than_days": 800_000})
        self.assertEqual(wizard.job_count, 0)
        with self.assertRaisesRegex(UserError, "from 0 to 36500 days"):
            wizard.action_purge()

    def test_the_runner_status_snapshot_lists_candidates_leader_first(self):
        params = engine_connection_params(self.env.cr.dbname)
        names = []
        with (
            closing(psycopg2.connect(**params)) as first,
            closing(psycopg2.connect(**params)) as second,
        ):
            for connection, os_pid in ((first, 910001), (second, 910002)):
                connection.autocommit = True
                names.append(join_election(connection, os_pid))
            snapshot = self.env["job_worker.runner.status"].take_snapshot()
        self.assertEqual(snapshot.candidate_ids.mapped("application_name"), names)
        self.assertEqual(snapshot.candidate_ids.mapped("pid"), ["910001", "910002"])
        self.assertTrue(snapshot.has_leader)
        self.assertEqual(snapshot.candidate_ids.mapped("is_leader"), [True, False])
        self.assertEqual(snapshot.candidate_ids[1].why, "os pid 910001 started earlier and leads")
        self.assertIn("os pid 910001 leads, among 2 candidate(s)", snapshot.summary)

    def test_a_graph_is_drawn_parents_first_and_coloured_by_state(self):
        first = self.partner.delayable(description="Graph A").write({"name": "a"})
        left = self.partner.delayable(description="Graph B1").write({"name": "b1"})
        right = self.partner.delayable(description="Graph B2").write({"name": "b2"})
        last = self.partner.delayable(description="Graph C").write({"name": "c"})
        chain(first, group(left, right), last).delay()
        job = first._generated_job.db_record()
        self.env.cr.execute("UPDATE queue_job SET state = 'failed' WHERE id = %s", [job.id])
        job.invalidate_recordset()
        diagram = str(job.graph_diagram)
        positions = [diagram.index(name) for name in ("Graph A", "Graph B1", "Graph C")]
        self.assertEqual(positions, sorted(positions))
        self.assertEqual(diagram.count("&#8594;"), 2, "three columns, two arrows")
        self.assertIn(
            '<span class="badge text-bg-danger" title="Failed">Failed</span> Graph A', diagram
        )
        self.assertIn("after Graph B1, Graph B2", diagram)
        self.assertFalse(self.job().graph_diagram, "a job outside a graph draws nothing")

    def test_groups_by_graph_are_labelled_by_their_first_job(self):
        first = self.partner.delayable(description="Graph start").write({"name": "a"})
        second = self.partner.delayable(description="Graph end").write({"name": "b"})
        chain(first, second).delay()
        graph_uuid = first._generated_job.graph_uuid
        [group] = self.env["queue.job"].formatted_read_group(
            [("graph_uuid", "=", graph_uuid)], ["graph_uuid"], ["__count"]
        )
        self.assertEqual(group["graph_uuid"], f"Graph start ({graph_uuid[:8]})")
        self.assertEqual(group["__count"], 2)
        jobs = self.env["queue.job"].search(group["__extra_domain"])
        self.assertEqual(jobs, first._generated_job.db_record() | second._generated_job.db_record())
