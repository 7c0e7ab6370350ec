"""The engine's event stream: what happened to jobs and leaders, in order, to subscribers.

Jobs run through real dispatchers on PostgreSQL; a killed processor is a child process
SIGKILLed; the election is two real candidates of this process. A raising subscriber is
logged and never disturbs the jobs, nor the other subscribers.
"""

import contextlib
import logging
import os
import threading

import pytest
from dispatcher_processes import attempts
from psycopg_job_transaction import psycopg_transaction_factory
from support import insert_job, wait_until

from job_worker.engine import candidate, claim, codec, events, execution, housekeeping, timeouts
from job_worker.engine.candidate import Candidate
from job_worker.engine.connection import connect_engine, engine_application_name
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.election import joining_name
from job_worker.engine.errors import RetryableJobError
from job_worker.engine.events import (
    CandidateJoined,
    CandidateRoleChanged,
    EventStream,
    JobClaimed,
    JobRecovered,
    JobRetried,
    JobSettled,
    JobStarted,
    LeaderElected,
    LeaderSteppedDown,
    SettledOutcome,
    engine_events,
)
from job_worker.engine.operator_log import log_for_operators

EVENT_TIMEOUT_S = 10.0
"""How long a test waits for an event it expects."""


class Recorder:
    """A subscriber that keeps every event (appending to a list is thread-safe)."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of_job(self, job_id):
        return [event for event in self.events if getattr(event, "job_id", None) == job_id]

    def wait_for(self, predicate, message):
        return wait_until(
            lambda: next((event for event in self.events if predicate(event)), None),
            EVENT_TIMEOUT_S,
            message,
        )

    def wait_settled(self, job_id, outcome=None):
        return self.wait_for(
            lambda event: isinstance(event, JobSettled)
            and event.job_id == job_id
            and (outcome is None or event.outcome is outcome),
            f"job {job_id} did not settle {outcome or ''}",
        )


@pytest.fixture
def recorder():
    assert not engine_events.has_subscribers, "a subscriber of an earlier test is left"
    recorder = Recorder()
    engine_events.subscribe(recorder)
    yield recorder
    engine_events.unsubscribe(recorder)


@contextlib.contextmanager
def running_dispatcher(database, job_functions, **config):
    """A dispatcher of this process on a thread of its own, stopped when the block ends."""
    name = engine_application_name("test-events")
    dispatcher = Dispatcher(
        lambda: connect_engine({"dbname": database}, name),
        psycopg_transaction_factory(database, job_functions),
        DispatcherConfig(**{"max_threads": 1, **config}),
    )
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield name
    finally:
        dispatcher.stop()
        thread.join(timeout=15)


def enqueue(db, method_name, *args, **values):
    with db.cursor() as cursor:
        return insert_job(cursor, method_name=method_name, args=codec.dumps(list(args)), **values)


def job_state(db, job_id):
    with db.cursor() as cursor:
        cursor.execute("SELECT state, retry FROM queue_job WHERE id = %s", [job_id])
        return cursor.fetchone()


def kinds(events_of_job):
    return [type(event) for event in events_of_job]


# -- jobs --------------------------------------------------------------------------------


def test_a_done_job_is_claimed_started_then_settled_done_with_its_timings(database, db, recorder):
    with running_dispatcher(database, {"run": lambda cursor: None}) as owner:
        job_id = enqueue(db, "run")
        recorder.wait_settled(job_id)

    claimed, started, settled = recorder.of_job(job_id)
    assert kinds([claimed, started, settled]) == [JobClaimed, JobStarted, JobSettled]
    assert (claimed.owner, claimed.attempt, claimed.database) == (owner, 1, database)
    assert claimed.waited_s >= 0
    assert (started.owner, started.attempt, started.func_name) == (owner, 1, "test.model.run")
    assert (settled.outcome, settled.attempt, settled.reason) == (SettledOutcome.DONE, 1, None)
    assert settled.run_s > 0 and settled.waited_s == claimed.waited_s
    assert job_state(db, job_id) == ("done", 1)


def test_a_failing_job_settles_failed_with_its_exception_and_the_operator_log_warns(
    database, db, recorder, caplog
):
    def fail(cursor):
        raise ValueError("no such customer")

    engine_events.subscribe(log_for_operators)
    try:
        with caplog.at_level(logging.WARNING), running_dispatcher(database, {"fail": fail}):
            job_id = enqueue(db, "fail")
            recorder.wait_settled(job_id)
    finally:
        engine_events.unsubscribe(log_for_operators)

    assert kinds(recorder.of_job(job_id)) == [JobClaimed, JobStarted, JobSettled]
    settled = recorder.of_job(job_id)[-1]
    assert (settled.outcome, settled.reason) == (
        SettledOutcome.FAILED,
        "ValueError: no such customer",
    )
    assert job_state(db, job_id) == ("failed", 1)
    [warning] = [record for record in caplog.records if "failed for good" in record.message]
    assert warning.name == "job_worker.engine.execution"
    assert "attempt 1: ValueError: no such customer" in warning.message


def test_a_retried_job_reports_its_retry_then_runs_again_as_a_new_attempt(database, db, recorder):
    calls = []

    def flaky(cursor):
        calls.append(1)
        if len(calls) == 1:
            raise RetryableJobError("the bank is busy", seconds=0)

    with running_dispatcher(database, {"flaky": flaky}):
        job_id = enqueue(db, "flaky", max_retries=5)
        recorder.wait_settled(job_id, SettledOutcome.DONE)

    job_events = recorder.of_job(job_id)
    assert kinds(job_events) == [
        JobClaimed,
        JobStarted,
        JobRetried,
        JobSettled,
        JobClaimed,
        JobStarted,
        JobSettled,
    ]
    retried, first, second = job_events[2], job_events[3], job_events[6]
    assert (retried.attempt, retried.delay_s, retried.attempt_spent) == (1, 0.0, True)
    assert retried.reason == "job_worker.engine.errors.RetryableJobError: the bank is busy"
    assert (first.outcome, first.attempt) == (SettledOutcome.RETRIED, 1)
    assert (second.outcome, second.attempt) == (SettledOutcome.DONE, 2)
    assert job_state(db, job_id) == ("done", 2)


def test_a_job_of_a_killed_processor_is_reported_recovered_then_runs_again(
    database, db, dispatchers, recorder
):
    process = dispatchers.start(DispatcherConfig(max_threads=1))
    job_id = enqueue(db, "nap", 30, max_retries=5)
    wait_until(lambda: attempts(db, job_id), 10, "the job did not start in the child")
    dispatchers.crash(process)

    with running_dispatcher(
        database, {"nap": lambda cursor, seconds: None}, orphan_grace_s=0.5
    ) as recoverer:
        recorder.wait_settled(job_id)

    job_events = recorder.of_job(job_id)
    assert kinds(job_events) == [JobRecovered, JobClaimed, JobStarted, JobSettled]
    recovered, claimed, settled = job_events[0], job_events[1], job_events[3]
    assert (recovered.state, recovered.attempt, recovered.by) == ("pending", 1, recoverer)
    assert (claimed.attempt, claimed.owner) == (2, recoverer)
    assert (settled.outcome, settled.attempt) == (SettledOutcome.DONE, 2)
    assert job_state(db, job_id) == ("done", 2)


def test_a_raising_subscriber_is_logged_and_disturbs_neither_jobs_nor_other_subscribers(
    database, db, caplog
):
    def broken(event):
        raise RuntimeError("a monitor bug")

    recorder = Recorder()
    engine_events.subscribe(broken)
    engine_events.subscribe(recorder)
    try:
        with caplog.at_level(logging.ERROR), running_dispatcher(database, {"run": lambda c: None}):
            job_ids = [enqueue(db, "run") for _ in range(3)]
            for job_id in job_ids:
                recorder.wait_settled(job_id)
    finally:
        engine_events.unsubscribe(broken)
        engine_events.unsubscribe(recorder)

    assert [job_state(db, job_id) for job_id in job_ids] == [("done", 1)] * 3
    for job_id in job_ids:
        assert kinds(recorder.of_job(job_id)) == [JobClaimed, JobStarted, JobSettled]
    failures = [record for record in caplog.records if "subscriber" in record.message]
    assert len(failures) == 9  # three events of three jobs, each logged
    assert all(record.exc_info[0] is RuntimeError for record in failures)


def test_with_no_subscriber_the_engine_builds_no_event(database, db, monkeypatch):
    assert not engine_events.has_subscribers

    def refuse(*args, **kwargs):
        raise AssertionError("an event was built while no one listens")

    event_classes = [
        name for name, value in vars(events).items() if hasattr(value, "__dataclass_fields__")
    ]
    # Wherever the engine builds an event, building it now fails the job's processing.
    for module in (claim, execution, timeouts, candidate, housekeeping, events):
        for name in event_classes:
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)
    with running_dispatcher(database, {"run": lambda cursor: None}):
        job_id = enqueue(db, "run")
        wait_until(lambda: job_state(db, job_id) == ("done", 1), EVENT_TIMEOUT_S, "not done")


# -- the election ------------------------------------------------------------------------


@contextlib.contextmanager
def running_candidate(database):
    """A candidate of this process for ``database``, leading with a real dispatcher."""

    def make_dispatcher(may_claim):
        owner = engine_application_name("test-leader")
        return Dispatcher(
            lambda: connect_engine({"dbname": database}, owner),
            psycopg_transaction_factory(database, {}),
            DispatcherConfig(max_threads=1, shutdown_grace_s=1.0),
            may_claim=may_claim,
        )

    standing = Candidate(
        database,
        connect=lambda: connect_engine({"dbname": database}, joining_name(os.getpid())),
        make_dispatcher=make_dispatcher,
        check_interval_s=0.2,
    )
    thread = threading.Thread(target=standing.run, daemon=True)
    thread.start()
    try:
        yield standing
    finally:
        standing.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()


def election_events(recorder, name):
    """The candidate ``name``'s election events, in order."""
    kinds_of_election = (CandidateJoined, CandidateRoleChanged, LeaderElected, LeaderSteppedDown)
    return [
        event
        for event in recorder.events
        if isinstance(event, kinds_of_election) and event.name == name
    ]


