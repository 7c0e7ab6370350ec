"""Benchmark of the job_worker engine on a local PostgreSQL.

Throughput of the whole execution protocol against a raw-SQL baseline, wake-up latency
of an idle dispatcher, the claim's cost with a million pending jobs, and how long a job
of a SIGKILLed processor takes to come back. Run from the project root:

    .venv/bin/python bench/engine.py

It creates its own database (``job_worker_bench_<random>``, libpq environment for the
rest) and drops it at the end, even on failure. See bench/README.md for what each
figure means. The last line printed is ``key=value`` pairs, for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import platform
import random
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2
import psycopg2.extensions
from driver import TransactionFactory, noop
from project_version import project_version
from statement_profile import PROFILE, ProfiledConnection

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.events import engine_events
from job_worker.engine.execution import JobResult
from job_worker.engine.schema import install_schema
from job_worker.engine.sql import load_query

BENCH_DIR = Path(__file__).resolve().parent
ADMIN_DATABASE = os.environ.get("JOB_WORKER_BENCH_ADMIN_DB", "postgres")
CAPACITY = 4
"""The root channel's capacity and the dispatcher's max_threads in every test."""
SMALL_BACKLOG = 20_000
"""The claim is also timed with this many pending jobs (the drains' backlog)."""
LOST_WAKEUP_S = 5.0
"""A wake-up sample whose job has not started this long after the last one is lost."""
WAIT_TIMEOUT_S = 300.0
"""Longest wait for anything (a drain, a wake-up, a recovery) before the bench fails."""

TARGETS = {
    "ratio": (">=", 0.5),
    "wake_p99_ms": ("<=", 20.0),
    "claim_ms_1m": ("<=", 5.0),
    "recovery_s": ("<=", 5.0),
}

# The raw baseline: what any queue on PostgreSQL must do per job, and nothing more. The
# claim sets the same columns as the engine's claim; "done" is committed separately.
RAW_CLAIM = """
UPDATE queue_job
SET state = 'started',
    owner = current_setting('application_name'),
    retry = retry + 1,
    date_started = (clock_timestamp() AT TIME ZONE 'UTC'),
    heartbeat = (clock_timestamp() AT TIME ZONE 'UTC')
WHERE id = (
    SELECT id FROM queue_job
    WHERE state = 'pending'
    ORDER BY priority, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""
RAW_INDEX = "bench_raw_claim_index"
"""The index the raw claim needs (ORDER BY priority, id), present only while it runs."""
RAW_DONE = """
UPDATE queue_job
SET state = 'done', date_done = (clock_timestamp() AT TIME ZONE 'UTC')
WHERE id = %(job_id)s
"""

_started = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


def connect(dbname: str, **params):
    """A psycopg2 connection to ``dbname`` (libpq environment for the rest)."""
    return psycopg2.connect(dbname=dbname, **params)


def percentile(values, fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of them at or below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[rank - 1]


@dataclass
class Drain:
    jobs: int
    elapsed_s: float
    connections: int = 0
    profile: list = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.jobs / self.elapsed_s


@dataclass
class Wake:
    """perf_counter() after each sample's commit, and when its job started (None: not
    :data:`LOST_WAKEUP_S` after the last commit), in the order of the samples."""

    commits: list
    starts: list

    def latencies_ms(self) -> list[float]:
        """Commit-to-start latencies; a lost wake-up counts as an infinite one."""
        return [
            math.inf if start is None else (start - commit) * 1000
            for commit, start in zip(self.commits, self.starts, strict=True)
        ]

    def lost(self) -> int:
        return sum(start is None for start in self.starts)

    def started_after_next_commit(self) -> int:
        """Samples whose job started only once the next sample was committed: the next
        notification woke the dispatcher, not their own."""
        return sum(
            start is not None and start > next_commit
            for start, next_commit in zip(self.starts, self.commits[1:], strict=False)
        )


@dataclass
class ClaimSeries:
    """Timings (ms) of claims with ``pending`` jobs, under one JIT setting."""

    pending: int
    jit: str
    timings_ms: list
    explain: list
    split: list

    @property
    def median_ms(self) -> float:
        return statistics.median(self.timings_ms)


@dataclass
class ClaimCost:
    rows: int
    insert_s: float
    series: list = field(default_factory=list)
    raw: ClaimSeries | None = None

    def find(self, pending: int, jit: str | None = None, extra: bool = False):
        """The first series at ``pending`` (the database's JIT setting), or the extra
        ``SET jit`` series after it; None if there is none."""
        candidates = [series for series in self.series if series.pending == pending]
        if extra:
            candidates = candidates[1:]
        for series in candidates:
            if jit is None or series.jit == jit:
                return series
        return None


class Bench:
    def __init__(self, dbname: str, args):
        self.dbname = dbname
        self.args = args
        self.admin = connect(dbname, application_name="job_worker:bench-admin")
        self.admin.autocommit = True
        self._dispatchers = 0
        self._dispatcher_thread: threading.Thread | None = None
        self.children: list[subprocess.Popen] = []

    # -- helpers -----------------------------------------------------------------------

    def rows(self, query, params=None):
        with self.admin.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def value(self, query, params=None):
        return self.rows(query, params)[0][0]

    def reset_queue(self) -> None:
        """An empty queue, only the root channel, capacity :data:`CAPACITY`."""
        self.rows(
            "TRUNCATE queue_job, queue_job_dependency_rel, queue_job_channel_start"
            " RESTART IDENTITY CASCADE"
        )
        self.rows("DELETE FROM queue_job_channel WHERE parent_id IS NOT NULL")
        self.rows(
            "UPDATE queue_job_channel SET capacity = %s, sequential = NULL, rate_limit = NULL,"
            " rate_period = NULL, paused = NULL WHERE parent_id IS NULL",
            [CAPACITY],
        )

    def insert_jobs(self, count: int, priorities: int = 1) -> None:
        """``count`` pending jobs in one INSERT ... SELECT generate_series, then ANALYZE."""
        self.rows(
            "INSERT INTO queue_job (model_name, method_name, priority)"
            " SELECT 'bench.job', 'noop', 10 + (g %% %(priorities)s)"
            " FROM generate_series(1, %(count)s) AS g",
            {"count": count, "priorities": priorities},
        )
        self.rows("ANALYZE queue_job")

    def insert_one_job(self) -> int:
        return self.value(
            "INSERT INTO queue_job (model_name, method_name) VALUES ('bench.job', 'one')"
            " RETURNING id"
        )

    def count_state(self, state: str) -> int:
        return self.value("SELECT count(*) FROM queue_job WHERE state = %s", [state])

    @contextlib.contextmanager
    def running_dispatcher(self, factory, profiled=False):
        """A Dispatcher (max_threads=CAPACITY, other settings default) in a thread."""
        self._dispatchers += 1
        name = f"job_worker:bench-{os.getpid()}-{self._dispatchers}"
        params = {"dbname": self.dbname}
        if profiled:
            params["connection_factory"] = ProfiledConnection
        dispatcher = Dispatcher(
            lambda: connect_engine(params, name),
            factory,
            DispatcherConfig(max_threads=CAPACITY),
        )
        errors = []

        def run():
            try:
                dispatcher.run()
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=run, name="bench-dispatcher", daemon=True)
        self._dispatcher_thread = thread
        thread.start()
        try:
            yield dispatcher
        finally:
            dispatcher.stop()
            thread.join(timeout=30)
            self._dispatcher_thread = None
            factory.close()
        if errors:
            raise RuntimeError("the dispatcher failed") from errors[0]

    def wait_for(
        self, condition, what, timeout_s: float = WAIT_TIMEOUT_S, poll_s: float = 0.001
    ) -> None:
        """Poll ``condition`` every ``poll_s``; fail if the dispatcher died or time ran out.

        An :class:`threading.Event` is waited on instead (returning as soon as it is set).

        ``what`` (a text, or a function returning one) says what was awaited.
        """
        deadline = time.perf_counter() + timeout_s
        wait = condition.wait if isinstance(condition, threading.Event) else None
        while not (wait(poll_s) if wait else condition()):
            thread = self._dispatcher_thread
            if thread is not None and not thread.is_alive():
                what = what() if callable(what) else what
                raise RuntimeError(f"the dispatcher stopped while waiting for {what}")
            if time.perf_counter() > deadline:
                what = what() if callable(what) else what
                raise TimeoutError(f"gave up waiting for {what} after {timeout_s:.0f}s")
            if not wait:
                time.sleep(poll_s)

    # -- throughput --------------------------------------------------------------------

    def drain_engine(self, jobs: int, reuse: bool = True, profiled: bool = True) -> Drain:
        """Drain ``jobs`` no-op jobs with one Dispatcher, capacity 4, 4 workers."""
        self.reset_queue()
        self.insert_jobs(jobs)
        results = Counter()
        lock = threading.Lock()
        finished = threading.Event()

        def settled(job, result):
            # In the job's settling transaction, just before its commit; the drain's end
            # waits for the dispatcher to stop, so for every commit, before it counts rows.
            with lock:
                results[result] += 1
                if sum(results.values()) >= jobs:
                    finished.set()

        factory = TransactionFactory(
            self.dbname,
            noop,
            reuse=reuse,
            connection_factory=ProfiledConnection if profiled else None,
            settled=settled,
        )
        PROFILE.reset()
        PROFILE.enabled = profiled
        try:
            start = time.perf_counter()
            with self.running_dispatcher(factory, profiled=profiled):
                self.wait_for(
                    finished,
                    lambda: f"{jobs} jobs to be done ({sum(results.values())} were)",
                    self.args.timeout,
                    poll_s=0.05,
                )
                elapsed = time.perf_counter() - start
        finally:
            PROFILE.enabled = False
        done = self.count_state("done")
        if results[JobResult.DONE] != jobs or done != jobs:
            raise RuntimeError(f"engine drain: outcomes {dict(results)}, {done} rows done")
        return Drain(jobs, elapsed, factory.connections_opened, PROFILE.rows())

    def drain_raw(self, jobs: int, threads: int = CAPACITY, profiled: bool = True) -> Drain:
        """Drain ``jobs`` jobs with the raw loop: claim + commit, done + commit.

        The raw claim orders by (priority, id), which none of the engine's indexes
        serves: without an index of its own it sorts the whole backlog at every claim.
        A baseline should be the best simple loop, so it gets that index while it runs.
        """
        self.reset_queue()
        self.rows(f"CREATE INDEX {RAW_INDEX} ON queue_job (priority, id) WHERE state = 'pending'")
        try:
            self.insert_jobs(jobs)
            return self._drain_raw(jobs, threads, profiled)
        finally:
            self.rows(f"DROP INDEX IF EXISTS {RAW_INDEX}")

    def _drain_raw(self, jobs: int, threads: int, profiled: bool) -> Drain:
        ready = threading.Barrier(threads + 1)
        errors = []
        drained = Counter()

        def work(index):
            connection = connect(
                self.dbname,
                application_name=f"job_worker:bench-raw-{index}",
                connection_factory=ProfiledConnection if profiled else None,
            )
            connection.set_session(
                isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED
            )
            try:
                ready.wait()
                with connection.cursor() as cursor:
                    while True:
                        cursor.execute(RAW_CLAIM)
                        row = cursor.fetchone()
                        connection.commit()
                        if row is None:
                            return
                        cursor.execute(RAW_DONE, {"job_id": row[0]})
                        connection.commit()
                        drained[index] += 1
            except BaseException as error:
                errors.append(error)
                ready.abort()
            finally:
                connection.close()

        workers = [
            threading.Thread(target=work, args=(index,), name=f"bench-raw-{index}", daemon=True)
            for index in range(threads)
        ]
        for worker in workers:
            worker.start()
        PROFILE.reset()
        PROFILE.enabled = profiled
        try:
            ready.wait(timeout=self.args.timeout)
            start = time.perf_counter()
            for worker in workers:
                worker.join(timeout=self.args.timeout)
            elapsed = time.perf_counter() - start
        finally:
            PROFILE.enabled = False
        if errors:
            raise RuntimeError("raw drain failed") from errors[0]
        done = self.count_state("done")
        if done != jobs or sum(drained.values()) != jobs:
            raise RuntimeError(f"raw drain: {sum(drained.values())} drained, {done} rows done")
        return Drain(jobs, elapsed, threads, PROFILE.rows())

    # -- wake-up latency ---------------------------------------------------------------

    def wake_latency(self, samples: int, spacing_s: float) -> Wake:
        """Commit and start times of single jobs enqueued on an idle queue, in order."""
        self.reset_queue()
        starts: dict[int, float] = {}

        def record_start(job):
            starts[job.id] = time.perf_counter()
            if job.method_name == "warm-up":
                time.sleep(0.05)  # long enough for each worker thread to take one

        factory = TransactionFactory(self.dbname, record_start)
        enqueuer = connect(self.dbname, application_name="job_worker:bench-enqueuer")
        insert = "INSERT INTO queue_job (model_name, method_name) VALUES ('bench.job', 'wake')"
        commits: dict[int, float] = {}
        try:
            with self.running_dispatcher(factory):
                # Warm-up: a job per worker thread, so that their connections are open.
                with enqueuer.cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO queue_job (model_name, method_name)"
                        " SELECT 'bench.job', 'warm-up' FROM generate_series(1, %s)",
                        [CAPACITY],
                    )
                enqueuer.commit()
                self.wait_for(lambda: len(starts) >= CAPACITY, "the warm-up jobs")
                self.wait_for(
                    lambda: self.count_state("done") >= CAPACITY, "warm-up done", poll_s=0.02
                )
                next_at = time.perf_counter()
                for _ in range(samples):
                    next_at += spacing_s
                    time.sleep(max(0.0, next_at - time.perf_counter()))
                    with enqueuer.cursor() as cursor:
                        cursor.execute(insert + " RETURNING id")
                        (job_id,) = cursor.fetchone()
                    enqueuer.commit()
                    commits[job_id] = time.perf_counter()
                # A job not started within LOST_WAKEUP_S of the last commit is counted
                # as lost (None): the dispatcher missed its notification.
                with contextlib.suppress(TimeoutError):
                    self.wait_for(
                        lambda: all(job_id in starts for job_id in commits),
                        "wake-up jobs",
                        LOST_WAKEUP_S,
                    )
        finally:
            enqueuer.close()
        return Wake(
            commits=list(commits.values()),
            starts=[starts.get(job_id) for job_id in commits],
        )

    # -- claim cost --------------------------------------------------------------------

    def claim_cost(self, rows: int, samples: int, jit_samples: int) -> ClaimCost:
        """Timed claim_due_jobs(connection, 1) calls at SMALL_BACKLOG, then ``rows`` pending.

        Each series times ``samples`` claims (the claimed job is then marked done outside
        the timing, so the started count stays under the capacity) and EXPLAINs one more.
        When the database runs without JIT and the server has it, a short series with
        ``SET jit = on`` shows what the server's default would cost. Last, the raw claim
        of the throughput baseline, with its own index, at the same ``rows``.
        """
        self.reset_queue()
        claimer = connect_engine(
            {"dbname": self.dbname, "connection_factory": ProfiledConnection},
            f"job_worker:bench-{os.getpid()}-claim",
        )
        cost = ClaimCost(rows=rows, insert_s=0.0)
        try:
            with claimer.cursor() as cursor:
                cursor.execute("SELECT current_setting('jit') = 'on'")
                (jit_on,) = cursor.fetchone()
                cursor.execute("SET jit = on")  # pg_jit_available() is false under jit = off
                cursor.execute("SELECT pg_jit_available()")
                (jit_available,) = cursor.fetchone()
            claimer.rollback()  # and the SET with it
            pending = 0
            for backlog in (min(SMALL_BACKLOG, rows), rows):
                start = time.perf_counter()
                self.insert_jobs(backlog - pending, priorities=5)
                cost.insert_s += time.perf_counter() - start
                pending = backlog
                progress(f"  {backlog:,} pending rows (inserted and analyzed)")
                cost.series.append(self._claim_series(claimer, backlog, samples, jit=None))
                if jit_available and not jit_on and jit_samples:
                    cost.series.append(self._claim_series(claimer, backlog, jit_samples, jit=True))
            self.rows(
                f"CREATE INDEX {RAW_INDEX} ON queue_job (priority, id) WHERE state = 'pending'"
            )
            try:
                cost.raw = self._claim_series(claimer, rows, samples, jit=None, raw=True)
            finally:
                self.rows(f"DROP INDEX {RAW_INDEX}")
        finally:
            claimer.close()
        return cost

    def _claim_series(self, claimer, backlog, samples, jit, raw=False) -> ClaimSeries:
        if jit is not None:
            with claimer.cursor() as cursor:
                cursor.execute(f"SET jit = {'on' if jit else 'off'}")
            claimer.commit()
        PROFILE.reset()
        PROFILE.enabled = True
        timings = []
        try:
            for _ in range(samples):
                start = time.perf_counter()
                if raw:
                    with claimer.cursor() as cursor:
                        cursor.execute(RAW_CLAIM)
                        claimed_ids = [job_id for (job_id,) in cursor.fetchall()]
                    claimer.commit()
                else:
                    claimed_ids = [job.id for job in claim_due_jobs(claimer, 1)]
                timings.append((time.perf_counter() - start) * 1000)
                if len(claimed_ids) != 1:
                    raise RuntimeError(f"a claim of 1 job claimed {len(claimed_ids)}")
                self.rows(
                    "UPDATE queue_job SET state = 'done',"
                    " date_done = (now() AT TIME ZONE 'UTC') WHERE id = %s",
                    claimed_ids,
                )
        finally:
            PROFILE.enabled = False
        split = PROFILE.rows()
        if raw:
            explain = self._explain(claimer, RAW_CLAIM, lock_claims=False)
        else:
            explain = self._explain(claimer, load_query("claim_due_jobs"), lock_claims=True)
        with claimer.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit')")
            (jit_setting,) = cursor.fetchone()
            if jit is not None:
                cursor.execute("RESET jit")
        claimer.commit()
        return ClaimSeries(backlog, jit_setting, timings, explain, split)

    @staticmethod
    def _explain(connection, query: str, lock_claims: bool) -> list[str]:
        """EXPLAIN (ANALYZE, BUFFERS) of ``query`` (it runs), then roll it back."""
        try:
            with connection.cursor() as cursor:
                if lock_claims:
                    cursor.execute(load_query("lock_claims"))
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS)\n" + query, {"batch_size": 1})
                return [line for (line,) in cursor.fetchall()]
        finally:
            connection.rollback()

    # -- recovery ----------------------------------------------------------------------

    def recovery(self, runs: int) -> list[tuple[float, float]]:
        """(job age at the kill, seconds from SIGKILL to the job running again) per run.

        Each run kills the victim at a different moment of its job: early (within the
        orphan grace period, which counts from the claim), later, and past the grace
        period, each with a random phase against the dispatcher's recovery ticks.
        """
        return [
            self._recover_once(run, (0.1, 1.0, 3.0)[run % 3] + random.uniform(0.0, 1.0))
            for run in range(runs)
        ]

    def _recover_once(self, run: int, age_at_kill: float) -> tuple[float, float]:
        self.reset_queue()
        job_id = self.insert_one_job()
        name = f"job_worker:bench-{os.getpid()}-victim-{run}"
        child = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "hold_job.py"), self.dbname, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.children.append(child)
        line = self._read_line(child, timeout_s=30.0)
        if line.split() != ["started", str(job_id)]:
            raise RuntimeError(f"the victim process said {line!r}")
        # The job's age counts from its claim (which set its heartbeat), as the grace does.
        owner, age = self.rows(
            "SELECT owner, extract(epoch FROM (clock_timestamp() AT TIME ZONE 'UTC') - heartbeat)"
            " FROM queue_job WHERE id = %s",
            [job_id],
        )[0]
        job_started = time.perf_counter() - float(age)
        if owner != name:
            raise RuntimeError(f"job {job_id} is owned by {owner!r}, not {name!r}")
        restarts: dict[int, float] = {}
        factory = TransactionFactory(
            self.dbname, lambda job: restarts.setdefault(job.id, time.perf_counter())
        )
        # The recovering dispatcher starts once the victim runs its job (running, it
        # would race the victim for the job); its first recovery check runs at once.
        with self.running_dispatcher(factory):
            time.sleep(max(0.0, job_started + age_at_kill - time.perf_counter()))
            os.kill(child.pid, signal.SIGKILL)
            killed = time.perf_counter()
            child.wait()
            self.wait_for(lambda: job_id in restarts, f"job {job_id} to be recovered", 60.0)
            took = restarts[job_id] - killed
            self.wait_for(lambda: self.count_state("done") == 1, f"job {job_id} done", poll_s=0.02)
        state, attempt = self.rows("SELECT state, retry FROM queue_job WHERE id = %s", [job_id])[0]
        if (state, attempt) != ("done", 2):
            raise RuntimeError(f"recovered job: state {state}, attempt {attempt}")
        return killed - job_started, took

    @staticmethod
    def _read_line(child: subprocess.Popen, timeout_s: float) -> str:
        ready, _, _ = select.select([child.stdout], [], [], timeout_s)
        if not ready:
            child.kill()
            _, errors = child.communicate()
            raise TimeoutError(f"the victim process did not start its job:\n{errors}")
        line = child.stdout.readline()
        if not line:
            _, errors = child.communicate()
            raise RuntimeError(f"the victim process exited:\n{errors}")
        return line.strip()

    def kill_children(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()


# -- the database ----------------------------------------------------------------------


@contextlib.contextmanager
def bench_database(jit_off: bool):
    """A fresh database with the queue schema, dropped at the end whatever happens."""
    name = f"job_worker_bench_{uuid.uuid4().hex[:10]}"
    admin = connect(ADMIN_DATABASE, application_name="job_worker:bench-setup")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
            if jit_off:
                cursor.execute(f'ALTER DATABASE "{name}" SET jit = off')
        try:
            with connect(name) as connection, connection.cursor() as cursor:
                install_schema(cursor)
            connection.close()
            yield name
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            progress(f"dropped database {name}")
    finally:
        admin.close()


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages: is something else running?"""
    try:
        return " ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "?"


def machine_info() -> dict[str, str]:
    """The machine and the server (settings as the admin database sees them)."""
    connection = connect(ADMIN_DATABASE, application_name="job_worker:bench-info")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT version(), current_setting('server_version')")
            version, server_version = cursor.fetchone()
            settings = {}
            for setting in (
                "synchronous_commit",
                "fsync",
                "shared_buffers",
                "jit",
                "max_connections",
            ):
                cursor.execute("SELECT current_setting(%s)", [setting])
                settings[setting] = cursor.fetchone()[0]
            cursor.execute("SELECT pg_jit_available()")
            settings["jit_available"] = "yes" if cursor.fetchone()[0] else "no"
        host = connection.info.host
    finally:
        connection.close()
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "load": load_average(),
        "engine": project_version("job_worker/engine"),
        "cpus": str(os.cpu_count()),
        "cpu_model": cpu_model or platform.processor() or "?",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "psycopg2": psycopg2.__version__.split()[0],
        "pg_version": server_version,
        "pg_full_version": version,
        "pg_host": host,
        "jit": settings["jit"],
        "pg_settings": ", ".join(f"{key}={value}" for key, value in settings.items()),
    }


