from odoo.tests import TransactionCase

from ..engine.schema import NOTIFY_CHANNEL
from ..engine.sql import load_query

ENGINE_SCHEMA = "job_worker_engine_schema"
TABLES = ("queue_job", "queue_job_dependency_rel", "queue_job_channel", "queue_job_function")


class TestSchema(TransactionCase):
    """The table Odoo builds from the model is the table the engine was written for."""

    def columns(self, schema, table):
        self.env.cr.execute(
            """
            SELECT column_name, data_type, is_nullable
            FROM information_schema.columns
            WHERE table_schema = %s AND table_name = %s
            ORDER BY column_name
            """,
            (schema, table),
        )
        return self.env.cr.fetchall()

    def test_schema_matches_engine(self):
        """Odoo's tables and the engine's queue_job_table.sql have the same columns."""
        cr = self.env.cr
        cr.execute(f"CREATE SCHEMA {ENGINE_SCHEMA}")
        cr.execute(f"SET LOCAL search_path TO {ENGINE_SCHEMA}")
        cr.execute(load_query("queue_job_table"))
        cr.execute("SET LOCAL search_path TO DEFAULT")
        for table in TABLES:
            with self.subTest(table=table):
                odoo_columns = self.columns("public", table)
                self.assertTrue(odoo_columns, f"Odoo created no table {table}")
                self.assertEqual(self.columns(ENGINE_SCHEMA, table), odoo_columns)

    def test_the_engine_s_unique_channel_index_is_odoo_s(self):
        """The engine's tests rely on the unique complete name the model declares."""
        cr = self.env.cr
        cr.execute(f"CREATE SCHEMA {ENGINE_SCHEMA}")
        cr.execute(f"SET LOCAL search_path TO {ENGINE_SCHEMA}")
        cr.execute(load_query("queue_job_table"))
        cr.execute("SET LOCAL search_path TO DEFAULT")
        definitions = {}
        for schema in ("public", ENGINE_SCHEMA):
            cr.execute(
                """
                SELECT indexname, replace(indexdef, schemaname || '.', '')
                FROM pg_indexes
                WHERE schemaname = %s AND indexname = 'queue_job_channel_complete_name_unique'
                """,
                [schema],
            )
            definitions[schema] = cr.fetchall()
        self.assertTrue(definitions["public"], "Odoo created no unique index on complete_name")
        self.assertEqual(definitions[ENGINE_SCHEMA], definitions["public"])

    def test_runtime_schema_is_in_place(self):
        cr = self.env.cr
        cr.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'queue_job' "
            "AND indexname = 'queue_job_claim_index'"
        )
        (definition,) = cr.fetchone()
        self.assertIn("WHERE ((state)::text = 'pending'::text)", definition)
        cr.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'queue_job'::regclass "
            "AND NOT tgisinternal ORDER BY tgname"
        )
        self.assertEqual(
            [name for (name,) in cr.fetchall()],
            [
                "queue_job_follow_dependencies",
                "queue_job_notify_on_delete",
                "queue_job_notify_on_insert",
                "queue_job_notify_on_room",
                "queue_job_notify_on_runnable",
                "queue_job_wait_for_parents",
            ],
        )
        cr.execute("SELECT prosrc FROM pg_proc WHERE proname = 'queue_job_notify_runnable'")
        self.assertIn(f"'{NOTIFY_CHANNEL}'", cr.fetchone()[0])

    def test_a_job_inserted_with_plain_sql_gets_the_defaults(self):
        cr = self.env.cr
        cr.execute(
            "INSERT INTO queue_job (model_name, method_name) VALUES ('res.partner', 'exists') "
            "RETURNING id"
        )
        job = self.env["queue.job"].browse(cr.fetchone()[0])
        self.assertEqual(
            (job.state, job.priority, job.retry, job.max_retries, job.channel),
            ("pending", 10, 0, 5, "root"),
        )
        self.assertTrue(job.uuid)
        self.assertTrue(job.date_created)
