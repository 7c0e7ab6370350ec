"""End to end on a real Odoo 19: a cron-only server runs the jobs, within a cron cycle.

A server started with ``--no-http`` has no HTTP worker, hence no embedded runner: only
its cron thread can run jobs, through ``job_worker_cron``. Jobs are enqueued from an
``odoo shell`` session, some due at once, some a minute later. Each must be done within
one cron cycle (an idle cron thread looks at its databases once a minute) after it
became due, never start before its ETA, and run once (``tests/addons/job_worker_e2e``
records every execution in the job's own transaction).
"""

import json

import pytest
from odoo_server import OdooServer, last_json_line, requires_odoo, shell
from support import connect, wait_until

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker_cron,job_worker_e2e"
"""Installed in the module\'s database (the ``odoo_database`` fixture)."""

DUE_NOW_JOBS = 150
ETA_JOBS = 50
ETA_S = 60
CRON_CYCLE_S = 60
"""How often an idle cron thread looks for due work (Odoo's ``SLEEP_INTERVAL``)."""
SLACK_S = 30
"""On top of a cron cycle: running the jobs themselves, on a loaded machine."""


def enqueue_jobs(database):
    """Enqueue the jobs in one transaction; return the ids of the processing cron's
    triggers that transaction created."""
    output = shell(
        database,
        f"""
import json
cron = env.ref("job_worker_cron.ir_cron_process_due_jobs")
before = env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).ids
executions = env["job_worker_e2e.execution"]
for number in range({DUE_NOW_JOBS}):
    executions.with_delay().record_execution("now-%d" % number)
for number in range({ETA_JOBS}):
    executions.with_delay(eta={ETA_S}).record_execution("eta-%d" % number)
env.cr.commit()
after = env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).ids
print(json.dumps({{"triggers": sorted(set(after) - set(before))}}))
""",
    )
    return last_json_line(output)


def job_rows(connection):
    """``(key, state, owner, seconds from due to start, seconds from due to done)`` per job."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT args, state, owner,
                   extract(epoch FROM date_started - coalesce(eta, date_created)),
                   extract(epoch FROM date_done - coalesce(eta, date_created))
            FROM queue_job
            """
        )
        return [(json.loads(args)[0], *rest) for (args, *rest) in cursor.fetchall()]


def done_count(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_job WHERE state = 'done'")
        return cursor.fetchone()[0]


def test_a_cron_only_server_runs_every_job_within_one_cron_cycle_after_it_is_due(
    odoo_database, tmp_path
):
    server = OdooServer(
        odoo_database,
        tmp_path / "cron-only.log",
        "--no-http",
        "--workers=0",
        "--max-cron-threads=1",
        "--load=base,web,job_worker",
    )
    connection = connect(odoo_database)
    connection.autocommit = True
    try:
        wait_until(
            lambda: "inactive in this threaded server" in server.log(),
            120.0,
            "the server did not start its cron thread",
        )
        enqueued = enqueue_jobs(odoo_database)
        jobs = DUE_NOW_JOBS + ETA_JOBS
        wait_until(
            lambda: done_count(connection) == jobs,
            ETA_S + CRON_CYCLE_S + SLACK_S + 60,
            f"the {jobs} jobs did not all end done",
            interval_s=1.0,
        )
        rows = job_rows(connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT key, pid FROM job_worker_e2e_execution")
            executions = cursor.fetchall()
    finally:
        connection.close()
        server.stop()

    latest = max(due_to_done_s for *_, due_to_done_s in rows)
    print(f"{jobs} jobs, triggers {enqueued['triggers']}, latest done {latest:.1f}s after due")
    # Two triggers for 200 jobs: one due now, one for the minute of the ETAs (three if
    # the ETAs straddle two minutes).
    assert 2 <= len(enqueued["triggers"]) <= 3
    assert len(rows) == jobs
    for key, state, owner, due_to_start_s, due_to_done_s in rows:
        assert state == "done", key
        assert owner.startswith("job_worker:cron:"), (key, owner)
        assert due_to_start_s >= 0, f"{key} started {-due_to_start_s:.1f}s before it was due"
        assert due_to_done_s <= CRON_CYCLE_S + SLACK_S, f"{key} done {due_to_done_s:.0f}s late"
    assert sorted(key for key, _ in executions) == sorted(key for key, *_ in rows)
    assert {pid for _, pid in executions} == {server.pid}
    assert "Traceback" not in server.log()
