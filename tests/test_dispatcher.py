"""The dispatcher: it outlives its connection, wakes at once for new jobs, interrupts jobs
past their timeout, stops gracefully, and no bad job ever blocks it.

Each dispatcher runs in a child process of its own (see ``dispatcher_processes.py``);
what its jobs did is read back from the database.
"""

import time

import pytest
from dispatcher_processes import attempts, executions
from support import enqueue, job_row, job_states, wait_until

from job_worker.engine.dispatcher import DispatcherConfig

SETTLE_TIMEOUT_S = 10.0
"""How long a test waits for a job that should take a second or two to be settled."""


def wait_settled(db, job_ids, timeout_s=SETTLE_TIMEOUT_S):
    """Wait until none of the jobs is pending or started any more (or fail)."""
    wait_until(
        lambda: not {"pending", "started"} & set(job_states(db, job_ids)),
        timeout_s,
        f"jobs {job_ids} still pending or started: {job_states(db, job_ids)}",
    )


def started_jobs(db):
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM queue_job WHERE state = 'started'")
        return cursor.fetchone()[0]


def engine_backends(db, application_name):
    """Server process ids of the connections named ``application_name``."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return [pid for (pid,) in cursor]


def idle_for(db, application_name, seconds):
    """Whether the connection has sat idle, waiting for work, for ``seconds``."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND state = 'idle' AND state_change < clock_timestamp() - make_interval(secs => %s)",
            [application_name, seconds],
        )
        return cursor.fetchone()[0] == 1


# -- the engine connection ---------------------------------------------------------------

CONNECTION_CUTS = 7
RECONNECTED_WITHIN_S = 2.0


def test_a_dispatcher_whose_connection_is_cut_reconnects_and_runs_the_jobs_enqueued_meanwhile(
    db, dispatchers
):
    # Cut after cut, each time soon back: a connection that came back resets the backoff.
    process = dispatchers.start(DispatcherConfig(max_threads=2))
    for cut in range(CONNECTION_CUTS):
        [backend_before] = engine_backends(db, process.name)
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_before])
        job_ids = [enqueue(db, "work_briefly", 0) for _ in range(3)]
        cut_at = time.monotonic()

        wait_settled(db, job_ids, timeout_s=RECONNECTED_WITHIN_S)

        assert job_states(db, job_ids) == ["done"] * 3, f"cut {cut + 1}"
        assert time.monotonic() - cut_at < RECONNECTED_WITHIN_S
        [backend_after] = engine_backends(db, process.name)
        assert backend_after != backend_before
        # The jobs ran after the NOTIFY was lost; let the dispatcher idle before the next cut.
        wait_until(lambda: idle_for(db, process.name, 0.3), 5, "the dispatcher is not idle")
    assert process.is_alive()


# -- waking up ---------------------------------------------------------------------------

IDLE_CONFIG = DispatcherConfig(max_threads=1, recovery_interval_s=30.0)
"""Left alone, this dispatcher would sleep 30 s between two looks at the queue."""


def test_an_idle_dispatcher_starts_a_new_job_at_once(db, dispatchers):
    process = dispatchers.start(IDLE_CONFIG)
    wait_until(lambda: idle_for(db, process.name, 0.5), 5, "the dispatcher is not idle")

    job_id = enqueue(db, "work_briefly", 0)
    wait_settled(db, [job_id])

    state, waited_s = job_row(
        db, job_id, "state", "extract(epoch FROM date_started - date_created)"
    )
    assert state == "done"
    assert waited_s < 1.0


def test_an_idle_dispatcher_starts_a_job_when_its_eta_is_reached_not_before(db, dispatchers):
    process = dispatchers.start(IDLE_CONFIG)
    wait_until(lambda: idle_for(db, process.name, 0.5), 5, "the dispatcher is not idle")

    with db.cursor() as cursor:
        cursor.execute("SELECT (now() AT TIME ZONE 'UTC') + interval '1.5 seconds'")
        (eta,) = cursor.fetchone()
    job_id = enqueue(db, "work_briefly", 0, eta=eta)
    wait_settled(db, [job_id])

    state, late_s = job_row(db, job_id, "state", "extract(epoch FROM date_started - eta)")
    assert state == "done"
    assert 0 <= late_s < 1.0


