"""Claim cost at scale: one ``claim_due_jobs(connection, 1)`` with a million pending jobs.

    .venv/bin/python bench/claim_at_scale.py [--quick] [--claim-rows N] [--explain]

Figure ``claim_ms_1m`` (target <= 5) and, for information, ``claim_ms_20k``,
``claim_ms_20k_jit_on``, ``claim_ms_1m_jit_on`` and ``raw_claim_ms_1m``; see
bench/README.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass, field

import engine_import  # noqa: F401  (registers the bare job_worker package)
from harness import (
    RAW_CLAIM,
    RAW_INDEX,
    RAW_INDEX_DEFINITION,
    Bench,
    explain_summary,
    percentile,
    progress,
    run_measurements,
)
from statement_profile import PROFILE, ProfiledConnection

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine
from job_worker.engine.sql import load_query

CLAIM_TARGET_MS = 5.0
SMALL_BACKLOG = 20_000
"""The claim is also timed with this many pending jobs (the drains' backlog)."""
QUICK = {"claim_rows": 20_000, "claim_samples": 10, "jit_samples": 1}


def add_arguments(parser) -> None:
    parser.add_argument("--claim-rows", type=int, default=1_000_000, help="pending rows (1e6)")
    parser.add_argument("--claim-samples", type=int, default=50, help="timed claims (50)")
    parser.add_argument(
        "--jit-samples",
        type=int,
        default=3,
        help="timed claims with SET jit = on, when the bench runs without JIT (3; 0 skips)",
    )
    parser.add_argument("--explain", action="store_true", help="print the full claim plans")


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
    """Every series timed, up to ``rows`` pending jobs, and the raw claim's."""

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

    def add_figures(self, report) -> None:
        small, large = min(SMALL_BACKLOG, self.rows), self.rows
        claim_small, claim_large = self.find(small), self.find(large)
        report.figure(
            "claim_ms_1m",
            round(claim_large.median_ms, 2),
            f"{claim_large.median_ms:.2f}",
            f"median of {len(claim_large.timings_ms)} claim_due_jobs(conn, 1),"
            f" {claim_large.pending:,} pending, jit {claim_large.jit}",
            target=("<=", CLAIM_TARGET_MS),
        )
        for key, series in (
            ("claim_ms_20k", claim_small if claim_small is not claim_large else None),
            ("claim_ms_20k_jit_on", self.find(small, jit="on", extra=True)),
            ("claim_ms_1m_jit_on", self.find(large, jit="on", extra=True)),
            ("raw_claim_ms_1m", self.raw),
        ):
            if series is None:
                continue
            raw_note = "the raw claim + commit, own index, " if series is self.raw else ""
            report.informative(
                key,
                round(series.median_ms, 2),
                f"{series.median_ms:.2f}",
                f"median of {len(series.timings_ms)}: {raw_note}{series.pending:,} pending,"
                f" jit {series.jit}",
            )

    def print_details(self, args) -> None:
        print(
            f"\nclaims of 1 job (bulk inserts + ANALYZE took {self.insert_s:.1f}s);"
            " split = mean ms per statement"
        )
        for series in [*self.series, self.raw]:
            if series is None:
                continue
            timings = series.timings_ms
            title = "raw claim" if series is self.raw else "claim_due_jobs"
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
            if args.explain:
                print("\n".join(f"      {line}" for line in series.explain))


def measure(bench: Bench, args) -> ClaimCost:
    progress(f"claim cost: up to {args.claim_rows:,} pending rows")
    return claim_cost(bench, args.claim_rows, args.claim_samples, args.jit_samples)


def claim_cost(bench: Bench, rows: int, samples: int, jit_samples: int) -> ClaimCost:
    """Timed claim_due_jobs(connection, 1) calls at SMALL_BACKLOG, then ``rows`` pending.

    Each series times ``samples`` claims (the claimed job is then marked done outside
    the timing, so the started count stays under the capacity) and EXPLAINs one more.
    When the database runs without JIT and the server has it, a short series with
    ``SET jit = on`` shows what the server's default would cost. Last, the raw claim
    of the throughput baseline, with its own index, at the same ``rows``.
    """
    bench.reset_queue()
    claimer = connect_engine(
        {"dbname": bench.dbname, "connection_factory": ProfiledConnection},
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
            bench.insert_jobs(backlog - pending, priorities=5)
            cost.insert_s += time.perf_counter() - start
            pending = backlog
            progress(f"  {backlog:,} pending rows (inserted and analyzed)")
            cost.series.append(_claim_series(bench, claimer, backlog, samples, jit=None))
            if jit_available and not jit_on and jit_samples:
                cost.series.append(_claim_series(bench, claimer, backlog, jit_samples, jit=True))
        bench.rows(RAW_INDEX_DEFINITION)
        try:
            cost.raw = _claim_series(bench, claimer, rows, samples, jit=None, raw=True)
        finally:
            bench.rows(f"DROP INDEX {RAW_INDEX}")
    finally:
        claimer.close()
    return cost


def _claim_series(bench, claimer, backlog, samples, jit, raw=False) -> ClaimSeries:
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
            bench.rows(
                "UPDATE queue_job SET state = 'done',"
                " date_done = (now() AT TIME ZONE 'UTC') WHERE id = %s",
                claimed_ids,
            )
    finally:
        PROFILE.enabled = False
    split = PROFILE.rows()
    if raw:
        explain = _explain(claimer, RAW_CLAIM, lock_claims=False)
    else:
        explain = _explain(claimer, load_query("claim_due_jobs"), lock_claims=True)
    with claimer.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        (jit_setting,) = cursor.fetchone()
        if jit is not None:
            cursor.execute("RESET jit")
    claimer.commit()
    return ClaimSeries(backlog, jit_setting, timings, explain, split)


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


if __name__ == "__main__":
    sys.exit(run_measurements([sys.modules[__name__]], description=__doc__))
