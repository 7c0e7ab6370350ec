"""The engine's threads never take the signals their host process handles.

Odoo's prefork worker stops when its main thread handles SIGINT; a process-directed
signal may be handed by the kernel to any thread that does not block it, and then the
main thread, waiting in a join, never runs the handler: the worker would not stop. So
every thread the engine starts (the runner's, candidates', dispatchers' and their
workers', the watchdog's, even when first used from a request's thread) blocks them.
"""

import signal
import threading

import engine_import  # noqa: F401  (before anything from job_worker)
from psycopg_job_transaction import psycopg_transaction_factory
from support import insert_job, wait_until

from job_worker.engine.candidate import CandidateStatus, Role
from job_worker.engine.claim import ClaimedJob
from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.runner import CandidateRunner
from job_worker.engine.threads import PROCESS_SIGNALS, start_engine_thread
from job_worker.engine.timeouts import ExecutionWatchdog


def blocked_signals(native_id):
    """The signals the thread ``native_id`` of this process blocks, read from /proc."""
    with open(f"/proc/self/task/{native_id}/status") as status:
        mask = next(line for line in status if line.startswith("SigBlk:")).split()[1]
    bits = int(mask, 16)
    return {sig for sig in signal.Signals if bits & (1 << (sig - 1))}


class RecordingCandidate:
    """Stands in a candidate's thread: notes which thread it runs on, waits to stop."""

    def __init__(self, dbname, seen):
        self.dbname = dbname
        self._seen = seen
        self._stop = threading.Event()

    def run(self):
        self._seen.append(threading.get_native_id())
        self._stop.wait()

    def stop(self):
        self._stop.set()

    @property
    def status(self):
        return CandidateStatus(self.dbname, Role.FOLLOWER, "recording")


def test_the_runner_and_the_threads_it_starts_block_the_process_signals():
    seen = []

    def make_candidate(dbname):
        seen.append(threading.get_native_id())  # called on the runner's own thread
        return RecordingCandidate(dbname, seen)

    runner = CandidateRunner(list_databases=lambda: ["one", "two"], make_candidate=make_candidate)
    runner.start()
    try:
        wait_until(lambda: len(seen) == 4, 5, "the candidates did not start")
        for native_id in seen:  # the runner's thread, then each candidate's
            assert blocked_signals(native_id) >= PROCESS_SIGNALS
        assert not PROCESS_SIGNALS & blocked_signals(threading.get_native_id())
    finally:
        runner.stop(timeout_s=5)


def engine_threads_named(prefix):
    """``{name: native_id}`` of this process's live threads whose name starts with ``prefix``."""
    return {
        thread.name: thread.native_id
        for thread in threading.enumerate()
        if thread.name.startswith(prefix)
    }


def test_a_dispatcher_run_from_an_unmasked_thread_still_masks_its_workers_and_watchdog(
    database, db
):
    ran_on = []

    def note(cursor):
        ran_on.append(threading.get_native_id())

    dispatcher = Dispatcher(
        lambda: connect_engine({"dbname": database}, "job_worker:test-signals"),
        psycopg_transaction_factory(database, {"note": note}),
        DispatcherConfig(max_threads=2),
    )
    # A plain thread, as a test or a dedicated worker process might start it.
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        with db.cursor() as cursor:
            insert_job(cursor, method_name="note")
        wait_until(lambda: ran_on, 10, "the job did not run")
        workers = engine_threads_named("job_worker-")
        masks = {name: blocked_signals(native_id) for name, native_id in workers.items()}
        starter_mask = blocked_signals(thread.native_id)
    finally:
        dispatcher.stop()
        thread.join(timeout=15)

    assert {"job_worker-0", "job_worker-1", "job_worker-watchdog"} <= masks.keys()
    for name, mask in masks.items():
        assert mask >= PROCESS_SIGNALS, name
    assert ran_on[0] in workers.values()  # the job ran on one of those masked workers
    assert not PROCESS_SIGNALS & starter_mask


def test_a_watchdog_first_used_by_a_request_thread_runs_masked():
    # What a request does (Process now, Run now, the process endpoint): it watches its
    # jobs itself, so the watchdog's thread is started from the request's thread.
    watchdog = ExecutionWatchdog(cancel_backend=lambda pid: None, default_timeout_s=60)
    job = ClaimedJob(1, "u", "m", "f", None, None, None, None, None, "root", 1, 5, "o")
    try:
        with watchdog.watch(job, transaction=None):
            native_id = watchdog_thread().native_id
            assert blocked_signals(native_id) >= PROCESS_SIGNALS
        assert not PROCESS_SIGNALS & blocked_signals(threading.get_native_id())
    finally:
        watchdog.close()


def watchdog_thread():
    [thread] = [thread for thread in threading.enumerate() if thread.name == "job_worker-watchdog"]
    return thread


def test_start_engine_thread_masks_the_thread_and_leaves_the_caller_as_it_was():
    seen = []
    thread = start_engine_thread(
        lambda: seen.append(blocked_signals(threading.get_native_id())), "t"
    )
    thread.join(timeout=5)

    assert thread.daemon
    assert seen and seen[0] >= PROCESS_SIGNALS
    assert not PROCESS_SIGNALS & blocked_signals(threading.get_native_id())
