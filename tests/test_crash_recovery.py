"""Crash-only: processes killed mid-job lose no job and run none twice.

Dispatchers run in child processes and are killed with SIGKILL: nothing of theirs gets
to clean up. What the jobs did is read back from ``attempt_log`` (written outside the
job's transaction, so it survives the kill) and ``execution_log`` (written in it, so it
commits only with the job); see ``dispatcher_processes.py``.
"""

import os
import random
import time

import pytest
from dispatcher_processes import attempts, executions
from support import enqueue, insert_job, is_connected, job_row, wait_until

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import DispatcherConfig
from job_worker.engine.recovery import recover_orphaned_jobs

RECOVERER = "job_worker:test-recoverer"
RECOVERY_GRACE_S = 0.5


@pytest.fixture
def recoverer(engine_connection):
    """An engine connection of the test's own, to run recovery from outside any dispatcher."""
    return engine_connection(RECOVERER)


@pytest.fixture
def claim_log(db):
    """``claim_log (job_id, owner)``: one row per claim, committed with the claim itself."""
    with db.cursor() as cursor:
        cursor.execute("CREATE TABLE claim_log (job_id int NOT NULL, owner text NOT NULL)")
        cursor.execute(
            """
            CREATE FUNCTION log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO claim_log (job_id, owner) VALUES (NEW.id, NEW.owner);
                RETURN NULL;
            END
            $$
            """
        )
        cursor.execute(
            """
            CREATE TRIGGER queue_job_log_claim
                AFTER UPDATE OF state ON queue_job
                FOR EACH ROW WHEN (NEW.state = 'started' AND OLD.state <> 'started')
                EXECUTE FUNCTION log_claim()
            """
        )
    yield
    with db.cursor() as cursor:
        cursor.execute("DROP TRIGGER queue_job_log_claim ON queue_job")
        cursor.execute("DROP FUNCTION log_claim()")
        cursor.execute("DROP TABLE claim_log")


