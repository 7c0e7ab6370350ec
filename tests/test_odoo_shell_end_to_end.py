"""End to end on a real Odoo 19: a job delayed in an ``odoo shell`` session is executed."""

import pytest
from odoo_server import last_json_line, requires_odoo, shell
from support import connect

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker"
"""Installed in the module\'s database (the ``odoo_database`` fixture)."""


def test_a_job_delayed_in_a_shell_session_is_executed_and_ends_done(odoo_database):
    enqueued = last_json_line(
        shell(
            odoo_database,
            """
import json
partner = env["res.partner"].create({"name": "Before the job"})
job = partner.with_delay().write({"name": "Written by the job"})
env.cr.commit()
print(json.dumps({"partner_id": partner.id, "job_id": job.id}))
""",
        )
    )
    with connect(odoo_database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT state FROM queue_job WHERE id = %s", (enqueued["job_id"],))
        assert cursor.fetchone() == ("pending",)
    connection.close()

    processed = last_json_line(
        shell(
            odoo_database,
            """
import json
from odoo.addons.job_worker.processing.database_processing import process_due_jobs_in_database
report = process_due_jobs_in_database(env.cr.dbname, max_jobs=10, max_seconds=60)
print(json.dumps({"processed": report.processed, "done": report.done}))
""",
        )
    )
    assert processed == {"processed": 1, "done": 1}

    with connect(odoo_database) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, date_done IS NOT NULL, owner FROM queue_job WHERE id = %s",
            (enqueued["job_id"],),
        )
        state, has_date_done, owner = cursor.fetchone()
        cursor.execute("SELECT name FROM res_partner WHERE id = %s", (enqueued["partner_id"],))
        (partner_name,) = cursor.fetchone()
    connection.close()
    assert (state, has_date_done) == ("done", True)
    assert owner.startswith("job_worker:process:")
    assert partner_name == "Written by the job"


def test_an_unserializable_argument_in_a_shell_session_stores_nothing(odoo_database):
    output = shell(
        odoo_database,
        """
import json, threading
before = env["queue.job"].search_count([])
try:
    env["res.partner"].browse(1).with_delay().write({"name": threading.Lock()})
    error = None
except TypeError as exc:
    error = str(exc)
print(json.dumps({"error": error, "stored": env["queue.job"].search_count([]) - before}))
""",
    )
    result = last_json_line(output)
    assert result["stored"] == 0
    assert "argument 'vals'['name']" in result["error"]