# -- the report ------------------------------------------------------------------------


def print_table(rows) -> None:
    widths = [max(len(str(row[column])) for row in rows) for column in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))


def explain_summary(plan: list[str]) -> str:
    """The summary lines of an EXPLAIN ANALYZE: planning, JIT, execution."""
    wanted = ("Planning Time", "Execution Time", "Timing:")
    return "; ".join(line.strip() for line in plan if line.strip().startswith(wanted))


class Results:
    """The figures of one run, the table that shows them and the key=value line."""

    def __init__(self, args, info, engine, raw, per_job, wake, claim, recovered):
        self.args = args
        self.info = info
        self.engine = engine
        self.raw = raw
        self.per_job = per_job
        self.wake = wake
        self.wake_ms = wake.latencies_ms()
        self.wake_lost = wake.lost()
        self.claim = claim
        self.recovered = recovered
        small, large = min(SMALL_BACKLOG, claim.rows), claim.rows
        self.claim_small = claim.find(small)
        self.claim_large = claim.find(large)
        self.claim_small_jit = claim.find(small, jit="on", extra=True)
        self.claim_large_jit = claim.find(large, jit="on", extra=True)
        self.figures = []
        self.values = {}
        self._collect()

    def _figure(self, key, value, shown, what):
        self.values[key] = value
        self.figures.append((key, value, shown, what))

    def _collect(self):
        engine, raw, claim = self.engine, self.raw, self.claim
        self._figure(
            "jobs_per_s",
            round(engine.per_s, 1),
            f"{engine.per_s:,.1f}",
            f"engine drain: {engine.jobs:,} no-op jobs, 1 Dispatcher, 4 workers, capacity 4",
        )
        self._figure(
            "raw_jobs_per_s",
            round(raw.per_s, 1),
            f"{raw.per_s:,.1f}",
            f"raw SQL drain: {raw.jobs:,} jobs, 4 threads: claim+commit, done+commit",
        )
        ratio = engine.per_s / raw.per_s
        self._figure("ratio", round(ratio, 3), f"{ratio:.3f}", "jobs_per_s / raw_jobs_per_s")
        p50, p99 = percentile(self.wake_ms, 0.50), percentile(self.wake_ms, 0.99)
        self._figure(
            "wake_p50_ms",
            round(p50, 2),
            f"{p50:.2f}",
            f"idle dispatcher, commit -> job start ({len(self.wake_ms)} jobs, 20 ms apart)",
        )
        self._figure("wake_p99_ms", round(p99, 2), f"{p99:.2f}", "")
        self._figure(
            "wake_lost",
            self.wake_lost,
            str(self.wake_lost),
            f"wake-up jobs not started {LOST_WAKEUP_S:g}s after the last commit (count as inf)",
        )
        large = self.claim_large
        self._figure(
            "claim_ms_1m",
            round(large.median_ms, 2),
            f"{large.median_ms:.2f}",
            f"median of {len(large.timings_ms)} claim_due_jobs(conn, 1), {large.pending:,}"
            f" pending, jit {large.jit}",
        )
        worst = max(took for _, took in self.recovered)
        self._figure(
            "recovery_s",
            round(worst, 2),
            f"{worst:.2f}",
            f"max of {len(self.recovered)}: SIGKILL -> job running again (default intervals)",
        )
        # Informative figures, no target.
        if self.per_job is not None:
            self._figure(
                "jobs_per_s_connect_per_job",
                round(self.per_job.per_s, 1),
                f"{self.per_job.per_s:,.1f}",
                f"engine drain opening a connection per job ({self.per_job.jobs:,} jobs)",
            )
        for key, series in (
            ("claim_ms_20k", self.claim_small if self.claim_small is not large else None),
            ("claim_ms_20k_jit_on", self.claim_small_jit),
            ("claim_ms_1m_jit_on", self.claim_large_jit),
            ("raw_claim_ms_1m", claim.raw),
        ):
            if series is None:
                continue
            raw_note = "the raw claim + commit, own index, " if series is claim.raw else ""
            self._figure(
                key,
                round(series.median_ms, 2),
                f"{series.median_ms:.2f}",
                f"median of {len(series.timings_ms)}: {raw_note}{series.pending:,} pending,"
                f" jit {series.jit}",
            )
        self.values["jit"] = "off" if self.args.jit == "off" else self.info["jit"]
        self.values["cpus"] = self.info["cpus"]
        self.values["pg_version"] = self.info["pg_version"].split()[0]

    def print_report(self):
        info = self.info
        print(f"\nOdoo Job Worker engine benchmark (project commit {info['engine']})")
        print(f"machine:    {info['cpus']} CPUs ({info['cpu_model']}), {info['platform']}")
        print(f"load:       {info['load']} at the start, {load_average()} at the end (1/5/15 min)")
        print(f"software:   Python {info['python']}, psycopg2 {info['psycopg2']}")
        print(f"postgresql: {info['pg_full_version']}")
        print(f"            host {info['pg_host']}; {info['pg_settings']}")
        if self.args.jit == "off":
            print("            bench database: ALTER DATABASE ... SET jit = off (see README)")
        print()
        rows = [("figure", "value", "target", "", "what")]
        for key, _, shown, what in self.figures:
            target, status = "", ""
            if key in TARGETS:
                operator, limit = TARGETS[key]
                met = self.values[key] >= limit if operator == ">=" else self.values[key] <= limit
                target, status = f"{operator} {limit:g}", "ok" if met else "MISSED"
            rows.append((key, shown, target, status, what))
        print_table(rows)
        self._print_drains()
        self._print_wake()
        self._print_claims()
        self._print_recovery()

    def _print_drains(self):
        engine, raw, per_job = self.engine, self.raw, self.per_job
        print(
            f"\ndrains: engine {engine.jobs:,} jobs in {engine.elapsed_s:.2f}s"
            f" ({engine.connections} job connections, one per worker thread, reused);"
            f" raw {raw.jobs:,} jobs in {raw.elapsed_s:.2f}s"
        )
        if per_job is not None:
            print(
                f"        a connection per job: {per_job.jobs:,} jobs in {per_job.elapsed_s:.2f}s"
                f" ({per_job.connections:,} connections opened)"
            )
        for title, drain in (("engine drain", engine), ("raw drain", raw)):
            if not drain.profile:
                continue
            print(f"\n{title}: round trips by statement, as the client waits for them")
            rows = [("statement", "count", "per job", "total s", "mean ms", "ms per job")]
            for name, count, seconds in drain.profile:
                rows.append(
                    (
                        name,
                        f"{count:,}",
                        f"{count / drain.jobs:.2f}",
                        f"{seconds:.2f}",
                        f"{seconds / count * 1000:.3f}",
                        f"{seconds / drain.jobs * 1000:.3f}",
                    )
                )
            print_table(rows)

    def _print_wake(self):
        ordered = sorted(self.wake_ms)
        print(
            f"\nwake-up ms: min {ordered[0]:.2f}, p50 {percentile(ordered, 0.5):.2f},"
            f" p90 {percentile(ordered, 0.9):.2f}, p95 {percentile(ordered, 0.95):.2f},"
            f" p99 {percentile(ordered, 0.99):.2f}, max {ordered[-1]:.2f};"
            f" over 20 ms: {sum(latency > 20 for latency in ordered)} of {len(ordered)}"
        )
        late = self.wake.started_after_next_commit()
        print(
            f"  started only after the next sample's commit: {late}"
            f" (when p90 is well under the 20 ms spacing, these are notifications the"
            f" dispatcher missed, the next one woke it); never started: {self.wake_lost}"
        )

    def _print_claims(self):
        claim = self.claim
        print(
            f"\nclaims of 1 job (bulk inserts + ANALYZE took {claim.insert_s:.1f}s);"
            " split = mean ms per statement"
        )
        for series in [*claim.series, claim.raw]:
            if series is None:
                continue
            timings = series.timings_ms
            title = "raw claim" if series is claim.raw else "claim_due_jobs"
            split = ", ".join(
                f"{name} {seconds / count * 1000:.2f}" for name, count, seconds in series.split
            )
            print(
                f"  {title} at {series.pending:,} pending, jit {series.jit}, {len(timings)} claims:"
                f" min {min(timings):.2f}, median {series.median_ms:.2f},"
                f" p90 {percentile(timings, 0.9):.2f}, max {max(timings):.2f} ms"
            )
            print(f"    split: {split}")
            print(f"    EXPLAIN (ANALYZE, BUFFERS): {explain_summary(series.explain)}")
            if self.args.explain:
                print("\n".join(f"      {line}" for line in series.explain))

    def _print_recovery(self):
        runs = ", ".join(
            f"killed at job age {age:.1f}s -> {took:.2f}s" for age, took in self.recovered
        )
        print(f"\nrecovery (recovery_interval_s=1.0, orphan_grace_s=2.0 from the claim): {runs}")


