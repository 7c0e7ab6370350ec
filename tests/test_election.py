"""Leader election among candidate processes, on a real PostgreSQL, with real signals.

Each child is a process like an Odoo HTTP worker (without Odoo): it decides whether it is
a candidate, holds one election connection per database, and runs jobs while it leads.
Throughout every test, a watcher polls ``pg_locks``: no advisory lock may ever appear.
"""

import statistics
import threading
import time

import pytest
from candidate_processes import (
    CRON_WORKER_OPTIONS,
    CandidateProcesses,
    candidate_connections,
    connections_of,
)
from dispatcher_processes import executions
from support import (
    connect,
    create_queue_database,
    drop_queue_database,
    insert_job,
    state_counts,
    wait_until,
)

from job_worker.engine import codec
from job_worker.engine.election import CandidateName, check_election, join_election

FAILOVER_BOUND_S = 3.0
"""With the default check interval, a killed leader is replaced within this."""
HANDOVER_BOUND_S = 0.5
"""A leader that stops gracefully is replaced within this."""


@pytest.fixture
def advisory_locks_seen(database):
    """Poll ``pg_locks`` every 10 ms during the test; the advisory locks it ever saw."""
    seen, stop = [], threading.Event()
    watcher_connection = connect(database, application_name="job_worker:test-lock-watch")
    watcher_connection.autocommit = True

    def watch():
        with watcher_connection.cursor() as cursor:
            while not stop.is_set():
                cursor.execute(
                    "SELECT l.pid, a.application_name FROM pg_locks l "
                    "LEFT JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'"
                )
                seen.extend(cursor.fetchall())
                stop.wait(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield seen
    stop.set()
    thread.join()
    watcher_connection.close()


@pytest.fixture
def candidates(db, job_logs, advisory_locks_seen):
    processes = CandidateProcesses(db)
    try:
        yield processes
    finally:
        processes.close()
    assert advisory_locks_seen == [], f"advisory locks were held: {advisory_locks_seen}"


@pytest.fixture
def second_database():
    """Another database with the queue schema, for elections that must not mix."""
    name = create_queue_database()
    yield name
    drop_queue_database(name)


def insert_jobs(db, count, milliseconds):
    with db.cursor() as cursor:
        return [
            insert_job(
                cursor,
                method_name="work_briefly",
                args=codec.dumps([milliseconds]),
                max_retries=20,
            )
            for _ in range(count)
        ]


def test_five_candidates_converge_on_exactly_one_leader_the_oldest(candidates, database, db):
    processes = [candidates.start([database]) for _ in range(5)]
    leader = candidates.wait_for_single_leader(database)

    assert leader == processes[0].pid  # the oldest connection leads
    names = [name for name, _ in candidate_connections(db, database)]
    assert len(names) == 5
    assert CandidateName.parse(names[0]).os_pid == leader
    assert [CandidateName.parse(name).os_pid for name in names] == [p.pid for p in processes]
    # Every follower names the same leader.
    followers = [
        event
        for event in candidates.collect()
        if event.kind == "status" and event.role == "follower" and event.pid != leader
    ]
    assert {event.leader for event in followers[-4:]} == {names[0]}


def test_sigkill_of_the_leader_ten_times_elects_a_new_leader_each_time(candidates, database, db):
    for _ in range(5):
        candidates.start([database])
    job_ids = insert_jobs(db, 150, milliseconds=30)
    leader = candidates.wait_for_single_leader(database)
    failovers = []
    for _ in range(10):
        process = next(p for p in candidates.processes if p.pid == leader)
        killed_at = time.time()
        candidates.crash(process)
        candidates.start([database], wait=False)  # the master would spawn a new worker
        new_leader = candidates.wait_for_single_leader(database, excluding={leader})
        failovers.append(candidates.became_leader_at(new_leader, database, killed_at) - killed_at)
        assert connections_of(db, leader) == []  # PostgreSQL dropped the dead one's
        leader = new_leader

    p50, worst = statistics.median(failovers), max(failovers)
    print(f"\nfailover after SIGKILL of the leader (10 times): p50 {p50:.3f} s, max {worst:.3f} s")
    assert worst <= FAILOVER_BOUND_S

    # Jobs running in the killed leaders came back; every job ends done, committed once.
    wait_until(
        lambda: state_counts(db, job_ids) == {"done": len(job_ids)},
        60.0,
        "jobs did not all end done",
    )
    assert all(executions(db, job_id) == 1 for job_id in job_ids)


def test_a_graceful_stop_hands_over_in_under_half_a_second(candidates, database, db):
    first = candidates.start([database])
    second = candidates.start([database])
    candidates.start([database])
    assert candidates.wait_for_single_leader(database) == first.pid

    stopped_at = time.time()
    candidates.stop(first)
    assert candidates.wait_for_single_leader(database) == second.pid
    handover = candidates.became_leader_at(second.pid, database, stopped_at) - stopped_at
    print(f"\ngraceful handover: {handover * 1000:.0f} ms")
    assert handover < HANDOVER_BOUND_S
    assert connections_of(db, first.pid) == []


def test_two_databases_elect_independently(second_database, candidates, database, db):
    only_second = candidates.start([second_database])
    both = [candidates.start([database, second_database]) for _ in range(2)]

    assert candidates.wait_for_single_leader(database) == both[0].pid
    assert candidates.wait_for_single_leader(second_database) == only_second.pid

    candidates.crash(both[0])
    assert candidates.wait_for_single_leader(database, excluding={both[0].pid}) == both[1].pid
    # The other database's leader never changed.
    assert candidates.wait_for_single_leader(second_database) == only_second.pid
    assert [
        event.pid
        for event in candidates.collect()
        if event.kind == "status" and event.dbname == second_database and event.role == "leader"
    ] == [only_second.pid]


def test_a_process_with_the_cron_worker_signature_never_leads_nor_connects(
    candidates, database, db
):
    cron_worker = candidates.start([database], server_options=CRON_WORKER_OPTIONS)
    http_workers = [candidates.start([database]) for _ in range(2)]

    assert candidates.wait_for_single_leader(database) == http_workers[0].pid
    decision = next(
        event
        for event in candidates.collect()
        if event.kind == "activation" and event.pid == cron_worker.pid
    )
    assert decision.role == "False"
    assert "cron worker detected" in decision.detail
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:  # for several election intervals
        assert connections_of(db, cron_worker.pid) == []
        time.sleep(0.05)
    candidates.crash(http_workers[0])
    assert candidates.wait_for_single_leader(database, excluding={http_workers[0].pid}) == (
        http_workers[1].pid
    )
    assert connections_of(db, cron_worker.pid) == []
    assert cron_worker.is_alive()


def test_an_explicit_override_wins_over_cron_worker_detection(candidates, database):
    forced = candidates.start(
        [database], server_options=CRON_WORKER_OPTIONS, environment={"JOB_WORKER_RUNNER": "on"}
    )
    assert candidates.wait_for_single_leader(database) == forced.pid
    disabled = candidates.start([database], environment={"JOB_WORKER_RUNNER": "off"})
    decision = next(
        event
        for event in candidates.collect()
        if event.kind == "activation" and event.pid == disabled.pid
    )
    assert (decision.role, decision.detail) == ("False", "disabled by configuration (runner = off)")


def test_malformed_runner_settings_are_named_and_the_process_still_stands(candidates, database, db):
    process = candidates.start(
        [database],
        environment={
            "JOB_WORKER_MAX_THREADS": "lots",
            "JOB_WORKER_LEADER_CHECK_INTERVAL": "-1",
            "JOB_WORKER_RUNNER": "maybe",
        },
    )
    assert candidates.wait_for_single_leader(database) == process.pid
    problems = [event.detail for event in candidates.collect() if event.kind == "config"]
    assert len(problems) == 3
    assert any(p.startswith("JOB_WORKER_MAX_THREADS = 'lots' is refused") for p in problems)
    assert any(p.startswith("JOB_WORKER_LEADER_CHECK_INTERVAL = '-1' is refused") for p in problems)
    assert any(p.startswith("JOB_WORKER_RUNNER = 'maybe' is refused") for p in problems)
    job_ids = insert_jobs(db, 5, milliseconds=1)
    wait_until(lambda: state_counts(db, job_ids) == {"done": 5}, 20.0, "jobs were not run")


# -- the election query itself -----------------------------------------------------------


@pytest.fixture
def election_connections(database):
    opened = []

    def open_connection(dbname=database, application_name="job_worker:test-joining"):
        connection = connect(dbname, application_name=application_name)
        connection.autocommit = True
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.close()


def test_names_sort_as_connections_started_and_end_with_the_os_pid(election_connections):
    first, second = election_connections(), election_connections()
    second_name = join_election(second, os_pid=222)
    first_name = join_election(first, os_pid=111)  # joins later, but connected first

    assert first_name < second_name
    assert first_name.startswith("job_worker:candidate:") and first_name.endswith(":111")
    assert check_election(second, second_name).leader == first_name
    assert check_election(first, first_name).is_leader
    assert len(first_name) <= 63


def test_lookalike_names_and_other_databases_are_not_candidates(
    election_connections, second_database
):
    candidate = election_connections()
    name = join_election(candidate, os_pid=1)
    # "_" is not a wildcard: this sorts first, but is not a candidate.
    election_connections(application_name="jobXworker:candidate:00000000T000000.000000:1:1")
    elsewhere = election_connections(dbname=second_database)
    join_election(elsewhere, os_pid=2)

    view = check_election(candidate, name)
    assert view.candidates == (name,)
    assert view.is_leader


def test_a_candidate_that_cannot_see_itself_never_leads(election_connections):
    connection = election_connections()
    name = join_election(connection, os_pid=1)
    with connection.cursor() as cursor:  # as a pooler rewriting application_name would
        cursor.execute("SET application_name = 'rewritten-by-a-pooler'")

    view = check_election(connection, name)
    assert not view.sees_itself
    assert not view.is_leader