def unfinished_jobs(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_job WHERE state IN ('pending', 'started')")
        return cursor.fetchone()[0]


# -- many crashes ------------------------------------------------------------------------

JOBS = 5000
DISPATCHING_PROCESSES = 4
KILLS = 20
KILL_INTERVAL_S = (0.2, 1.0)
"""Random wait between two kills, on top of the replacement's start-up."""
DRAIN_TIMEOUT_S = 90.0
CRASH_CONFIG = DispatcherConfig(max_threads=3, recovery_interval_s=1.0, orphan_grace_s=0.5)
MAX_RETRIES = 10
"""Far more attempts than a job can lose to kills: every job must end done."""


def test_jobs_survive_random_kills_of_their_processes_each_done_exactly_once(
    database, db, dispatchers, claim_log
):
    seed = int(os.environ.get("JOB_WORKER_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    for _ in range(DISPATCHING_PROCESSES):
        dispatchers.start(CRASH_CONFIG, wait=False)
    for process in dispatchers.processes:
        dispatchers.wait_connected(process)
    with db.cursor() as cursor:
        # Each job sleeps 5 to 15 ms, then writes its execution_log row.
        cursor.execute(
            "INSERT INTO queue_job (model_name, method_name, args, max_retries) "
            "SELECT 'test.model', 'work_briefly', format('[%%s]', 5 + n %% 11), %s "
            "FROM generate_series(1, %s) AS n",
            [MAX_RETRIES, JOBS],
        )
    started = time.monotonic()

    killed_pids = set()
    unfinished_at_kill = []
    for _ in range(KILLS):
        time.sleep(rng.uniform(*KILL_INTERVAL_S))
        victim = rng.choice(dispatchers.alive())
        unfinished_at_kill.append(unfinished_jobs(db))
        dispatchers.crash(victim)
        killed_pids.add(victim.pid)
        dispatchers.start(CRASH_CONFIG)  # a replacement, under a new name
    wait_until(
        lambda: unfinished_jobs(db) == 0,
        DRAIN_TIMEOUT_S - (time.monotonic() - started),
        f"jobs still unfinished after {KILLS} kills (seed {seed})",
        interval_s=0.2,
    )
    drained_s = time.monotonic() - started
    survivors = dispatchers.alive()
    assert [dispatchers.stop(process) for process in survivors] == [0] * len(survivors)

    context = f"seed {seed}, drained in {drained_s:.1f} s"
    assert min(unfinished_at_kill) > 0, f"every kill hit a queue with work left ({context})"
    with db.cursor() as cursor:
        cursor.execute("SELECT state, count(*) FROM queue_job GROUP BY state")
        assert dict(cursor.fetchall()) == {"done": JOBS}, context
        cursor.execute(
            """
            SELECT job.id, job.retry,
                   (SELECT count(*) FROM claim_log WHERE claim_log.job_id = job.id),
                   (SELECT array_agg(pid ORDER BY id) FROM attempt_log
                    WHERE attempt_log.job_id = job.id),
                   (SELECT array_agg(pid) FROM execution_log
                    WHERE execution_log.job_id = job.id)
            FROM queue_job AS job
            """
        )
        jobs = cursor.fetchall()
    for job_id, retry, claims, attempt_pids, execution_pids in jobs:
        where = f"job {job_id} ({context})"
        committed = len(execution_pids or [])
        assert committed == 1, f"{where}: its work committed {committed} times"
        # Every claim counted its attempt, and recovery kept it counted.
        assert retry == claims, where
        # A claim may die before its job starts, never a start without its claim.
        assert 1 <= len(attempt_pids) <= claims, where
        # It ran to its end once; any attempt before that died with its process.
        assert attempt_pids[-1] == execution_pids[0], where
        assert set(attempt_pids[:-1]) <= killed_pids, f"{where}: rerun of a live attempt"
    killed_mid_run = [job for job in jobs if len(job[3]) > 1]
    assert killed_mid_run, f"no kill caught a job mid-run: the test proved nothing ({context})"
    assert all(retry >= len(attempt_pids) for _, retry, _, attempt_pids, _ in killed_mid_run)


# -- one crash, one job ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_retries", "state"),
    [(5, "pending"), (1, "failed")],
    ids=["attempts left: pending again", "last attempt: failed"],
)
def test_a_job_whose_process_is_killed_mid_run_is_recovered_with_its_attempt_counted(
    db, dispatchers, recoverer, max_retries, state
):
    process = dispatchers.start(DispatcherConfig(max_threads=1))
    job_id = enqueue(db, "nap", 30, max_retries=max_retries)
    wait_until(lambda: attempts(db, job_id), 10, "the job did not start")
    assert job_row(db, job_id, "state", "owner") == ("started", process.name)

    dispatchers.crash(process)
    killed = time.monotonic()
    wait_until(
        lambda: recover_orphaned_jobs(recoverer, RECOVERY_GRACE_S),
        5,
        "the orphaned job was not recovered",
        interval_s=0.1,
    )

    assert time.monotonic() - killed < 5
    job_state, retry, owner, exc_name, exc_message = job_row(
        db, job_id, "state", "retry", "owner", "exc_name", "exc_message"
    )
    assert (job_state, retry, owner, exc_name) == (state, 1, None, "JobFoundDead")
    assert exc_message == (
        f"worker died: processor {process.name} disconnected while attempt 1 of {max_retries} ran"
    )
    assert executions(db, job_id) == 0  # its writes died with it


def test_a_running_job_is_never_recovered_while_its_process_lives_even_if_its_owner_vanishes(
    db, dispatchers, recoverer
):
    # The dispatcher's engine connection (the jobs' owner) is cut, and not reopened
    # before the job ends: only the row lock held by the job's transaction shows it lives.
    config = DispatcherConfig(max_threads=1, reconnect_backoff_s=(20.0, 20.0))
    process = dispatchers.start(config)
    job_id = enqueue(db, "nap_in_python", 3, max_retries=5)
    wait_until(lambda: attempts(db, job_id), 10, "the job did not start")
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [process.name],
        )
    wait_until(lambda: not is_connected(db, process.name), 5, "the owner is still connected")

    recovered = []
    checks_while_owner_invisible = 0
    while job_row(db, job_id, "state") == ("started",):
        owner_invisible = not is_connected(db, process.name)
        recovered += recover_orphaned_jobs(recoverer, grace_s=0)
        checks_while_owner_invisible += owner_invisible
        time.sleep(0.05)

    assert checks_while_owner_invisible > 10
    assert recovered == []
    assert job_row(db, job_id, "state", "retry", "exc_name") == ("done", 1, None)
    assert attempts(db, job_id) == [(process.pid, "job_worker-0")]
    assert executions(db, job_id) == 1
    assert process.is_alive()


def test_recovery_takes_back_its_own_started_jobs_that_are_no_longer_in_flight(database, db):
    """A settlement lost with its connection leaves the job started under a live owner:
    that owner's recovery takes it back, and leaves the jobs it still runs alone."""
    with db.cursor() as cursor:
        lost = insert_job(cursor)
        running = insert_job(cursor)
    owner = connect_engine({"dbname": database}, "job_worker:test-own-recovery")
    try:
        assert {job.id for job in claim_due_jobs(owner, 2)} == {lost, running}

        recovered = recover_orphaned_jobs(owner, grace_s=60, in_flight=[running])

        assert [job.id for job in recovered] == [lost]
        with db.cursor() as cursor:
            cursor.execute("SELECT id, state, retry FROM queue_job ORDER BY id")
            assert cursor.fetchall() == [(lost, "pending", 1), (running, "started", 1)]
    finally:
        owner.close()
