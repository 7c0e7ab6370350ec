"""Wake-up latency: how soon an idle dispatcher starts a job after its enqueue commits.

    .venv/bin/python bench/wakeup_latency.py [--quick] [--wake-samples N]

Figures ``wake_p50_ms``, ``wake_p99_ms`` (target <= 20) and ``wake_lost``; see
bench/README.md.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import dataclass

import engine_import  # noqa: F401  (registers the bare job_worker package)
from driver import TransactionFactory
from harness import CAPACITY, Bench, connect, percentile, progress, run_measurements

WAKE_SPACING_S = 0.020
"""Time between two samples' commits."""
WAKE_P99_TARGET_MS = 20.0
LOST_WAKEUP_S = 5.0
"""A wake-up sample whose job has not started this long after the last one is lost."""
QUICK = {"wake_samples": 20}


def add_arguments(parser) -> None:
    parser.add_argument("--wake-samples", type=int, default=200, help="wake-up samples (200)")


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

    def add_figures(self, report) -> None:
        latencies = self.latencies_ms()
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        report.figure(
            "wake_p50_ms",
            round(p50, 2),
            f"{p50:.2f}",
            f"idle dispatcher, commit -> job start ({len(latencies)} jobs,"
            f" {WAKE_SPACING_S * 1000:g} ms apart)",
        )
        report.figure(
            "wake_p99_ms", round(p99, 2), f"{p99:.2f}", "", target=("<=", WAKE_P99_TARGET_MS)
        )
        lost = self.lost()
        report.figure(
            "wake_lost",
            lost,
            str(lost),
            f"wake-up jobs not started {LOST_WAKEUP_S:g}s after the last commit (count as inf)",
        )

    def print_details(self, args) -> None:
        ordered = sorted(self.latencies_ms())
        spacing_ms = WAKE_SPACING_S * 1000
        print(
            f"\nwake-up ms: min {ordered[0]:.2f}, p50 {percentile(ordered, 0.5):.2f},"
            f" p90 {percentile(ordered, 0.9):.2f}, p95 {percentile(ordered, 0.95):.2f},"
            f" p99 {percentile(ordered, 0.99):.2f}, max {ordered[-1]:.2f};"
            f" over {spacing_ms:g} ms: {sum(latency > spacing_ms for latency in ordered)}"
            f" of {len(ordered)}"
        )
        print(
            f"  started only after the next sample's commit: {self.started_after_next_commit()}"
            f" (when p90 is well under the {spacing_ms:g} ms spacing, these are notifications"
            f" the dispatcher missed, the next one woke it); never started: {self.lost()}"
        )


def measure(bench: Bench, args) -> Wake:
    progress(f"wake-up latency: {args.wake_samples} samples {WAKE_SPACING_S * 1000:g} ms apart")
    return wake_latency(bench, args.wake_samples, WAKE_SPACING_S)


def wake_latency(bench: Bench, samples: int, spacing_s: float) -> Wake:
    """Commit and start times of single jobs enqueued on an idle queue, in order."""
    bench.reset_queue()
    starts: dict[int, float] = {}

    def record_start(job):
        starts[job.id] = time.perf_counter()
        if job.method_name == "warm-up":
            time.sleep(0.05)  # long enough for each worker thread to take one

    factory = TransactionFactory(bench.dbname, record_start)
    enqueuer = connect(bench.dbname, application_name="job_worker:bench-enqueuer")
    insert = "INSERT INTO queue_job (model_name, method_name) VALUES ('bench.job', 'wake')"
    commits: dict[int, float] = {}
    try:
        with bench.running_dispatcher(factory):
            # Warm-up: a job per worker thread, so that their connections are open.
            with enqueuer.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO queue_job (model_name, method_name)"
                    " SELECT 'bench.job', 'warm-up' FROM generate_series(1, %s)",
                    [CAPACITY],
                )
            enqueuer.commit()
            bench.wait_for(lambda: len(starts) >= CAPACITY, "the warm-up jobs")
            bench.wait_for(
                lambda: bench.count_state("done") >= CAPACITY, "warm-up done", poll_s=0.02
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
                bench.wait_for(
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


if __name__ == "__main__":
    sys.exit(run_measurements([sys.modules[__name__]], description=__doc__))
