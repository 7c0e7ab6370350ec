"""End to end on a real Odoo 19: candidates in HTTP workers, one leader, crash and recovery.

Real Odoo servers on one database, jobs enqueued from ``odoo shell``, and the
leader's process SIGKILLed while it runs a long job. Every job records its execution in
its own transaction (``tests/addons/job_worker_e2e``), so a job run twice would leave two
rows. Throughout, a watcher samples ``pg_stat_activity`` and ``pg_locks``: never more
than one leader's connection, never an advisory lock.
"""

import os
import signal
import threading

import pytest
from odoo_server import (
    OdooServer,
    job_worker_errors,
    requires_odoo,
    shell,
)
from support import connect, wait_until

from job_worker.engine.election import CandidateName, list_candidates

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker,job_worker_e2e"
"""Installed in the module\'s database (the ``odoo_database`` fixture)."""

JOBS = 500
SLOW_JOB_S = 6
"""The long job the leader is killed in the middle of."""
SERVER_WIDE = "--load=base,web,job_worker"
ODOO_SH_CRON_WORKER = ("--max-cron-threads=0", "--limit-time-real-cron=0", "--limit-time-real=0")


class Observer:
    """An autocommit connection to the database, and a watcher sampling every 50 ms the
    leaders' connections and any advisory lock, until :meth:`finish` checks them."""

    def __init__(self, database):
        self.connection = connect(database, application_name="job_worker:test-observer")
        self.connection.autocommit = True
        self._watcher = connect(database, application_name="job_worker:test-watcher")
        self._watcher.autocommit = True
        self.most_leader_connections = 0
        self.advisory_locks = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self):
        with self._watcher.cursor() as cursor:
            while not self._stop.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND starts_with(application_name, 'job_worker:leader:')"
                )
                (leaders,) = cursor.fetchone()
                self.most_leader_connections = max(self.most_leader_connections, leaders)
                cursor.execute("SELECT pid FROM pg_locks WHERE locktype = 'advisory'")
                self.advisory_locks.extend(cursor.fetchall())
                self._stop.wait(0.05)

    def finish(self):
        """Stop watching (before servers stop: a stopping leader finishes its jobs while
        the next one already leads) and check what was seen."""
        self._stop.set()
        self._thread.join()
        assert self.most_leader_connections == 1
        assert self.advisory_locks == []

    def close(self):
        self._stop.set()
        self._thread.join()
        self._watcher.close()
        self.connection.close()


@pytest.fixture
def observer(odoo_database):
    watching = Observer(odoo_database)
    yield watching
    watching.close()


def candidates(connection) -> list[CandidateName]:
    with connection.cursor() as cursor:
        return list_candidates(cursor)


def leader_pid(connection):
    """The os pid of the smallest candidate name, if any candidate stands."""
    names = candidates(connection)
    return names[0].os_pid if names else None


