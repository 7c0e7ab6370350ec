"""Channels under concurrency: processors in separate OS processes share one queue.

Every test starts :data:`PROCESSES` processors as real processes (``spawn``), each with
its own engine connection and name, running the engine as Odoo does: the dispatcher
(worker threads) or ``process_due_jobs`` (the cron and HTTP processors). Each job logs its
execution in ``execution_log`` from inside its own transaction, with times read from the
database's clock (see ``channel_processes.py``): only executions whose outcome committed
are logged, and limits are checked on these logs, at every instant, across processes.
"""

import datetime
import itertools
import multiprocessing
import time
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from channel_processes import (
    EXECUTION_LOG_TABLE,
    START_TIMEOUT_S,
    dispatch_until_stopped,
    process_until_stopped,
)
from support import add_channel, insert_job, set_root_channel, state_counts

from job_worker.engine import codec
from job_worker.engine.dispatcher import RECOVERY_INTERVAL_S

PROCESSES = 4
WORKERS_PER_DISPATCHER = 4
JOB_S = 0.03
"""How long a job sleeps: long enough for executions to overlap."""
SETTLE_TIMEOUT_S = 20.0
"""Longest wait for the processors to run every job a test enqueued."""
STOP_TIMEOUT_S = 15.0
"""Longest wait for the processors to exit once told to stop; then they are killed."""
POLL_INTERVAL_S = 0.05
NOON = datetime.datetime(2024, 1, 1, 12, 0)  # naive UTC, as the table stores it; long past

NO_JOB_LEFT = "SELECT NOT EXISTS (SELECT 1 FROM queue_job WHERE state IN ('pending', 'started'))"


@dataclass(frozen=True)
class Execution:
    """One committed execution of a job, as the job logged it."""

    job_id: int
    channel: str
    pid: int
    started_at: datetime.datetime
    ended_at: datetime.datetime


@pytest.fixture
def execution_log(db):
    """An empty ``execution_log`` table, where jobs log their committed executions."""
    with db.cursor() as cursor:
        cursor.execute(EXECUTION_LOG_TABLE)
        cursor.execute("TRUNCATE execution_log RESTART IDENTITY")
    yield
    with db.cursor() as cursor:
        cursor.execute("DROP TABLE execution_log")


@contextmanager
def processors(database, target, *options):
    """Run :data:`PROCESSES` processors, ``target(database, name, *options, start, stop)``.

    The block starts once every processor is ready to claim; when it ends, they are told
    to stop, waited for, and killed if they do not exit in time. A clean exit of each is
    part of what the test checks.
    """
    spawn = multiprocessing.get_context("spawn")
    start_together = spawn.Barrier(PROCESSES + 1)
    stop = spawn.Event()
    processes = [
        spawn.Process(
            target=target,
            args=(database, f"job_worker:test-channels-{n}", *options, start_together, stop),
            daemon=True,
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        start_together.wait(START_TIMEOUT_S)
        yield
    finally:
        stop.set()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert [process.exitcode for process in processes] == [0] * PROCESSES


def dispatchers(database, workers=WORKERS_PER_DISPATCHER):
    """:func:`processors` running the dispatcher, with ``workers`` threads each."""
    return processors(database, dispatch_until_stopped, workers)


def wait_for(db, query, timeout_s=SETTLE_TIMEOUT_S):
    """Poll ``query`` (one boolean) until it is true or ``timeout_s`` passed; return it."""
    deadline = time.monotonic() + timeout_s
    with db.cursor() as cursor:
        while True:
            cursor.execute(query)
            (reached,) = cursor.fetchone()
            if reached or time.monotonic() >= deadline:
                return reached
            time.sleep(POLL_INTERVAL_S)


def enqueue(db, count, channel="root", method_name="log_execution", seconds=JOB_S):
    """Insert ``count`` pending jobs in ``channel`` with plain SQL; return their ids."""
    with db.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, channel, args)
            SELECT 'test.model', %s, %s, %s FROM generate_series(1, %s)
            RETURNING id
            """,
            [method_name, channel, codec.dumps([seconds]), count],
        )
        return [job_id for (job_id,) in cursor]


def executions(db):
    """Every committed execution, in the order they started."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT job_id, channel, pid, started_at, ended_at FROM execution_log"
            " ORDER BY started_at, id"
        )
        return [Execution(*row) for row in cursor]


