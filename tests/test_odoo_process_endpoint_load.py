"""End to end on a real Odoo 19: the process endpoint under load, and the keep-alive.

A prefork server with 2 HTTP workers (its leader runs in one of them) gets 50 concurrent
``POST /job_worker/process`` calls over 2,000 jobs while the leader runs them too: four
processors at once (two leader threads, one request in each worker). The root channel's
capacity is 4, so that the requests are not starved by the leader (a request that finds
no room returns at once), and every tenth job runs in ``root.narrow``, of capacity 1,
which the four processors compete for. Every call must answer 200, every job end done,
once (``tests/addons/job_worker_e2e`` records each execution in the job's own
transaction), and a watcher sampling ``queue_job`` every 20 ms must never see a channel
over its capacity, nor ``pg_locks`` an advisory lock.

A threaded server answers an uptime checker's ``GET /job_worker/keepalive?key=…`` (the
key in the URL, as UptimeRobot's free plan sends it) with its runner's status and the
backlog, and its leader runs a job within seconds of the job becoming due.
"""

import json
import re
import statistics
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from capacity_watcher import EVERY_CHANNEL, CapacityWatcher
from dispatcher_processes import wait_until
from odoo_server import (
    OdooServer,
    job_worker_errors,
    requires_odoo,
    shell,
)

from job_worker.engine.election import list_candidates

pytestmark = [pytest.mark.odoo, requires_odoo]
ODOO_MODULES = "job_worker,job_worker_e2e"
"""Installed in the module\'s database (the ``odoo_database`` fixture)."""

JOBS = 2000
NARROW_EVERY = 10
"""Every tenth job runs in ``root.narrow``."""
JOB_S = 0.01
"""Each job sleeps this long in the database: long enough for processors to overlap."""
ROOT_CAPACITY = 4
NARROW_CAPACITY = 1
CALLS = 50
BATCH_SIZE = 20
MAX_SECONDS = 20
LIMIT_TIME_REAL_S = 60
"""A worker's request limit: the endpoint allows up to 10 s less than this."""
CLIENT_TIMEOUT_S = 150
"""Calls wait their turn: 2 workers serve 50 calls, each may take ``MAX_SECONDS``."""
MAX_RESETS = 10
"""Times one call is sent again after the kernel reset its connection (see http_call)."""
ALL_DONE_WITHIN_S = 180
KEEPALIVE_JOB_DONE_WITHIN_S = 5
SERVER_WIDE = "--load=base,web,job_worker"
PROCESS_OWNER = "job_worker:process:"
LEADER_OWNER = "job_worker:leader:"


@pytest.fixture(scope="module")
def api_key(odoo_database):
    """A key generated as Settings does, two process requests allowed at once, the root
    channel's capacity, and ``root.narrow``."""
    output = shell(
        odoo_database,
        f"""
import json
from odoo.addons.job_worker.api_keys.api_key import store_new_api_key
# One request in each of the two workers at once (by default, one per database).
env["ir.config_parameter"].set_param("job_worker.concurrent_requests", "2")
root = env.ref("job_worker.channel_root")
root.capacity = {ROOT_CAPACITY}
env["queue.job.channel"].create(
    {{"name": "narrow", "parent_id": root.id, "capacity": {NARROW_CAPACITY}}}
)
key = store_new_api_key(env)
env.cr.commit()
print(json.dumps({{"key": key}}))
""",
    )
    return last_json_line(output)["key"]


def last_json_line(output):
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


@dataclass
class Call:
    """One HTTP call's answer: status (None if no answer), JSON body, seconds it took,
    and how many times the connection was reset before the server took it."""

    status: int | None
    body: dict | str
    seconds: float
    resets: int = 0


def http_call(method, url, headers=None, body=None):
    """Call ``url`` directly (no proxy from the environment); the answer, however it ends.

    A connection reset is tried again (at most ``MAX_RESETS`` times): a prefork Odoo
    listens with a backlog of 8 connections per worker, and the kernel resets those it
    has no room for before any worker accepted them. The load test checks in the server's
    log that no call reached Odoo twice.
    """
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.monotonic()
    resets = 0
    while True:
        try:
            with opener.open(request, timeout=CLIENT_TIMEOUT_S) as response:
                status, raw = response.status, response.read()
            break
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            break
        except OSError as error:
            reason = getattr(error, "reason", error)  # urllib wraps errors while sending
            if isinstance(reason, ConnectionResetError) and resets < MAX_RESETS:
                resets += 1
                continue
            # refused, timed out, reset too often: the call got no answer
            return Call(None, repr(error), time.monotonic() - started, resets)
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw.decode(errors="replace")
    return Call(status, answer, time.monotonic() - started, resets)


def post_process(port, key):
    return http_call(
        "POST",
        f"http://127.0.0.1:{port}/job_worker/process",
        headers={"Authorization": f"Bearer {key}"},
        body={"batch_size": BATCH_SIZE, "max_seconds": MAX_SECONDS},
    )


