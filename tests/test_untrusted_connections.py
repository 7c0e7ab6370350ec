"""Connections the election and recovery must not trust: those of another PostgreSQL role,
and names that do not tell the truth about their connection.

Any role allowed to connect to a database (by default: every role) can name its connection
as it likes, and every role can read every connection's name in ``pg_stat_activity``. The
other role here is created by the test, with CONNECT on the test database and nothing more.
Candidates are real processes (see ``candidate_processes.py``).
"""

import contextlib
import datetime
import itertools
import threading

import psycopg2
import pytest
from candidate_processes import CandidateProcesses
from conftest import connect, insert_job
from dispatcher_processes import START_TIMEOUT_S, is_connected, wait_until
from other_role import OtherRole

from job_worker.engine import codec
from job_worker.engine.candidate import JOINING_PATIENCE_S, LEADER_CHECK_INTERVAL_S
from job_worker.engine.connection import connect_engine
from job_worker.engine.election import (
    CandidateName,
    check_election,
    join_election,
    joining_name,
    list_candidates,
)
from job_worker.engine.recovery import recover_orphaned_jobs

JOINING_WAIT_BOUND_S = JOINING_PATIENCE_S + LEADER_CHECK_INTERVAL_S
"""A candidate first in line leads within this, whatever keeps calling itself joining."""
RENAME_INTERVAL_S = 1.0
"""How often the joining lookalike takes a new name: faster than the patience a candidate
once granted each new name, so only a bound on the whole wait lets a leader start."""
FAKE_LEADER_SLEEP_S = 40
"""The review's fake leader slept this long in one statement."""


@pytest.fixture
def other_role(database):
    role = OtherRole([database])
    yield role
    role.drop()


@pytest.fixture
def candidates(db, job_logs):
    processes = CandidateProcesses(db)
    try:
        yield processes
    finally:
        processes.close()


@pytest.fixture
def same_role_connections(database):
    """Open connections of the tests' own role (the candidates' role), closed at the end."""
    opened = []

    def open_connection(application_name):
        connection = connect(database, application_name=application_name)
        connection.autocommit = True
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.close()


def insert_jobs(db, count):
    with db.cursor() as cursor:
        return [
            insert_job(cursor, method_name="work_briefly", args=codec.dumps([1]))
            for _ in range(count)
        ]


def all_done(db, job_ids):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM queue_job WHERE id = ANY(%s) AND state = 'done'", [job_ids]
        )
        return cursor.fetchone()[0] == len(job_ids)


def statuses_of(candidates, pid):
    return [event for event in candidates.collect() if event.kind == "status" and event.pid == pid]


def sleep_in_statement(connection, seconds):
    """Run ``pg_sleep`` on ``connection`` in a thread, as the review's psql did; the
    statement ends when the role's connections are terminated."""

    def run():
        with contextlib.suppress(psycopg2.Error), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(%s)", [seconds])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- the election ------------------------------------------------------------------------


def test_a_fake_leader_of_another_role_is_ignored_and_a_real_candidate_leads_and_runs_jobs(
    candidates, other_role, same_role_connections, database, db
):
    # What the review ran: PGAPPNAME='job_worker:candidate:0' psql -c 'select pg_sleep(40)'.
    sleep_in_statement(other_role.connect(database, "job_worker:candidate:0"), FAKE_LEADER_SLEEP_S)
    # A well-formed name, earlier than any real start, of the other role...
    other_role.connect(database, "job_worker:candidate:00000000T000000.000000:1:1")
    # ...and of the candidates' own role, but a name that does not parse.
    same_role_connections("job_worker:candidate:0")
    wait_until(
        lambda: is_connected(db, "job_worker:candidate:0"), 5, "the fake leader is not connected"
    )

    real = candidates.start([database])

    assert candidates.wait_for_single_leader(database) == real.pid
    job_ids = insert_jobs(db, 5)
    wait_until(lambda: all_done(db, job_ids), 20.0, "the real leader did not run the jobs")
    # The runner status shows only the real candidate.
    assert [candidate.os_pid for candidate in list_candidates(db.cursor())] == [real.pid]
    assert {
        CandidateName.parse(event.leader).os_pid
        for event in statuses_of(candidates, real.pid)
        if event.leader is not None
    } == {real.pid}


