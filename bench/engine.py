"""Benchmark of the job_worker engine on a local PostgreSQL: every measurement, one report.

Throughput of the whole execution protocol against a raw-SQL baseline
(``throughput.py``), wake-up latency of an idle dispatcher (``wakeup_latency.py``), the
claim's cost with a million pending jobs (``claim_at_scale.py``), and how long a job of a
SIGKILLed processor takes to come back (``recovery_time.py``). Run from the project root:

    .venv/bin/python bench/engine.py            # about 2-3 minutes on an idle machine
    .venv/bin/python bench/engine.py --quick    # the smallest sizes: does it work?

It creates its own database (``job_worker_bench_<random>``, libpq environment for the
rest) and drops it at the end, even on failure. See bench/README.md for what each
figure means. The last line printed is ``key=value`` pairs, for scripts; each
measurement run alone prints the same, for its own figures.
"""

from __future__ import annotations

import sys

import claim_at_scale
import recovery_time
import throughput
import wakeup_latency
from harness import run_measurements

MEASUREMENTS = (throughput, wakeup_latency, claim_at_scale, recovery_time)
"""In the order they run and report (the order of the key=value line)."""


def main(argv=None) -> int:
    return run_measurements(MEASUREMENTS, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