def candidate_pids(connection):
    with connection.cursor() as cursor:
        return [candidate.os_pid for candidate in list_candidates(cursor)]


def leader_connection_of(connection, pid):
    """Whether the process ``pid`` holds a leader's connection (it leads and dispatches)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND starts_with(application_name, %s)"
            " AND split_part(application_name, ':', -1) = %s",
            [LEADER_OWNER, str(pid)],
        )
        return cursor.fetchone()[0] > 0


def enqueue_load(database):
    shell(
        database,
        f"""
executions = env["job_worker_e2e.execution"]
for number in range({JOBS}):
    channel = "root.narrow" if number % {NARROW_EVERY} == 0 else "root"
    executions.with_delay(channel=channel).record_execution("load-%d" % number, seconds={JOB_S})
env.cr.commit()
""",
    )


def job_states(connection, key_pattern):
    """``{state: count}`` of the jobs whose key is LIKE ``key_pattern``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, count(*) FROM queue_job WHERE args LIKE %s GROUP BY 1",
            [f'["{key_pattern}"%'],
        )
        return dict(cursor.fetchall())


def load_jobs(connection):
    """``{key: (owner, attempts counted)}`` of the load's jobs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT args, owner, retry FROM queue_job WHERE args LIKE %s", ['["load-%'])
        return {json.loads(args)[0]: (owner, retry) for args, owner, retry in cursor.fetchall()}


def executions_by_key(connection, pattern):
    """``{key: [pid of each execution]}`` of the executions whose key is LIKE ``pattern``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, array_agg(pid) FROM job_worker_e2e_execution WHERE key LIKE %s"
            " GROUP BY key",
            [pattern],
        )
        return dict(cursor.fetchall())


def processing_span_s(connection):
    """Seconds from the first job's start to the last job's end."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM max(date_done) - min(date_started)) FROM queue_job"
            " WHERE args LIKE %s",
            ['["load-%'],
        )
        return float(cursor.fetchone()[0])


def requests_served(log):
    """``(HTTP status of each /job_worker/process request the server answered, requests
    each HTTP worker had accepted when it exited, HTTP workers started)``, from its log."""
    statuses = Counter(
        int(status)
        for status in re.findall(r'"POST /job_worker/process HTTP/1\.[01]" (\d{3}) ', log)
    )
    accepted = [int(count) for count in re.findall(r"exiting\. request_count: (\d+)", log)]
    workers = len(re.findall(r"Worker WorkerHTTP \(\d+\) alive", log))
    return statuses, accepted, workers


def owner_pid(owner):
    return int(owner.rsplit(":", 1)[1])


def test_fifty_concurrent_process_calls_beside_the_leader_run_every_job_once_within_capacity(
    odoo_database, api_key, observed, tmp_path
):
    server = OdooServer(
        odoo_database,
        tmp_path / "prefork.log",
        "--workers=2",
        "--max-cron-threads=0",
        f"--limit-time-real={LIMIT_TIME_REAL_S}",
        SERVER_WIDE,
    )
    watcher = CapacityWatcher(odoo_database)
    try:
        wait_until(
            lambda: len(candidate_pids(observed)) == 2, 120.0, "the 2 HTTP workers did not stand"
        )
        wait_until(
            lambda: leader_connection_of(observed, candidate_pids(observed)[0]),
            30.0,
            "the oldest worker did not start leading",
        )
        enqueue_load(odoo_database)  # the leader starts on the commit's NOTIFY
        started = time.monotonic()
        with ThreadPoolExecutor(CALLS) as pool:
            calls = list(pool.map(lambda _: post_process(server.port, api_key), range(CALLS)))
        calls_s = time.monotonic() - started
        wait_until(
            lambda: job_states(observed, "load-%") == {"done": JOBS},
            ALL_DONE_WITHIN_S,
            f"the {JOBS} jobs did not all end done: {job_states(observed, 'load-%')}",
        )
    finally:
        watcher.stop()
        server.stop()

    refused = [call for call in calls if call.status != 200 or call.body.get("status") != "ok"]
    assert refused == []
    # Each call reached Odoo once: the server answered as many requests as there were
    # calls, all with 200, from the two workers that started (none replaced: the request
    # of a killed worker would go unanswered, unseen). A connection the kernel reset may
    # still have been accepted by a worker, which found no request in it: never more of
    # those than resets.
    resets = sum(call.resets for call in calls)
    statuses, accepted, workers = requests_served(server.log())
    assert statuses == {200: CALLS}
    assert (len(accepted), workers) == (2, 2)
    assert CALLS <= sum(accepted) <= CALLS + resets

    jobs = load_jobs(observed)
    executions = executions_by_key(observed, "load-%")
    assert len(jobs) == JOBS
    assert len(executions) == JOBS
    assert {key: pids for key, pids in executions.items() if len(pids) != 1} == {}
    # Each job was settled by the processor that ran it: its owner is that processor's
    # connection, and the pid in the owner's name is the process that recorded it.
    assert {
        key: (owner, executions[key])
        for key, (owner, _) in jobs.items()
        if not (owner.startswith((PROCESS_OWNER, LEADER_OWNER)))
        or [owner_pid(owner)] != executions[key]
    } == {}
    assert Counter(attempts for _, attempts in jobs.values()) == {1: JOBS}  # claimed once
    by_requests = sum(owner.startswith(PROCESS_OWNER) for owner, _ in jobs.values())
    by_leader = JOBS - by_requests
    assert sum(call.body["processed"] for call in calls) == by_requests
    assert sum(call.body["done"] for call in calls) == by_requests
    assert sum(call.body["failed"] for call in calls) == 0
    assert by_requests > 0  # the requests did take part
    assert by_leader > 0  # and so did the leader, at the same time

    assert watcher.advisory_locks == []
    assert watcher.samples > 100
    assert watcher.most_started["root.narrow"] <= NARROW_CAPACITY
    assert watcher.most_started[EVERY_CHANNEL] <= ROOT_CAPACITY
    # The load did fill both channels.
    assert watcher.most_started[EVERY_CHANNEL] == ROOT_CAPACITY
    assert watcher.most_started["root.narrow"] == NARROW_CAPACITY

    span_s = processing_span_s(observed)
    latencies = sorted(call.seconds for call in calls)
    print(
        f"\n{JOBS} jobs, {CALLS} process calls beside the leader, 2 HTTP workers:"
        f" {span_s:.1f}s from first start to last done ({JOBS / span_s:.0f} jobs/s),"
        f" calls took {calls_s:.1f}s in all;"
        f" requests ran {by_requests} ({100 * by_requests / JOBS:.0f}%),"
        f" the leader {by_leader} ({100 * by_leader / JOBS:.0f}%);"
        f" call latency p50 {statistics.median(latencies):.2f}s, max {latencies[-1]:.2f}s;"
        f" most started {watcher.most_started[EVERY_CHANNEL]}/{ROOT_CAPACITY} in root,"
        f" {watcher.most_started['root.narrow']}/{NARROW_CAPACITY} in root.narrow"
        f" ({watcher.samples} samples);"
        f" {resets} connection(s) reset by the kernel (listen backlog full) and tried"
        f" again, {sum(accepted) - CALLS} of them accepted empty"
    )
    assert job_worker_errors(server.log()) == []


def test_keepalive_with_the_key_in_the_url_reports_the_leader_and_backlog_a_job_due_now_runs_soon(
    odoo_database, api_key, observed, tmp_path
):
    shell(
        odoo_database,
        """