def ignore_event(event) -> None:
    """The no-op subscriber of ``--subscriber noop``."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per drain (20000)")
    parser.add_argument(
        "--connect-per-job-jobs",
        type=int,
        default=2_000,
        help="jobs of the extra drain that opens a connection per job (2000; 0 skips it)",
    )
    parser.add_argument("--wake-samples", type=int, default=200, help="wake-up samples (200)")
    parser.add_argument("--claim-rows", type=int, default=1_000_000, help="pending rows (1e6)")
    parser.add_argument("--claim-samples", type=int, default=50, help="timed claims (50)")
    parser.add_argument(
        "--jit-samples",
        type=int,
        default=3,
        help="timed claims with SET jit = on, when the bench runs without JIT (3; 0 skips)",
    )
    parser.add_argument("--recovery-runs", type=int, default=3, help="recovery runs (3)")
    parser.add_argument(
        "--jit",
        choices=("off", "server"),
        default="server",
        help="server (default): keep the server's setting, as a deployment would (the"
        " engine turns JIT off for its own sessions); off: ALTER DATABASE <bench> SET"
        " jit = off, for the jobs' connections too (see README)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=WAIT_TIMEOUT_S,
        help=f"seconds a drain may take before the bench fails ({WAIT_TIMEOUT_S:.0f})",
    )
    parser.add_argument("--explain", action="store_true", help="print the full claim plans")
    parser.add_argument(
        "--no-profile", action="store_true", help="do not time statements during the drains"
    )
    parser.add_argument(
        "--subscriber",
        choices=("none", "noop"),
        default="none",
        help="none (default): no one listens to the engine's events, as in a process"
        " without the operator log; noop: one subscriber that does nothing, the cost of"
        " building and emitting every event",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    profiled = not args.no_profile
    # Warnings the engine logs itself (a lost connection) are shown as progress.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="         %(name)s: %(message)s"
    )

    def stop_on_sigterm(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    if args.subscriber == "noop":
        engine_events.subscribe(ignore_event)

    with bench_database(jit_off=args.jit == "off") as dbname:
        progress(f"database {dbname}")
        bench = Bench(dbname, args)
        try:
            info = machine_info()
            progress(f"engine drain: {args.jobs:,} no-op jobs, capacity {CAPACITY}")
            engine = bench.drain_engine(args.jobs, profiled=profiled)
            progress(f"  {engine.per_s:,.0f} jobs/s")
            progress(f"raw drain: {args.jobs:,} jobs, {CAPACITY} threads")
            raw = bench.drain_raw(args.jobs, profiled=profiled)
            progress(f"  {raw.per_s:,.0f} jobs/s")
            per_job = None
            if args.connect_per_job_jobs:
                progress(f"engine drain, a connection per job: {args.connect_per_job_jobs:,}")
                per_job = bench.drain_engine(args.connect_per_job_jobs, reuse=False, profiled=False)
                progress(f"  {per_job.per_s:,.0f} jobs/s")
            progress(f"wake-up latency: {args.wake_samples} samples 20 ms apart")
            wake = bench.wake_latency(args.wake_samples, 0.020)
            progress(f"claim cost: up to {args.claim_rows:,} pending rows")
            claim = bench.claim_cost(args.claim_rows, args.claim_samples, args.jit_samples)
            progress(f"recovery: {args.recovery_runs} SIGKILLed processors")
            recovered = bench.recovery(args.recovery_runs)
        finally:
            bench.kill_children()
            bench.admin.close()

    results = Results(args, info, engine, raw, per_job, wake, claim, recovered)
    results.print_report()
    print()
    print(" ".join(f"{key}={value}" for key, value in results.values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
