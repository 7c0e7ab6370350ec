"""The embedded runner's Odoo side: where it may start, its configuration file section,
the databases it serves, and the status it reports."""

import os
import tempfile
from contextlib import closing

from odoo.exceptions import AccessError
from odoo.service import server as odoo_server
from odoo.tests import TransactionCase, new_test_user
from odoo.tools import config

from ..configuration.config_section import read_job_worker_section
from ..engine.activation import decide_activation
from ..engine.connection import connect_engine
from ..engine.election import join_election, joining_name
from ..engine.runner_config import parse_runner_config
from ..processing.job_transaction import engine_connection_params
from ..runner import embedded_runner, server_hooks
from ..runner.served_databases import has_job_worker_installed, list_served_databases


class TestRunnerConfiguration(TransactionCase):
    def _config_file(self, text):
        handle, path = tempfile.mkstemp(suffix=".conf")
        with os.fdopen(handle, "w") as config_file:
            config_file.write(text)
        self.addCleanup(os.unlink, path)
        self.patch(config, "get", lambda key, default=None: path if key == "config" else default)
        return path

    def test_the_job_worker_section_is_read_from_the_configuration_file(self):
        self._config_file("[options]\ndb_name = x\n\n[job_worker]\nrunner = off\nmax_threads = 3\n")
        self.assertEqual(read_job_worker_section(), {"runner": "off", "max_threads": "3"})

    def test_a_file_without_the_section_or_no_file_is_an_empty_section(self):
        self._config_file("[options]\n")
        self.assertEqual(read_job_worker_section(), {})
        self.patch(config, "get", lambda key, default=None: None)
        self.assertEqual(read_job_worker_section(), {})

    def test_malformed_values_are_refused_by_name_and_replaced_by_defaults(self):
        self._config_file(
            "[job_worker]\nrunner = sometimes\nleader_check_interval = soon\nmax_threads = 0\n"
            "database_check_interval = 5\n"
        )
        runner_config, problems = parse_runner_config(read_job_worker_section(), {})
        self.assertEqual(
            (runner_config.runner, runner_config.leader_check_interval, runner_config.max_threads),
            ("auto", 1.0, 2),
        )
        self.assertEqual(runner_config.database_check_interval, 5.0)
        self.assertEqual(len(problems), 3)
        self.assertIn("[job_worker] runner = 'sometimes' is refused", problems[0])
        self.assertIn("expected one of auto, on, off", problems[0])
        self.assertIn("[job_worker] leader_check_interval = 'soon' is refused", problems[1])
        self.assertIn("[job_worker] max_threads = '0' is refused", problems[2])

    def test_the_environment_wins_over_the_file(self):
        self._config_file("[job_worker]\nmax_threads = 3\n")
        runner_config, problems = parse_runner_config(
            read_job_worker_section(), {"JOB_WORKER_MAX_THREADS": "5"}
        )
        self.assertEqual((runner_config.max_threads, problems), (5, []))


class TestWhereCandidatesStart(TransactionCase):
    def test_the_odoo_sh_cron_worker_signature_keeps_the_runner_inactive(self):
        options = {"max_cron_threads": 0, "limit_time_real_cron": 0, "limit_time_real": 0}
        decision = decide_activation("auto", options)
        self.assertFalse(decision.active)
        self.assertIn("cron worker detected", decision.reason)
        self.assertTrue(decide_activation("on", options).active)

    def test_an_ordinary_http_worker_is_a_candidate(self):
        options = {"max_cron_threads": 0, "limit_time_real_cron": -1, "limit_time_real": 120}
        self.assertTrue(decide_activation("auto", options).active)
        self.assertFalse(decide_activation("off", options).active)

    def test_test_runs_never_start_a_candidate(self):
        self.assertTrue(server_hooks._is_one_off_run())
        server_hooks._start_in_threaded_server()
        self.assertIsNone(embedded_runner._process.runner)

    def test_a_keepalive_starts_the_runner_of_a_serving_process_that_has_none(self):
        started = []
        self.patch(server_hooks, "_hooks_installed", True)
        self.patch(server_hooks, "_is_one_off_run", lambda: False)
        self.patch(server_hooks, "start_embedded_runner", lambda kind: started.append(kind) or True)
        self.patch(odoo_server, "server", odoo_server.ThreadedServer(None))
        self.assertTrue(server_hooks.ensure_runner_started())
        self.assertEqual(started, ["threaded server"])
        self.patch(server_hooks, "_hooks_installed", False)  # not server-wide: never
        self.assertFalse(server_hooks.ensure_runner_started())
        self.assertEqual(started, ["threaded server"])

    def test_hooks_are_installed_only_when_loaded_server_wide(self):
        self.patch(server_hooks, "_hooks_installed", False)
        self.patch(server_hooks, "is_loaded_server_wide", lambda: False)
        start_before = odoo_server.WorkerHTTP.start
        server_hooks.install_server_hooks()
        self.assertIs(odoo_server.WorkerHTTP.start, start_before)
        self.assertFalse(server_hooks._hooks_installed)


