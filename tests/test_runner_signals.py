"""The runner's threads never take the signals their host process handles.

Odoo's prefork worker stops when its main thread handles SIGINT; a process-directed
signal may be handed by the kernel to any thread that does not block it, and then the
main thread, waiting in a join, never runs the handler: the worker would not stop. So
the runner's thread, and every thread it starts in turn, block those signals.
"""

import signal
import threading

import engine_import  # noqa: F401  (before anything from job_worker)
from dispatcher_processes import wait_until

from job_worker.engine.candidate import CandidateStatus, Role
from job_worker.engine.runner import CandidateRunner
from job_worker.engine.threads import PROCESS_SIGNALS


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
