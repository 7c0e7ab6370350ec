"""End to end on a real Odoo 19: job_worker_cron's scheduled action and an embedded
leader share 2,000 jobs, the Odoo.sh shape (an HTTP worker and a cron-only process on one
database): no job runs twice, channel capacities hold, both do part of the work."""

import pytest
from capacity_watcher import EVERY_CHANNEL, CapacityWatcher
from odoo_server import OdooServer, job_worker_errors, requires_odoo, shell
from support import wait_until

from job_worker.engine.election import list_candidates

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker_cron,job_worker_e2e"
"""Installed in the module\'s database (the ``odoo_database`` fixture)."""

JOBS = 2000
JOB_S = 0.01
ROOT_CAPACITY = 3
NARROW_CAPACITY = 1
NARROW_EVERY = 10
ALL_DONE_WITHIN_S = 240
SERVER_WIDE = "--load=base,web,job_worker"


def enqueue(database):
    shell(
        database,
        f"""
root = env.ref("job_worker.channel_root")
root.capacity = {ROOT_CAPACITY}
env["queue.job.channel"].create(
    {{"name": "narrow", "parent_id": root.id, "capacity": {NARROW_CAPACITY}}}
)
env.cr.commit()
executions = env["job_worker_e2e.execution"]
for number in range({JOBS}):
    channel = "root.narrow" if number % {NARROW_EVERY} == 0 else "root"
    executions.with_delay(channel=channel).record_execution("shared-%d" % number, seconds={JOB_S})
env.cr.commit()
""",
    )


def owners_and_states(connection):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT split_part(owner, ':', 2), state, count(*) FROM queue_job"
            " WHERE args LIKE %s GROUP BY 1, 2",
            ['["shared-%'],
        )
        return cursor.fetchall()


def test_the_cron_processor_and_the_embedded_leader_share_jobs_each_run_once_within_capacity(
    odoo_database, observed, tmp_path
):
    http_worker = OdooServer(
        odoo_database, tmp_path / "http.log", "--workers=0", "--max-cron-threads=0", SERVER_WIDE
    )
    cron_worker = OdooServer(
        odoo_database,
        tmp_path / "cron.log",
        "--workers=0",
        "--no-http",
        "--max-cron-threads=1",
        SERVER_WIDE,
    )
    watcher = CapacityWatcher(odoo_database)
    try:
        wait_until(
            lambda: [c.os_pid for c in list_candidates(observed.cursor())] == [http_worker.pid],
            120.0,
            "the HTTP worker did not stand",
        )
        wait_until(
            lambda: "inactive in this threaded server" in cron_worker.log(),
            120.0,
            "the cron-only server did not start",
        )
        enqueue(odoo_database)

        def all_done():
            rows = owners_and_states(observed)
            return sum(count for _, state, count in rows if state == "done") == JOBS

        wait_until(
            all_done,
            ALL_DONE_WITHIN_S,
            f"the jobs did not all end done: {owners_and_states(observed)}",
        )
        watcher.stop()

        done_by = {role: count for role, state, count in owners_and_states(observed)}
        print(f"\n{JOBS} jobs: {done_by} (most started {dict(watcher.most_started)})")
        assert set(done_by) == {"leader", "cron"}  # both did part of the work
        with observed.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT key) FROM job_worker_e2e_execution"
                " WHERE key LIKE 'shared-%'"
            )
            assert cursor.fetchone() == (JOBS, JOBS)  # each job committed exactly once
            cursor.execute(
                "SELECT count(*) FROM queue_job WHERE args LIKE %s AND retry <> 1", ['["shared-%']
            )
            assert cursor.fetchone() == (0,)  # each job started exactly once
        assert watcher.most_started["root.narrow"] <= NARROW_CAPACITY
        assert watcher.most_started[EVERY_CHANNEL] <= ROOT_CAPACITY
        assert watcher.advisory_locks == []
    finally:
        watcher.stop()
        cron_worker.stop()
        http_worker.stop()
    assert job_worker_errors(http_worker.log()) == []
    assert job_worker_errors(cron_worker.log()) == []
