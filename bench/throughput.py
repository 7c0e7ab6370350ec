"""Throughput: no-op jobs drained by the engine's dispatcher against a raw-SQL loop.

    .venv/bin/python bench/throughput.py [--quick] [--jobs N] [--no-profile]

Figures ``jobs_per_s``, ``raw_jobs_per_s``, ``ratio`` (target >= 0.5) and, for
information, ``jobs_per_s_connect_per_job``; see bench/README.md.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2.extensions
from driver import TransactionFactory, noop
from harness import (
    CAPACITY,
    RAW_CLAIM,
    RAW_DONE,
    RAW_INDEX,
    RAW_INDEX_DEFINITION,
    Bench,
    connect,
    print_table,
    progress,
    run_measurements,
)
from statement_profile import PROFILE, ProfiledConnection

from job_worker.engine.execution import JobResult

RATIO_TARGET = 0.5
"""The engine drains at least half as fast as the least a PostgreSQL queue must do."""
QUICK = {"jobs": 500, "connect_per_job_jobs": 100}


def add_arguments(parser) -> None:
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per drain (20000)")
    parser.add_argument(
        "--connect-per-job-jobs",
        type=int,
        default=2_000,
        help="jobs of the extra drain that opens a connection per job (2000; 0 skips it)",
    )
    parser.add_argument(
        "--no-profile", action="store_true", help="do not time statements during the drains"
    )


@dataclass
class Drain:
    """``jobs`` drained in ``elapsed_s`` over ``connections`` job connections, and the
    round trips by statement (name, count, seconds) when profiled."""

    jobs: int
    elapsed_s: float
    connections: int = 0
    profile: list = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.jobs / self.elapsed_s


@dataclass
class Throughput:
    """The engine's drain, the raw loop's, and the drain opening a connection per job."""

    engine: Drain
    raw: Drain
    per_job: Drain | None

    def add_figures(self, report) -> None:
        engine, raw, per_job = self.engine, self.raw, self.per_job
        report.figure(
            "jobs_per_s",
            round(engine.per_s, 1),
            f"{engine.per_s:,.1f}",
            f"engine drain: {engine.jobs:,} no-op jobs, 1 Dispatcher, 4 workers, capacity 4",
        )
        report.figure(
            "raw_jobs_per_s",
            round(raw.per_s, 1),
            f"{raw.per_s:,.1f}",
            f"raw SQL drain: {raw.jobs:,} jobs, 4 threads: claim+commit, done+commit",
        )
        ratio = engine.per_s / raw.per_s
        report.figure(
            "ratio",
            round(ratio, 3),
            f"{ratio:.3f}",
            "jobs_per_s / raw_jobs_per_s",
            target=(">=", RATIO_TARGET),
        )
        if per_job is not None:
            report.informative(
                "jobs_per_s_connect_per_job",
                round(per_job.per_s, 1),
                f"{per_job.per_s:,.1f}",
                f"engine drain opening a connection per job ({per_job.jobs:,} jobs)",
            )

    def print_details(self, args) -> None:
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


def measure(bench: Bench, args) -> Throughput:
    """The engine's drain, the raw loop's, then (unless 0 jobs) one connection per job."""
    profiled = not args.no_profile
    progress(f"engine drain: {args.jobs:,} no-op jobs, capacity {CAPACITY}")
    engine = drain_engine(bench, args.jobs, args.timeout, profiled=profiled)
    progress(f"  {engine.per_s:,.0f} jobs/s")
    progress(f"raw drain: {args.jobs:,} jobs, {CAPACITY} threads")
    raw = drain_raw(bench, args.jobs, args.timeout, profiled=profiled)
    progress(f"  {raw.per_s:,.0f} jobs/s")
    per_job = None
    if args.connect_per_job_jobs:
        progress(f"engine drain, a connection per job: {args.connect_per_job_jobs:,}")
        per_job = drain_engine(
            bench, args.connect_per_job_jobs, args.timeout, reuse=False, profiled=False
        )
        progress(f"  {per_job.per_s:,.0f} jobs/s")
    return Throughput(engine, raw, per_job)


def drain_engine(
    bench: Bench, jobs: int, timeout_s: float, reuse: bool = True, profiled: bool = True
) -> Drain:
    """Drain ``jobs`` no-op jobs with one Dispatcher, capacity 4, 4 workers."""
    bench.reset_queue()
    bench.insert_jobs(jobs)
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
        bench.dbname,
        noop,
        reuse=reuse,
        connection_factory=ProfiledConnection if profiled else None,
        settled=settled,
    )
    PROFILE.reset()
    PROFILE.enabled = profiled
    try:
        start = time.perf_counter()
        with bench.running_dispatcher(factory, profiled=profiled):
            bench.wait_for(
                finished,
                lambda: f"{jobs} jobs to be done ({sum(results.values())} were)",
                timeout_s,
                poll_s=0.05,
            )
            elapsed = time.perf_counter() - start
    finally:
        PROFILE.enabled = False
    done = bench.count_state("done")
    if results[JobResult.DONE] != jobs or done != jobs:
        raise RuntimeError(f"engine drain: outcomes {dict(results)}, {done} rows done")
    return Drain(jobs, elapsed, factory.connections_opened, PROFILE.rows())


def drain_raw(
    bench: Bench, jobs: int, timeout_s: float, threads: int = CAPACITY, profiled: bool = True
) -> Drain:
    """Drain ``jobs`` jobs with the raw loop: claim + commit, done + commit.

    The raw claim orders by (priority, id), which none of the engine's indexes
    serves: without an index of its own it sorts the whole backlog at every claim.
    A baseline should be the best simple loop, so it gets that index while it runs.
    """
    bench.reset_queue()
    bench.rows(RAW_INDEX_DEFINITION)
    try:
        bench.insert_jobs(jobs)
        return _drain_raw(bench, jobs, timeout_s, threads, profiled)
    finally:
        bench.rows(f"DROP INDEX IF EXISTS {RAW_INDEX}")


def _drain_raw(bench: Bench, jobs: int, timeout_s: float, threads: int, profiled: bool) -> Drain:
    ready = threading.Barrier(threads + 1)
    errors = []
    drained = Counter()

    def work(index):
        connection = connect(
            bench.dbname,
            application_name=f"job_worker:bench-raw-{index}",
            connection_factory=ProfiledConnection if profiled else None,
        )
        connection.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED)
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
        ready.wait(timeout=timeout_s)
        start = time.perf_counter()
        for worker in workers:
            worker.join(timeout=timeout_s)
        elapsed = time.perf_counter() - start
    finally:
        PROFILE.enabled = False
    if errors:
        raise RuntimeError("raw drain failed") from errors[0]
    done = bench.count_state("done")
    if done != jobs or sum(drained.values()) != jobs:
        raise RuntimeError(f"raw drain: {sum(drained.values())} drained, {done} rows done")
    return Drain(jobs, elapsed, threads, PROFILE.rows())


if __name__ == "__main__":
    sys.exit(run_measurements([sys.modules[__name__]], description=__doc__))