def most_at_once(executions):
    """The largest number of ``executions`` running at one instant.

    Intervals are closed: an execution starting at the very instant another ends counts
    as overlapping it.
    """
    events = sorted(
        [(execution.started_at, 0) for execution in executions]
        + [(execution.ended_at, 1) for execution in executions]
    )  # at equal times, starts (0) come before ends (1)
    running = most = 0
    for _, is_end in events:
        running += -1 if is_end else 1
        most = max(most, running)
    return most


def overlap(first, second):
    return first.started_at <= second.ended_at and second.started_at <= first.ended_at


# --- exactly once ---------------------------------------------------------------------


def test_every_job_runs_exactly_once_when_processes_process_side_by_side(
    database, db, execution_log
):
    job_ids = enqueue(db, 400, seconds=0.02)

    with processors(database, process_until_stopped):
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    log = executions(db)
    assert state_counts(db) == {"done": 400}
    assert sorted(execution.job_id for execution in log) == sorted(job_ids)  # once each
    with db.cursor() as cursor:
        cursor.execute("SELECT DISTINCT retry FROM queue_job")
        assert cursor.fetchall() == [(1,)]  # one attempt each, never claimed twice
    assert len({execution.pid for execution in log}) == PROCESSES  # all took part
    assert most_at_once(log) > 1  # side by side


# --- capacities -----------------------------------------------------------------------


def test_no_channel_ever_runs_more_jobs_at_once_than_its_capacity_across_processes(
    database, db, execution_log
):
    with db.cursor() as cursor:
        add_channel(cursor, "root.a", capacity=2)
        add_channel(cursor, "root.p", capacity=3)
        add_channel(cursor, "root.p.x", capacity=2)
        add_channel(cursor, "root.p.y")  # no capacity of its own: only root.p's
    enqueue(db, 40, "root.a")
    enqueue(db, 30, "root.p.x")
    enqueue(db, 30, "root.p.y")
    enqueue(db, 40, "root")  # unlimited: keeps the other workers busy meanwhile

    with dispatchers(database):
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    log = executions(db)
    assert state_counts(db) == {"done": 140}
    assert len(log) == 140
    in_a = [execution for execution in log if execution.channel == "root.a"]
    in_x = [execution for execution in log if execution.channel == "root.p.x"]
    in_p = [execution for execution in log if execution.channel.startswith("root.p.")]
    # Reached, never exceeded: the limit is what held the jobs back.
    assert most_at_once(in_a) == 2
    assert most_at_once(in_x) == 2
    assert most_at_once(in_p) == 3
    assert most_at_once(log) > 3  # the unlimited root ran beside them
    assert len({execution.pid for execution in in_a}) > 1  # several processes shared root.a


# --- sequential channels --------------------------------------------------------------