def parent_pid(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def enqueue_jobs(database, prefix):
    shell(
        database,
        f"""
executions = env["job_worker_e2e.execution"]
executions.with_delay(priority=0).record_execution("{prefix}-slow", seconds={SLOW_JOB_S})
for number in range({JOBS}):
    executions.with_delay().record_execution("{prefix}-%d" % number)
env.cr.commit()
""",
    )


def slow_job_owner(connection, prefix):
    """The os pid of the process running the slow job, once it runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT owner FROM queue_job WHERE state = 'started' AND args LIKE %s",
            [f'%"{prefix}-slow"%'],
        )
        row = cursor.fetchone()
    return int(row[0].rsplit(":", 1)[1]) if row else None


def job_outcomes(connection, prefix):
    """``(states, slow job's retry count, executions per key)`` of the jobs of ``prefix``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, count(*) FROM queue_job WHERE args LIKE %s GROUP BY 1",
            [f'%"{prefix}-%'],
        )
        states = dict(cursor.fetchall())
        cursor.execute("SELECT retry FROM queue_job WHERE args LIKE %s", [f'%"{prefix}-slow"%'])
        (slow_retries,) = cursor.fetchone()
        cursor.execute(
            "SELECT key, count(*) FROM job_worker_e2e_execution WHERE key LIKE %s GROUP BY 1",
            [f"{prefix}-%"],
        )
        executions = dict(cursor.fetchall())
    return states, slow_retries, executions


def assert_every_job_ran_once(connection, prefix):
    wait_until(
        lambda: job_outcomes(connection, prefix)[0] == {"done": JOBS + 1},
        240.0,
        f"the {JOBS + 1} jobs did not all end done: {job_outcomes(connection, prefix)[0]}",
    )
    _, slow_retries, executions = job_outcomes(connection, prefix)
    assert len(executions) == JOBS + 1
    assert set(executions.values()) == {1}  # no job committed twice
    assert slow_retries >= 1  # the attempt the killed leader was making counts


def test_prefork_workers_elect_one_leader_a_cron_worker_stays_out_and_a_killed_leader_is_replaced(
    odoo_database, observer, tmp_path
):
    server = OdooServer(
        odoo_database, tmp_path / "prefork.log", "--workers=3", "--max-cron-threads=1", SERVER_WIDE
    )
    cron_worker = OdooServer(
        odoo_database, tmp_path / "cron.log", "--workers=0", *ODOO_SH_CRON_WORKER, SERVER_WIDE
    )
    observed = observer.connection
    try:
        wait_until(
            lambda: len(candidates(observed)) == 3, 120.0, "the 3 HTTP workers did not stand"
        )
        assert all(parent_pid(c.os_pid) == server.pid for c in candidates(observed))
        wait_until(
            lambda: "inactive in this threaded server" in cron_worker.log(),
            60.0,
            "the cron worker did not log its decision",
        )
        assert "cron worker detected" in cron_worker.log()

        enqueue_jobs(odoo_database, "prefork")
        leader = wait_until(
            lambda: slow_job_owner(observed, "prefork"), 60.0, "the slow job did not start"
        )
        assert leader == leader_pid(observed)  # the smallest name runs the jobs
        os.kill(leader, signal.SIGKILL)

        def replaced():
            names = candidates(observed)
            pids = {c.os_pid for c in names}
            return len(names) == 3 and leader not in pids and names[0].os_pid

        new_leader = wait_until(replaced, 60.0, "the master did not respawn a candidate")
        assert parent_pid(new_leader) == server.pid
        assert_every_job_ran_once(observed, "prefork")
        with observed.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE split_part(application_name, ':', -1) = %s",
                [str(cron_worker.pid)],
            )
            assert cursor.fetchone() == (0,)  # no election connection, no job ever
            cursor.execute("SELECT DISTINCT pid FROM job_worker_e2e_execution")
            assert cron_worker.pid not in {pid for (pid,) in cursor.fetchall()}
        observer.finish()
    finally:
        cron_worker.stop()
        server.stop()
    assert job_worker_errors(server.log()) == []
    assert job_worker_errors(cron_worker.log()) == []
    # What the engine did, told by its events to the operator log (one subscriber).
    log = server.log()
    assert f"candidate for {odoo_database}: standing as job_worker:candidate:" in log
    assert f"for {odoo_database}: leader, its election name is the smallest" in log
    assert "job_worker.engine.recovery: recovered job" in log


def test_two_threaded_servers_share_one_leader_and_replace_it_when_killed(
    odoo_database, observer, tmp_path
):
    # The [job_worker] section is read from the configuration file; a malformed value is
    # refused, named, and replaced by its default: the server runs on.
    config_file = tmp_path / "odoo.conf"
    config_file.write_text(
        "[options]\n\n[job_worker]\nmax_threads = lots\nleader_check_interval = 0.5\n"
    )
    threaded = ("--workers=0", "--max-cron-threads=0", SERVER_WIDE, f"--config={config_file}")
    servers = [
        OdooServer(odoo_database, tmp_path / f"threaded-{number}.log", *threaded)
        for number in range(2)
    ]
    observed = observer.connection
    try:
        wait_until(lambda: len(candidates(observed)) == 2, 120.0, "the 2 servers did not stand")
        assert {c.os_pid for c in candidates(observed)} == {s.pid for s in servers}
        for server in servers:
            log = server.log()
            assert "[job_worker] max_threads = 'lots' is refused" in log
            assert "up to 2 job(s) at once, leader check every 0.5s" in log

        enqueue_jobs(odoo_database, "threaded")
        leader = wait_until(
            lambda: slow_job_owner(observed, "threaded"), 60.0, "the slow job did not start"
        )
        assert leader == leader_pid(observed)
        killed = next(s for s in servers if s.pid == leader)
        killed.kill()
        servers.append(OdooServer(odoo_database, tmp_path / "threaded-2.log", *threaded))

        survivor = next(s for s in servers[:2] if s is not killed)
        wait_until(
            lambda: leader_pid(observed) == survivor.pid,
            10.0,
            "the surviving server did not take over",
        )
        assert_every_job_ran_once(observed, "threaded")
        observer.finish()
    finally:
        for server in servers:
            server.stop()
    for server in servers:
        assert job_worker_errors(server.log(), expected=["max_threads = 'lots'"]) == []