class TestServedDatabases(TransactionCase):
    def test_a_database_with_job_worker_installed_is_served(self):
        dbname = self.env.cr.dbname
        self.assertTrue(has_job_worker_installed(dbname))
        self.assertFalse(has_job_worker_installed("job_worker_no_such_database"))

    def test_db_name_limits_the_served_databases(self):
        dbname = self.env.cr.dbname
        original = config.__getitem__

        def config_value(key):
            if key == "db_name":
                return [dbname, "job_worker_no_such_database"]
            if key == "dbfilter":
                return ""
            return original(key)

        self.patch(type(config), "__getitem__", lambda _self, key: config_value(key))
        self.assertEqual(list_served_databases(), [dbname])


class TestRunnerStatus(TransactionCase):
    def setUp(self):
        super().setUp()
        self.manager = new_test_user(
            self.env, login="runner_status_manager", groups="job_worker.group_queue_job_manager"
        )

    def _stand_as_candidate(self, os_pid):
        """An election connection of a (pretend) worker with this os pid."""
        connection = connect_engine(
            engine_connection_params(self.env.cr.dbname), joining_name(os_pid)
        )
        connection.autocommit = True
        self.addCleanup(connection.close)
        return join_election(connection, os_pid)

    def test_the_status_names_candidates_leader_first_and_this_process_role(self):
        oldest = self._stand_as_candidate(111111)
        self._stand_as_candidate(222222)

        status = self.env["queue.job"].with_user(self.manager).get_runner_status()

        self.assertEqual(status["database"], self.env.cr.dbname)
        self.assertEqual(status["leader"]["application_name"], oldest)
        self.assertEqual(status["leader"]["pid"], 111111)
        self.assertEqual([c["pid"] for c in status["candidates"]], [111111, 222222])
        self.assertIn("os pid 111111 leads, among 2 candidate(s)", status["summary"])
        # The test process runs no runner, and says why.
        self.assertEqual(status["this_process"]["pid"], os.getpid())
        self.assertEqual(status["this_process"]["role"], "inactive")
        if not embedded_runner.is_loaded_server_wide():
            self.assertIn("server_wide_modules", status["this_process"]["reason"])
        else:
            self.assertIn("not an HTTP worker", status["this_process"]["reason"])

    def test_without_candidates_the_status_says_how_jobs_still_run(self):
        with closing(self.registry.cursor()) as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND starts_with(application_name, 'job_worker:candidate:')"
            )
            if cursor.fetchone()[0]:
                self.skipTest("a runner of another process serves this database")
        status = self.env["queue.job"].with_user(self.manager).get_runner_status()
        self.assertIsNone(status["leader"])
        self.assertIn("no candidate runner is connected", status["summary"])
        action = self.env["queue.job"].with_user(self.manager).action_show_runner_status()
        snapshot = self.env[action["res_model"]].browse(action["res_id"])
        self.assertFalse(snapshot.has_leader)
        self.assertFalse(snapshot.candidate_ids)
        self.assertIn("no candidate runner is connected", snapshot.summary)

    def test_only_job_queue_managers_see_the_status(self):
        user = new_test_user(self.env, login="runner_status_user")
        with self.assertRaises(AccessError):
            self.env["queue.job"].with_user(user).get_runner_status()