# -- timeouts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_retries", "state", "message"),
    [
        (3, "pending", "job ran past its timeout of 1 s"),
        (1, "failed", "Max. retries (1) reached: job ran past its timeout of 1 s"),
    ],
    ids=["attempts left: retried", "last attempt: failed"],
)
@pytest.mark.parametrize(
    "method_name", ["sleep_in_sql", "nap_in_python"], ids=["blocked in SQL", "busy in Python"]
)
def test_a_job_past_its_timeout_is_interrupted_and_its_worker_runs_the_next_job(
    db, dispatchers, method_name, max_retries, state, message
):
    process = dispatchers.start(DispatcherConfig(max_threads=1))
    slow = enqueue(db, method_name, 30, timeout=1, max_retries=max_retries)
    following = enqueue(db, "work_briefly", 0)

    wait_settled(db, [following])  # it runs once the slow job is settled

    job_state, retry, exc_name, exc_message, exec_time, retry_later = job_row(
        db,
        slow,
        "state",
        "retry",
        "exc_name",
        "exc_message",
        "exec_time",
        "eta > (now() AT TIME ZONE 'UTC')",
    )
    assert (job_state, retry, exc_message) == (state, 1, message)
    assert "JobTimeoutError" in exc_name
    assert 1 <= exec_time < 5  # interrupted, not waited for
    assert retry_later or state == "failed"
    assert executions(db, slow) == 0  # its writes rolled back
    assert job_row(db, following, "state", "retry") == ("done", 1)
    assert executions(db, following) == 1
    the_one_worker = (process.pid, "job_worker-0")
    assert attempts(db, slow) + attempts(db, following) == [the_one_worker, the_one_worker]


# -- stopping ----------------------------------------------------------------------------


def test_stopping_lets_a_running_job_finish_within_the_grace_period(db, dispatchers):
    process = dispatchers.start(DispatcherConfig(max_threads=1, shutdown_grace_s=10.0))
    job_id = enqueue(db, "nap_in_python", 1)
    wait_until(lambda: attempts(db, job_id), 10, "the job did not start")

    assert dispatchers.stop(process) == 0

    assert job_row(db, job_id, "state", "retry", "exc_name") == ("done", 1, None)
    assert executions(db, job_id) == 1


@pytest.mark.parametrize(
    "method_name", ["sleep_in_sql", "nap_in_python"], ids=["blocked in SQL", "busy in Python"]
)
def test_stopping_gives_back_a_job_running_past_the_grace_period_uncounted(
    db, dispatchers, method_name
):
    process = dispatchers.start(DispatcherConfig(max_threads=1, shutdown_grace_s=0.5))
    job_id = enqueue(db, method_name, 30, retry=2, max_retries=5)
    wait_until(lambda: attempts(db, job_id), 10, "the job did not start")
    assert job_row(db, job_id, "state", "retry") == ("started", 3)

    stopping = time.monotonic()
    assert dispatchers.stop(process) == 0

    assert time.monotonic() - stopping < 5
    state, retry, owner, exc_name, due_now = job_row(
        db,
        job_id,
        "state",
        "retry",
        "owner",
        "exc_name",
        "eta <= (now() AT TIME ZONE 'UTC') + interval '5 seconds'",  # not delayed like a retry
    )
    assert (state, retry, owner, due_now) == ("pending", 2, None, True)
    assert "JobInterruptedError" in exc_name
    assert started_jobs(db) == 0
    assert executions(db, job_id) == 0


# -- bad input ---------------------------------------------------------------------------


def test_jobs_that_cannot_run_are_failed_with_a_clear_reason_and_the_queue_moves_on(
    db, dispatchers
):
    process = dispatchers.start(DispatcherConfig(max_threads=1))
    unprintable = enqueue(db, "raise_unprintable")
    corrupt = enqueue(db, "work_briefly", args="{not json")
    unknown = enqueue(db, "no_such_function")
    following = [enqueue(db, "work_briefly", 0) for _ in range(3)]

    wait_settled(db, [unprintable, corrupt, unknown, *following])

    columns = ("state", "exc_name", "exc_message")
    assert job_row(db, unprintable, *columns) == (
        "failed",
        "dispatcher_processes.UnprintableError",
        "UnprintableError()",
    )
    state, exc_name, exc_message = job_row(db, corrupt, *columns)
    assert (state, exc_name) == ("failed", "job_worker.engine.errors.CorruptJobDataError")
    assert exc_message.startswith(f"the stored args of job {corrupt} cannot be decoded: ")
    assert job_row(db, unknown, *columns) == (
        "failed",
        "LookupError",
        "no job function named 'no_such_function'",
    )
    assert job_states(db, following) == ["done"] * 3
    assert attempts(db, unprintable) == [(process.pid, "job_worker-0")]
    assert process.is_alive()