env["job_worker_e2e.execution"].with_delay(eta=3600).record_execution("keepalive-eta")
env.cr.commit()
""",
    )
    server = OdooServer(
        odoo_database,
        tmp_path / "threaded.log",
        "--workers=0",
        "--max-cron-threads=0",
        SERVER_WIDE,
    )
    try:
        wait_until(
            lambda: candidate_pids(observed) == [server.pid], 120.0, "the server did not stand"
        )
        wait_until(
            lambda: leader_connection_of(observed, server.pid),
            30.0,
            "the server did not start leading",
        )
        call = http_call(
            "GET", f"http://127.0.0.1:{server.port}/job_worker/keepalive?key={api_key}"
        )
        with observed.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM queue_job WHERE state = 'pending'")
            (pending,) = cursor.fetchone()
        assert call.status == 200, call.body
        assert call.body["status"] == "ok"
        assert call.body["database"] == odoo_database
        runner = call.body["runner"]
        assert [candidate["pid"] for candidate in runner["candidates"]] == [server.pid]
        assert runner["this_process"]["pid"] == server.pid
        assert runner["this_process"]["role"] == "leader"
        assert runner["leader"]["pid"] == server.pid
        assert pending == 1  # the job due in an hour
        assert call.body["pending_count"] == pending
        assert call.body["due_count"] == 0

        with observed.cursor() as cursor:  # due now: the trigger NOTIFYs the leader
            cursor.execute(
                "UPDATE queue_job SET eta = now() at time zone 'UTC'"
                " WHERE state = 'pending' AND args = %s",
                ['["keepalive-eta"]'],
            )
            assert cursor.rowcount == 1
        due = time.monotonic()
        wait_until(
            lambda: job_states(observed, "keepalive-eta") == {"done": 1},
            KEEPALIVE_JOB_DONE_WITHIN_S,
            f"the job due now did not end done: {job_states(observed, 'keepalive-eta')}",
        )
        done_after_s = time.monotonic() - due
        assert executions_by_key(observed, "keepalive-eta") == {"keepalive-eta": [server.pid]}
        print(
            f"\nkeep-alive answered in {call.seconds:.2f}s; the job due now ran"
            f" and was done {done_after_s:.2f}s after its ETA was moved to now"
        )
    finally:
        server.stop()
    assert job_worker_errors(server.log()) == []
