"""Which databases the embedded runner serves when the server's ``dbfilter`` depends on
the request's host: said once at start, and restricted by ``[job_worker] databases``."""

import logging

from odoo.tests import TransactionCase
from odoo.tools import config

from ..engine.runner_config import parse_runner_config
from ..runner import served_databases
from ..runner.served_databases import list_served_databases

LOGGER = "odoo.addons.job_worker.runner.served_databases"


class TestRunnerDatabases(TransactionCase):
    def setUp(self):
        super().setUp()
        self.dbname = self.env.cr.dbname
        self.patch(served_databases, "_host_filter_reported", None)
        original = config.__getitem__

        def config_value(key):
            if key == "dbfilter":
                return "^%d$"
            if key == "db_name":
                return []
            return original(key)

        self.patch(type(config), "__getitem__", lambda _self, key: config_value(key))

    def test_a_host_dependent_filter_is_warned_about_once_naming_the_databases(self):
        with self.assertLogs(LOGGER, logging.WARNING) as logs:
            served = list_served_databases()
            self.assertEqual(list_served_databases(), served)
        self.assertIn(self.dbname, served)
        self.assertEqual(len(logs.output), 1)
        self.assertIn("depends on the request's host", logs.output[0])
        self.assertIn(self.dbname, logs.output[0])
        self.assertIn("[job_worker] databases", logs.output[0])

    def test_the_databases_key_restricts_what_the_runner_serves(self):
        self.assertEqual(list_served_databases(only=(self.dbname,)), [self.dbname])
        self.assertEqual(list_served_databases(only=("job_worker_some_staging_copy",)), [])

    def test_the_databases_key_is_parsed_from_the_file_or_the_environment(self):
        parsed, problems = parse_runner_config({"databases": "prod, other_db"}, {})
        self.assertEqual((parsed.databases, problems), (("prod", "other_db"), []))
        parsed, problems = parse_runner_config(
            {"databases": "prod"}, {"JOB_WORKER_DATABASES": "from_env"}
        )
        self.assertEqual(parsed.databases, ("from_env",))
        self.assertIsNone(parse_runner_config({}, {})[0].databases)
        self.assertIsNone(parse_runner_config({"databases": " "}, {})[0].databases)

    def test_a_malformed_databases_value_is_refused_by_name_and_serves_none(self):
        parsed, problems = parse_runner_config({"databases": "prod, st@ging"}, {})
        self.assertEqual(parsed.databases, ())
        self.assertEqual(len(problems), 1)
        self.assertIn("[job_worker] databases = 'prod, st@ging' is refused", problems[0])
        self.assertIn("'st@ging' is not a database name", problems[0])
        self.assertIn("using ()", problems[0])
