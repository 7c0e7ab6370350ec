"""End to end on a real Odoo 19: uninstalling job_worker leaves none of the engine's
database objects behind (functions, triggers, the rate-limit bookkeeping table)."""

import pytest
from conftest import connect
from odoo_server import requires_odoo, shell

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker"
"""Installed in the module's database (the ``odoo_database`` fixture)."""


def engine_objects(database):
    """The engine's functions and tables, and every trigger, by kind."""
    with connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname LIKE 'queue\\_job%'"
        )
        functions = sorted(name for (name,) in cursor.fetchall())
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'queue\\_job%'"
        )
        triggers = sorted(name for (name,) in cursor.fetchall())
        cursor.execute(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename LIKE 'queue\\_job%'"
        )
        tables = sorted(name for (name,) in cursor.fetchall())
    connection.close()
    return {"functions": functions, "triggers": triggers, "tables": tables}


def test_uninstalling_the_module_drops_every_engine_function_trigger_and_table(odoo_database):
    installed = engine_objects(odoo_database)
    assert installed["functions"] and installed["triggers"]
    assert "queue_job_channel_start" in installed["tables"]

    shell(
        odoo_database,
        """
env["ir.module.module"].search([("name", "=", "job_worker")]).button_immediate_uninstall()
env.cr.commit()
""",
    )

    assert engine_objects(odoo_database) == {"functions": [], "triggers": [], "tables": []}