def test_a_sequential_channel_runs_one_job_at_a_time_in_claim_order_beside_other_jobs(
    database, db, execution_log
):
    with db.cursor() as cursor:
        add_channel(cursor, "root.seq", sequential=True)
        for n, priority in enumerate([10, 20, 5, 10, 15, 5, 10, 20, 10, 5, 15, 10]):
            # Every third job's ETA, long past, is before its creation: it is due earlier.
            eta = NOON - datetime.timedelta(minutes=n) if n % 3 == 0 else None
            insert_job(
                cursor,
                channel="root.seq",
                method_name="log_execution",
                args=codec.dumps([0.04]),
                priority=priority,
                date_created=NOON + datetime.timedelta(minutes=n),
                eta=eta,
            )
        cursor.execute(
            "SELECT id FROM queue_job WHERE channel = 'root.seq'"
            " ORDER BY priority, coalesce(eta, date_created), id"
        )
        claim_order = [job_id for (job_id,) in cursor]
    assert claim_order != sorted(claim_order)  # the order to keep is not the insertion's
    enqueue(db, 200, "root", seconds=0.04)

    with dispatchers(database):
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    log = executions(db)
    assert state_counts(db) == {"done": 212}
    in_seq = [execution for execution in log if execution.channel == "root.seq"]
    in_root = [execution for execution in log if execution.channel == "root"]
    assert [execution.job_id for execution in in_seq] == claim_order
    assert most_at_once(in_seq) == 1
    assert all(earlier.ended_at < later.started_at for earlier, later in itertools.pairwise(in_seq))
    assert any(  # other jobs ran meanwhile, in other processes
        overlap(sequential, other) and other.pid != sequential.pid
        for sequential in in_seq
        for other in in_root
    )


# --- rate limits ----------------------------------------------------------------------


def test_a_rate_limited_channel_never_starts_more_jobs_per_period_than_its_limit(
    database, db, execution_log
):
    with db.cursor() as cursor:
        add_channel(cursor, "root.rated", rate_limit=5, rate_period=1)
    job_ids = enqueue(db, 30, "root.rated", seconds=0.02)

    with dispatchers(database):
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    log = executions(db)
    assert state_counts(db) == {"done": 30}
    assert sorted(execution.job_id for execution in log) == job_ids  # all ran, once each
    with db.cursor() as cursor:
        # The limit counts starts, and a job starts when it is claimed (date_started); its
        # method runs a few milliseconds later, once the driver has opened its transaction.
        cursor.execute("SELECT date_started FROM queue_job ORDER BY date_started")
        starts = [started for (started,) in cursor]
    period = datetime.timedelta(seconds=1)
    starts_per_window = [  # one window opening at each start
        sum(1 for start in starts if window_start <= start < window_start + period)
        for window_start in starts
    ]
    assert max(starts_per_window) == 5  # reached, never exceeded


# --- priority and ETA -----------------------------------------------------------------


def test_jobs_run_by_priority_then_due_moment_and_never_before_their_eta(
    database, db, execution_log
):
    with db.cursor() as cursor:
        set_root_channel(cursor, capacity=1)  # one job at a time, whichever process runs it
        for n in range(50):
            # Every third job's ETA, long past, is before its creation: it is due earlier.
            eta = NOON - datetime.timedelta(minutes=n) if n % 3 == 0 else None
            insert_job(
                cursor,
                method_name="log_execution",
                args=codec.dumps([0.05]),
                priority=[10, 20, 5, 10, 15][n % 5],
                date_created=NOON + datetime.timedelta(minutes=n),
                eta=eta,
            )
        cursor.execute(
            "SELECT id FROM queue_job ORDER BY priority, coalesce(eta, date_created), id"
        )
        claim_order = [job_id for (job_id,) in cursor]
    assert claim_order != sorted(claim_order)

    with dispatchers(database):
        # Enqueued once the others run: the most urgent job, but not due for 1.5 s.
        with db.cursor() as cursor:
            cursor.execute("SELECT (now() AT TIME ZONE 'UTC') + interval '1.5 seconds'")
            (eta,) = cursor.fetchone()
            future = insert_job(
                cursor, method_name="log_execution", args=codec.dumps([0.05]), priority=1, eta=eta
            )
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    log = executions(db)
    assert state_counts(db) == {"done": 51}
    started = [execution.job_id for execution in log]
    assert [job_id for job_id in started if job_id != future] == claim_order
    assert most_at_once(log) == 1
    with db.cursor() as cursor:
        cursor.execute(
            """
            SELECT (log.started_at AT TIME ZONE 'UTC') >= job.eta,
                   (SELECT count(*) FROM execution_log AS other
                    WHERE (other.started_at AT TIME ZONE 'UTC') > job.eta
                      AND other.started_at < log.started_at)
            FROM execution_log AS log JOIN queue_job AS job ON job.id = log.job_id
            WHERE job.id = %s
            """,
            [future],
        )
        after_its_eta, started_between_its_eta_and_it = cursor.fetchone()
    assert after_its_eta
    # Once due it goes first: only a job claimed just before its ETA may start in between.
    assert started_between_its_eta_and_it <= 1
    assert 0 < started.index(future) < len(started) - 1  # it did overtake waiting jobs