@pytest.mark.parametrize("role", ["same role", "another role"])
def test_a_joining_name_that_keeps_changing_holds_off_a_leader_no_longer_than_the_bound(
    candidates, other_role, same_role_connections, database, db, role
):
    # Connected before the candidate: such a connection could be an older candidate.
    if role == "same role":
        lookalike = same_role_connections(joining_name(1))
    else:
        lookalike = other_role.connect(database, joining_name(1))
    stop = threading.Event()

    def rename_again_and_again():
        with lookalike.cursor() as cursor:
            for number in itertools.count(2):
                if stop.wait(RENAME_INTERVAL_S):
                    return
                cursor.execute(
                    "SELECT set_config('application_name', %s, false)", [joining_name(number)]
                )

    renamer = threading.Thread(target=rename_again_and_again, daemon=True)
    renamer.start()
    try:
        process = candidates.start([database], wait=False)
        assert candidates.wait_for_single_leader(database, timeout_s=START_TIMEOUT_S) == (
            process.pid
        )
        job_ids = insert_jobs(db, 1)
        wait_until(lambda: all_done(db, job_ids), 20.0, "the leader did not run the job")
    finally:
        stop.set()
        renamer.join()

    first, *_ = statuses = statuses_of(candidates, process.pid)
    led = next(event for event in statuses if event.role == "leader")
    if role == "same role":
        assert (first.role, first.detail) == (
            "follower",
            "waiting for candidates still joining (one may be older)",
        )
        waited_s = led.at - first.at
        print(f"\nheld off by a joining lookalike of its own role for {waited_s:.2f} s")
        assert waited_s <= JOINING_WAIT_BOUND_S
    else:
        assert first is led  # another role's connection never held it back


def test_names_that_do_not_parse_or_do_not_match_their_connection_are_ignored(
    same_role_connections,
):
    same_role_connections(joining_name(4))  # connected before the candidate
    candidate = same_role_connections("job_worker:test-joining")
    name = join_election(candidate, os_pid=1)
    started, backend_pid = name.removeprefix("job_worker:candidate:").split(":")[:2]
    for lookalike in (
        "job_worker:candidate:0",
        "job_worker:candidate:00000000T000000.000000:1:1",  # parses, but lies
        f"job_worker:candidate:{started}:+{backend_pid}:1",  # int() would read it
        name,  # a copy of the real candidate's name, on another connection
        "job_worker:joining:not-a-pid",
        joining_name(5),  # joining, but connected after the candidate: it comes later
    ):
        same_role_connections(lookalike)

    view = check_election(candidate, name)

    assert view.candidates == (name,)
    assert view.is_leader
    assert view.joining == (joining_name(4),)
    assert [candidate.application_name for candidate in list_candidates(candidate.cursor())] == [
        name
    ]


# -- recovery ----------------------------------------------------------------------------


@pytest.fixture
def recoverer(database, db):
    connection = connect_engine({"dbname": database}, "job_worker:test-recoverer")
    yield connection
    connection.close()


def test_a_started_job_whose_owner_name_another_role_holds_is_recovered(
    db, other_role, same_role_connections, recoverer, database
):
    owner = "job_worker:leader:0badf00d:1"
    claimed_at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with db.cursor() as cursor:
        job_id = insert_job(
            cursor,
            state="started",
            owner=owner,
            retry=1,
            max_retries=5,
            date_started=claimed_at - datetime.timedelta(seconds=10),
            heartbeat=claimed_at - datetime.timedelta(seconds=10),
        )
    # While a connection of the runner's own role holds the name, the owner is alive.
    same_role_owner = same_role_connections(owner)
    assert recover_orphaned_jobs(recoverer, grace_s=0.5) == []
    same_role_owner.close()
    wait_until(lambda: not is_connected(db, owner), 5, "the owner is still connected")

    other_role.connect(database, owner)
    assert is_connected(db, owner)
    recovered = recover_orphaned_jobs(recoverer, grace_s=0.5)

    assert [(job.id, job.state) for job in recovered] == [(job_id, "pending")]
    with db.cursor() as cursor:
        cursor.execute("SELECT state, owner, exc_name FROM queue_job WHERE id = %s", [job_id])
        assert cursor.fetchone() == ("pending", None, "JobFoundDead")