def role_changes(recorder, name):
    return [
        event.role
        for event in recorder.events
        if isinstance(event, CandidateRoleChanged) and event.name == name
    ]


def test_a_leader_stepping_down_hands_over_and_the_follower_reports_being_elected(
    database, recorder
):
    def joined(recorder):
        return recorder.wait_for(
            lambda event: isinstance(event, CandidateJoined) and event.name not in seen_names,
            "no candidate joined",
        ).name

    seen_names = set()
    with running_candidate(database) as first_candidate:
        first = joined(recorder)
        seen_names.add(first)
        recorder.wait_for(
            lambda event: isinstance(event, LeaderElected) and event.name == first,
            "the first candidate was not elected",
        )
        with running_candidate(database):
            second = joined(recorder)
            wait_until(
                lambda: "follower" in role_changes(recorder, second),
                EVENT_TIMEOUT_S,
                "the second candidate does not follow",
            )
            first_candidate.stop()
            recorder.wait_for(
                lambda event: isinstance(event, LeaderElected) and event.name == second,
                "the second candidate was not elected once the first stepped down",
            )

    first_events = election_events(recorder, first)
    assert [type(event) for event in first_events] == [
        CandidateJoined,
        LeaderElected,
        CandidateRoleChanged,  # leader
        LeaderSteppedDown,
        CandidateRoleChanged,  # stopped
    ]
    assert [event.role for event in first_events if isinstance(event, CandidateRoleChanged)] == [
        "leader",
        "stopped",
    ]
    stepped_down = first_events[3]
    assert (stepped_down.database, stepped_down.handed_over) == (database, True)
    assert role_changes(recorder, second)[-1] == "stopped"
    leadership = (LeaderElected, LeaderSteppedDown)
    second_leadership = [
        type(event) for event in election_events(recorder, second) if type(event) in leadership
    ]
    assert second_leadership == [LeaderElected, LeaderSteppedDown]


# -- the stream itself -------------------------------------------------------------------


def test_a_subscriber_is_called_once_however_often_subscribed_and_not_after_unsubscribing():
    stream = EventStream()
    seen = []
    event = CandidateJoined(database="db", name="n")

    stream.subscribe(seen.append)
    stream.subscribe(seen.append)
    stream.emit(event)
    stream.unsubscribe(seen.append)
    stream.emit(event)
    stream.unsubscribe(seen.append)  # not subscribed any more: nothing happens

    assert seen == [event]
    assert not stream.has_subscribers


def test_subscribers_come_and_go_from_many_threads_while_events_flow():
    stream = EventStream()
    counts = [0] * 8
    stop = threading.Event()
    event = CandidateJoined(database="db", name="n")

    def churn(index):
        def count(event):
            counts[index] += 1

        while not stop.is_set():
            stream.subscribe(count)
            stream.emit(event)
            stream.unsubscribe(count)

    threads = [threading.Thread(target=churn, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    stop.wait(0.5)
    stop.set()
    for thread in threads:
        thread.join()

    assert not stream.has_subscribers
    assert all(count > 0 for count in counts)
