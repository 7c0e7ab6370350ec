"""Candidate runners in child processes of their own, for the election tests.

A child does what an Odoo HTTP worker does at start, without Odoo: it parses the runner
configuration from its environment, decides whether it is active from the server
options it was given (a cron worker's signature keeps it inactive), then runs the
runner of :mod:`job_worker.engine.process_runner` on its databases until SIGTERM (a
graceful stop) or SIGKILL (a crash). Leaders run the jobs of
:mod:`dispatcher_processes`, so what jobs did can be checked the same way.

Every child reports what it decides and each change of role of its candidates (the
engine's ``CandidateRoleChanged`` events) through a queue, stamped with the wall clock
(all children share the test's host): the test reads them as :class:`Event` values.
"""

import contextlib
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass

import engine_import  # noqa: F401  (before anything from job_worker)
import psycopg2
from dispatcher_processes import dispatcher_transaction_factory, open_attempt_log
from support import START_TIMEOUT_S, ChildProcesses, wait_until

from job_worker.engine.activation import decide_activation
from job_worker.engine.election import CANDIDATE_PREFIX
from job_worker.engine.events import CandidateRoleChanged, engine_events
from job_worker.engine.process_runner import build_process_runner
from job_worker.engine.runner_config import parse_runner_config

HTTP_WORKER_OPTIONS = {"max_cron_threads": 2, "limit_time_real_cron": -1, "limit_time_real": 120}
"""Odoo's defaults: an ordinary HTTP worker."""
CRON_WORKER_OPTIONS = {"max_cron_threads": 0, "limit_time_real_cron": 0, "limit_time_real": 0}
"""What Odoo.sh starts its cron worker with."""


@dataclass(frozen=True)
class Event:
    """Something a child reported: ``kind`` is ``config``, ``activation``, ``status`` or
    ``stopped``; ``dbname``, ``role``, ``leader`` and ``detail`` as the kind has them."""

    kind: str
    pid: int
    at: float
    dbname: str | None = None
    role: str | None = None
    leader: str | None = None
    detail: str | None = None


# -- the child process -------------------------------------------------------------------


def run_candidate_process(databases, server_options, environment, events):
    """The child's main: decide, then run a candidate runner until SIGTERM."""
    os.environ.update(environment)
    pid = os.getpid()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    config, problems = parse_runner_config({}, os.environ)
    for problem in problems:
        events.put(Event("config", pid, time.time(), detail=problem))
    activation = decide_activation(config.runner, server_options)
    events.put(
        Event("activation", pid, time.time(), role=str(activation.active), detail=activation.reason)
    )
    if activation.active:
        open_attempt_log(databases[0])

        def report_role(event):
            if isinstance(event, CandidateRoleChanged):
                events.put(
                    Event(
                        "status",
                        pid,
                        time.time(),
                        dbname=event.database,
                        role=event.role,
                        leader=event.leader,
                        detail=event.reason,
                    )
                )

        engine_events.subscribe(report_role)
        runner = build_process_runner(
            config,
            list_databases=lambda: databases,
            connection_params=lambda dbname: {"dbname": dbname},
            transaction_factory=dispatcher_transaction_factory,
        )
        runner.start()
        stop.wait()
        runner.stop(timeout_s=config.shutdown_grace + 5.0)
    else:
        stop.wait()
    events.put(Event("stopped", pid, time.time()))


# -- the test's side ---------------------------------------------------------------------


