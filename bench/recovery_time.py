"""Recovery time: from SIGKILL of a processor mid-job to that job running again elsewhere.

    .venv/bin/python bench/recovery_time.py [--quick] [--recovery-runs N]

Figure ``recovery_s`` (target <= 5); see bench/README.md.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import engine_import  # noqa: F401  (registers the bare job_worker package)
from driver import TransactionFactory
from harness import BENCH_DIR, Bench, progress, run_measurements

RECOVERY_TARGET_S = 5.0
KILL_AGES_S = (0.1, 1.0, 3.0)
"""Each run kills the victim this long after its claim, plus up to a second at random:
within the orphan grace period (2 s), about at its end, and past it."""
VICTIM_START_TIMEOUT_S = 30.0
RECOVERED_WITHIN_S = 60.0
"""Longest wait for the killed processor's job to run again before the bench fails."""
QUICK = {"recovery_runs": 1}


def add_arguments(parser) -> None:
    parser.add_argument("--recovery-runs", type=int, default=3, help="recovery runs (3)")


@dataclass
class Recovery:
    """(job age at the kill, seconds from SIGKILL to the job running again) per run."""

    runs: list

    def add_figures(self, report) -> None:
        worst = max(took for _, took in self.runs)
        report.figure(
            "recovery_s",
            round(worst, 2),
            f"{worst:.2f}",
            f"max of {len(self.runs)}: SIGKILL -> job running again (default intervals)",
            target=("<=", RECOVERY_TARGET_S),
        )

    def print_details(self, args) -> None:
        runs = ", ".join(f"killed at job age {age:.1f}s -> {took:.2f}s" for age, took in self.runs)
        print(f"\nrecovery (recovery_interval_s=1.0, orphan_grace_s=2.0 from the claim): {runs}")


def measure(bench: Bench, args) -> Recovery:
    """Each run kills the victim at a different moment of its job: early (within the
    orphan grace period, which counts from the claim), later, and past the grace
    period, each with a random phase against the dispatcher's recovery ticks."""
    progress(f"recovery: {args.recovery_runs} SIGKILLed processors")
    return Recovery(
        [
            recover_once(bench, run, KILL_AGES_S[run % len(KILL_AGES_S)] + random.uniform(0, 1))
            for run in range(args.recovery_runs)
        ]
    )


def recover_once(bench: Bench, run: int, age_at_kill: float) -> tuple[float, float]:
    """Kill a processor (``hold_job.py``) ``age_at_kill`` after it claimed its job; time
    until that job runs again in the bench's dispatcher."""
    bench.reset_queue()
    job_id = bench.insert_one_job()
    name = f"job_worker:bench-{os.getpid()}-victim-{run}"
    child = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "hold_job.py"), bench.dbname, name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bench.children.append(child)
    line = _read_line(child, timeout_s=VICTIM_START_TIMEOUT_S)
    if line.split() != ["started", str(job_id)]:
        raise RuntimeError(f"the victim process said {line!r}")
    # The job's age counts from its claim (which set its heartbeat), as the grace does.
    owner, age = bench.rows(
        "SELECT owner, extract(epoch FROM (clock_timestamp() AT TIME ZONE 'UTC') - heartbeat)"
        " FROM queue_job WHERE id = %s",
        [job_id],
    )[0]
    job_started = time.perf_counter() - float(age)
    if owner != name:
        raise RuntimeError(f"job {job_id} is owned by {owner!r}, not {name!r}")
    restarts: dict[int, float] = {}
    factory = TransactionFactory(
        bench.dbname, lambda job: restarts.setdefault(job.id, time.perf_counter())
    )
    # The recovering dispatcher starts once the victim runs its job (running, it
    # would race the victim for the job); its first recovery check runs at once.
    with bench.running_dispatcher(factory):
        time.sleep(max(0.0, job_started + age_at_kill - time.perf_counter()))
        os.kill(child.pid, signal.SIGKILL)
        killed = time.perf_counter()
        child.wait()
        bench.wait_for(
            lambda: job_id in restarts, f"job {job_id} to be recovered", RECOVERED_WITHIN_S
        )
        took = restarts[job_id] - killed
        bench.wait_for(lambda: bench.count_state("done") == 1, f"job {job_id} done", poll_s=0.02)
    state, attempt = bench.rows("SELECT state, retry FROM queue_job WHERE id = %s", [job_id])[0]
    if (state, attempt) != ("done", 2):
        raise RuntimeError(f"recovered job: state {state}, attempt {attempt}")
    return killed - job_started, took


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


if __name__ == "__main__":
    sys.exit(run_measurements([sys.modules[__name__]], description=__doc__))
