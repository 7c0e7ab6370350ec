"""The runner status counts only the candidates of Odoo's own database role: a connection
of another role named like a candidate is not shown, let alone as the leader."""

import secrets
from contextlib import closing

import psycopg2
from odoo.tests import TransactionCase, new_test_user

from ..engine.connection import connect_engine
from ..engine.election import join_election, joining_name
from ..processing.job_transaction import engine_connection_params


class TestRunnerStatusOtherRoles(TransactionCase):
    def setUp(self):
        super().setUp()
        self.manager = new_test_user(
            self.env, login="runner_status_roles", groups="job_worker.group_queue_job_manager"
        )
        self.params = engine_connection_params(self.env.cr.dbname)

    def _admin(self):
        connection = psycopg2.connect(**self.params)
        connection.autocommit = True
        return closing(connection)

    def _other_role_connection(self, application_name):
        """A connection of a role created for this test (CONNECT only), named as given."""
        role, password = f"job_worker_other_{secrets.token_hex(5)}", secrets.token_hex(16)
        with self._admin() as admin, admin.cursor() as cursor:
            cursor.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
            cursor.execute(f'GRANT CONNECT ON DATABASE "{self.env.cr.dbname}" TO "{role}"')
        self.addCleanup(self._drop_role, role)
        connection = psycopg2.connect(
            **{
                **self.params,
                "user": role,
                "password": password,
                "application_name": application_name,
            }
        )
        self.addCleanup(connection.close)
        return connection

    def _drop_role(self, role):
        with self._admin() as admin, admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [role],
            )
            cursor.execute(f'REVOKE CONNECT ON DATABASE "{self.env.cr.dbname}" FROM "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')

    def test_another_roles_lookalike_candidates_are_not_in_the_status(self):
        self._other_role_connection("job_worker:candidate:0")
        self._other_role_connection("job_worker:candidate:00000000T000000.000000:1:1")
        connection = connect_engine(self.params, joining_name(333333))
        connection.autocommit = True
        self.addCleanup(connection.close)
        real = join_election(connection, 333333)

        status = self.env["queue.job"].with_user(self.manager).get_runner_status()

        names = [candidate["application_name"] for candidate in status["candidates"]]
        self.assertNotIn("job_worker:candidate:0", names)
        self.assertNotIn("job_worker:candidate:00000000T000000.000000:1:1", names)
        self.assertIn(real, names)
        self.assertNotEqual(status["leader"]["pid"], 1)