# --- failures -------------------------------------------------------------------------


def test_a_failing_job_leaves_no_writes_while_the_jobs_around_it_commit(
    database, db, execution_log
):
    # Failing jobs interleaved with the others: every claimed batch mixes both.
    job_ids = []
    for _ in range(25):
        job_ids += enqueue(db, 1, method_name="log_execution_then_raise", seconds=0.01)
        job_ids += enqueue(db, 3, seconds=0.01)
    failing = set(job_ids[::4])

    with processors(database, process_until_stopped):
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    logged = {execution.job_id for execution in executions(db)}
    assert logged == set(job_ids) - failing  # the failing jobs' writes are gone
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT id, state, exc_name, exc_message, exc_info, owner FROM queue_job ORDER BY id"
        )
        rows = cursor.fetchall()
    failed = [row for row in rows if row[0] in failing]
    assert [row[1] for row in rows if row[0] not in failing] == ["done"] * 75
    assert [row[1] for row in failed] == ["failed"] * 25
    for job_id, _, exc_name, exc_message, exc_info, _ in failed:
        assert exc_name == "channel_processes.JobFailsOnPurpose"
        assert exc_message == f"job {job_id} fails on purpose"
        assert exc_info.startswith("Traceback")
        assert "log_execution_then_raise" in exc_info
    assert len({row[5] for row in failed}) > 1  # failures in several processes


# --- paused channels ------------------------------------------------------------------


def test_a_paused_channel_keeps_its_jobs_pending_until_it_is_resumed(database, db, execution_log):
    with db.cursor() as cursor:
        add_channel(cursor, "root.paused", paused=True)
        add_channel(cursor, "root.paused.child")  # paused with its parent
    paused_jobs = enqueue(db, 10, "root.paused") + enqueue(db, 10, "root.paused.child")
    enqueue(db, 60, "root")
    root_jobs_done = (
        "SELECT NOT EXISTS (SELECT 1 FROM queue_job WHERE channel = 'root' AND state <> 'done')"
    )

    with dispatchers(database):
        assert wait_for(db, root_jobs_done), f"jobs left: {state_counts(db)}"
        time.sleep(1.5 * RECOVERY_INTERVAL_S)  # every idle processor looks again meanwhile
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT state, retry, owner, date_started FROM queue_job WHERE id = ANY(%s)",
                [paused_jobs],
            )
            assert set(cursor.fetchall()) == {("pending", 0, None, None)}
            cursor.execute(
                "UPDATE queue_job_channel SET paused = false WHERE complete_name = 'root.paused'"
                " RETURNING clock_timestamp()"
            )
            (resumed_at,) = cursor.fetchone()
        assert wait_for(db, NO_JOB_LEFT), f"jobs left: {state_counts(db)}"

    assert state_counts(db) == {"done": 80}
    log = executions(db)
    assert len(log) == 80
    resumed = [execution for execution in log if execution.job_id in set(paused_jobs)]
    assert sorted(execution.job_id for execution in resumed) == sorted(paused_jobs)
    assert all(execution.started_at > resumed_at for execution in resumed)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT bool_and(retry = 1 AND date_started > (%s AT TIME ZONE 'UTC'))"
            " FROM queue_job WHERE id = ANY(%s)",
            [resumed_at, paused_jobs],
        )
        assert cursor.fetchone() == (True,)  # claimed once, after the resume