class CandidateProcesses(ChildProcesses):
    """The candidate children of one test, and everything they reported.

    :meth:`close` kills every child still alive and ends its server connections.
    """

    def __init__(self, db):
        super().__init__()
        self.db = db
        self._queue = self._spawn.Queue()
        self.events: list[Event] = []

    def start(self, databases, server_options=None, environment=None, wait=True):
        """Start a child serving ``databases``; return it. ``wait``: return once it has
        taken its election name in every database (or decided to stay inactive)."""
        process = self._spawn.Process(
            target=run_candidate_process,
            args=(
                list(databases),
                server_options or HTTP_WORKER_OPTIONS,
                environment or {},
                self._queue,
            ),
            daemon=True,
        )
        process.start()
        self.processes.append(process)
        if wait:
            wait_until(
                lambda: self._has_settled(process.pid, databases) or not process.is_alive(),
                START_TIMEOUT_S,
                f"candidate {process.pid} did not join",
            )
            assert process.is_alive(), f"candidate {process.pid} exited with {process.exitcode}"
        return process

    def _has_settled(self, pid, databases):
        self.collect()
        activation = [event for event in self.events if event.kind == "activation"]
        if any(event.pid == pid and event.role == "False" for event in activation):
            return True
        joined = {
            event.dbname
            for event in self.events
            if event.pid == pid and event.kind == "status" and event.role in ("leader", "follower")
        }
        return joined >= set(databases)

    def collect(self):
        """Move what children reported so far into :attr:`events`; return them."""
        while True:
            try:
                self.events.append(self._queue.get_nowait())
            except queue.Empty:
                return self.events

    def roles(self, dbname):
        """``{pid: role}``: each live child's latest reported role for ``dbname``."""
        self.collect()
        alive = {process.pid for process in self.processes if process.is_alive()}
        latest = {}
        for event in self.events:
            if event.kind == "status" and event.dbname == dbname and event.pid in alive:
                latest[event.pid] = event.role
        return latest

    def leaders(self, dbname):
        """Pids of the live children that report leading ``dbname``."""
        return [pid for pid, role in self.roles(dbname).items() if role == "leader"]

    def wait_for_single_leader(self, dbname, excluding=(), timeout_s=10.0):
        """Wait until exactly one live child (not among ``excluding``) leads ``dbname``
        and every other live candidate follows; return the leader's pid."""

        def single_leader():
            roles = self.roles(dbname)
            leaders = [pid for pid, role in roles.items() if role == "leader"]
            followers = [pid for pid, role in roles.items() if role == "follower"]
            settled = len(leaders) + len(followers) == len(roles)
            if len(leaders) == 1 and leaders[0] not in excluding and settled:
                return leaders[0]
            return None

        return wait_until(single_leader, timeout_s, f"no single leader of {dbname}")

    def became_leader_at(self, pid, dbname, after):
        """When ``pid`` reported leading ``dbname`` after the wall-clock time ``after``."""
        self.collect()
        for event in self.events:
            if (event.kind, event.pid, event.dbname, event.role) == (
                "status",
                pid,
                dbname,
                "leader",
            ) and event.at >= after:
                return event.at
        return None

    def close(self):
        """Kill every child still alive, and end its server connections."""
        self.kill_all()
        self._queue.close()
        pids = [process.pid for process in self.processes]
        with contextlib.suppress(psycopg2.Error), self.db.cursor() as cursor:
            # Server processes of killed children outlive them while a statement runs.
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND starts_with(application_name, 'job_worker:')"
                " AND split_part(application_name, ':', -1) = ANY(%s)",
                [[str(pid) for pid in pids]],
            )


def candidate_connections(db, dbname=None):
    """``[(application_name, datname)]`` of every candidate connection on the server
    (or of ``dbname``), in election order."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT application_name, datname FROM pg_stat_activity "
            "WHERE starts_with(application_name, %s) AND (%s::text IS NULL OR datname = %s) "
            'ORDER BY application_name COLLATE "C"',
            [CANDIDATE_PREFIX, dbname, dbname],
        )
        return cursor.fetchall()


def connections_of(db, pid):
    """Application names of every connection on the server whose name ends with ``:pid``."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT application_name FROM pg_stat_activity "
            "WHERE split_part(application_name, ':', -1) = %s",
            [str(pid)],
        )
        return [name for (name,) in cursor.fetchall()]
