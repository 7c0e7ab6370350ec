"""A second PostgreSQL role, created by a test and dropped after it: someone else's role on a
shared cluster, allowed to connect to the test's databases and to name its connections as
it likes, and nothing more."""

import contextlib
import secrets
import uuid

import psycopg2
from odoo_server import ADMIN_DATABASE


class OtherRole:
    """A LOGIN role with CONNECT on ``databases`` and no other privilege.

    :meth:`connect` opens connections as that role; :meth:`drop` closes them, ends any
    server process of the role still running, and drops the role.
    """

    def __init__(self, databases):
        self.name = f"job_worker_other_{uuid.uuid4().hex[:10]}"
        self.databases = list(databases)
        # A password, so that the role can log in whatever the server's authentication.
        self._password = secrets.token_hex(16)
        self._connections = []
        with _admin() as cursor:
            cursor.execute(
                f'CREATE ROLE "{self.name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                f"PASSWORD '{self._password}'"
            )
            for database in self.databases:
                cursor.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{self.name}"')

    def connect(self, dbname, application_name):
        """An autocommit connection to ``dbname`` as this role, named ``application_name``."""
        connection = psycopg2.connect(
            dbname=dbname,
            user=self.name,
            password=self._password,
            application_name=application_name,
        )
        connection.autocommit = True
        self._connections.append(connection)
        return connection

    def drop(self):
        for connection in self._connections:
            with contextlib.suppress(psycopg2.Error):
                connection.close()
        with _admin() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [self.name],
            )
            for database in self.databases:
                cursor.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM "{self.name}"')
            cursor.execute(f'DROP ROLE "{self.name}"')


@contextlib.contextmanager
def _admin():
    connection = psycopg2.connect(dbname=ADMIN_DATABASE)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()
