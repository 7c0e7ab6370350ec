"""Benchmark of job_worker_cron on a real Odoo 19: triggers per enqueue, cron throughput.

Enqueues 10,000 jobs in one transaction and counts the ``ir.cron.trigger`` rows that
made; drains them through the processing cron's own path (``method_direct_trigger``,
which runs the scheduled action as Odoo's scheduler does, run after run); then drains
as many fresh jobs through ``process_due_jobs_in_database`` in one call, the baseline.
Run from the project root with Odoo's Python:

    $ODOO_PYTHON bench/cron.py

``ODOO_ADDONS_PATH`` names Odoo's addons folders (``scripts/build-odoo-env.sh`` prints
both). It creates its own database (``job_worker_bench_cron_<random>``), installs
``job_worker_cron`` into it, and drops it at the end, even on failure. See
bench/README.md for what each figure means. The last line printed is ``key=value``
pairs, for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.modules.registry import Registry
from odoo.service.db import exp_drop
from odoo.tools import config
from project_version import project_version

# Modules of the addons (odoo.addons.*) are imported once the configuration has put the
# addons path in place: inside the functions that use them.

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JOB_OWNER_PREFIXES = {"cron": "job_worker:cron:", "baseline": "job_worker:process:"}
MAX_CRON_RUNS = 1000
"""A drain through the cron that needs more runs than this has stopped making progress."""


@dataclass
class Enqueue:
    """One transaction of enqueued jobs and the triggers its commit created."""

    jobs: int
    with_eta: int
    seconds: float
    trigger_times: list


@dataclass
class Drain:
    """Jobs run by one path, and how long it took."""

    jobs: int
    seconds: float
    runs: int = 1

    @property
    def per_s(self) -> float:
        return self.jobs / self.seconds


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


_started = time.perf_counter()


def install_database(dbname: str, addons_path: str) -> None:
    """Create ``dbname`` with ``job_worker_cron`` installed, as ``odoo-bin -i`` does."""
    command = [sys.executable, "-m", "odoo", "-d", dbname, "-i", "job_worker_cron"]
    command += [f"--addons-path={addons_path}", "--stop-after-init", "--log-level=warn"]
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"installing job_worker_cron failed:\n{process.stderr[-3000:]}")


class CronBench:
    """The measurements, on a database where ``job_worker_cron`` is installed."""

    def __init__(self, registry, args):
        from odoo.addons.job_worker_cron.cron_triggers import PROCESSING_CRON_XMLID

        self.registry = registry
        self.dbname = registry.db_name
        self.args = args
        with self.env() as env:
            self.cron_id = env.ref(PROCESSING_CRON_XMLID).id
            self.partner_id = env["res.partner"].create({"name": "Bench"}).id
            if args.batch_size:
                env["ir.cron"].browse(
                    self.cron_id
                ).code = f"model._process_due_jobs_from_cron(batch_size={args.batch_size})"
            code = env["ir.cron"].browse(self.cron_id).code.strip()
        self.cron_code = code

    @contextlib.contextmanager
    def env(self):
        """An environment on a new cursor, committed when the block ends."""
        with self.registry.cursor() as cursor:
            yield api.Environment(cursor, SUPERUSER_ID, {})

    def value(self, query, params=None):
        with self.env() as env:
            env.cr.execute(query, params)
            return env.cr.fetchone()[0]

    def enqueue(self, count: int, eta_share: float, eta_spread_s: float) -> Enqueue:
        """Enqueue ``count`` no-op jobs in one transaction, ``eta_share`` of them with an
        ETA spread over the next ``eta_spread_s`` seconds."""
        last_trigger_id = self.value("SELECT coalesce(max(id), 0) FROM ir_cron_trigger")
        with_eta = round(count * eta_share)
        started = time.perf_counter()
        with self.env() as env:
            partner = env["res.partner"].browse(self.partner_id)
            now = fields.Datetime.now()
            for number in range(count):
                eta = None
                if number < with_eta:
                    eta = now + timedelta(seconds=random.uniform(1, eta_spread_s))
                partner.with_delay(eta=eta).exists()
        seconds = time.perf_counter() - started  # the commit and its triggers included
        with self.env() as env:
            env.cr.execute(
                "SELECT call_at FROM ir_cron_trigger WHERE cron_id = %s AND id > %s"
                " ORDER BY call_at",
                [self.cron_id, last_trigger_id],
            )
            trigger_times = [call_at for (call_at,) in env.cr.fetchall()]
        return Enqueue(count, with_eta, seconds, trigger_times)

    def make_every_job_due(self) -> None:
        """Plain SQL, as nothing must schedule the cron for it."""
        with self.env() as env:
            env.cr.execute("UPDATE queue_job SET eta = NULL WHERE state = 'pending'")

    def reset_queue(self) -> None:
        with self.env() as env:
            env.cr.execute("DELETE FROM queue_job")
            env.cr.execute("DELETE FROM ir_cron_trigger WHERE cron_id = %s", [self.cron_id])
        self.vacuum()

    def vacuum(self) -> None:
        with contextlib.closing(sql_db.db_connect(self.dbname).cursor()) as cursor:
            cursor._cnx.autocommit = True
            cursor.execute("VACUUM ANALYZE queue_job")

    def pending(self) -> int:
        return self.value("SELECT count(*) FROM queue_job WHERE state = 'pending'")

    def drain_through_cron(self) -> Drain:
        """Run the processing cron as Odoo's scheduler does until no job is pending."""
        jobs = self.pending()
        runs = 0
        started = time.perf_counter()
        while self.pending():
            if runs >= MAX_CRON_RUNS:
                raise RuntimeError(f"{self.pending()} jobs still pending after {runs} cron runs")
            with self.env() as env:
                env["ir.cron"].browse(self.cron_id).method_direct_trigger()
            runs += 1
        return Drain(jobs, time.perf_counter() - started, runs)

    def drain_directly(self) -> Drain:
        """The baseline: one call of process_due_jobs_in_database for the whole queue."""
        from odoo.addons.job_worker.processing.database_processing import (
            process_due_jobs_in_database,
        )

        jobs = self.pending()
        started = time.perf_counter()
        report = process_due_jobs_in_database(self.dbname, jobs, self.args.timeout)
        seconds = time.perf_counter() - started
        if report.processed != jobs:
            raise RuntimeError(f"the baseline ran {report.processed} of {jobs} jobs")
        return Drain(jobs, seconds)

    def check_all_done_by(self, path: str, jobs: int) -> None:
        with self.env() as env:
            env.cr.execute(
                "SELECT count(*) FILTER (WHERE state = 'done' AND starts_with(owner, %s)),"
                " count(*) FROM queue_job",
                [JOB_OWNER_PREFIXES[path]],
            )
            done, total = env.cr.fetchone()
        if (done, total) != (jobs, jobs):
            raise RuntimeError(f"{path}: {done} of {total} jobs done by it, {jobs} expected")


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


QUICK_JOBS = 300
"""Jobs per drain with ``--quick``: enough to go through every step, in seconds."""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_JOBS} jobs per drain unless --jobs says otherwise: checks that the"
        " bench works (not figures)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="jobs per drain (10000)")
    parser.add_argument(
        "--eta-share",
        type=float,
        default=0.1,
        help="share of the enqueued jobs given an ETA, for the trigger count (0.1)",
    )
    parser.add_argument(
        "--eta-spread",
        type=float,
        default=180.0,
        help="seconds over which those ETAs are spread, from now (180)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="batch_size written into the scheduled action's code (0: keep its default)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds the baseline drain may take (600)"
    )
    args = parser.parse_args(argv)
    if args.jobs is None:
        args.jobs = QUICK_JOBS if args.quick else 10_000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.environ.get("ODOO_ADDONS_PATH"):
        sys.exit("set ODOO_ADDONS_PATH (scripts/build-odoo-env.sh prints it)")
    addons_path = f"{os.environ['ODOO_ADDONS_PATH']},{PROJECT_ROOT}"

    def stop_on_sigterm(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    load_at_start = load_average()
    dbname = f"job_worker_bench_cron_{uuid.uuid4().hex[:10]}"
    config.parse_config([f"--addons-path={addons_path}", "--log-level=warn"], setup_logging=True)
    try:
        progress(f"installing job_worker_cron into {dbname}")
        install_database(dbname, addons_path)
        bench = CronBench(Registry(dbname), args)
        progress("warm-up: 200 jobs through the baseline")
        bench.enqueue(200, 0.0, 0.0)
        bench.drain_directly()
        bench.reset_queue()

        progress(f"enqueuing {args.jobs:,} jobs in one transaction")
        enqueued = bench.enqueue(args.jobs, args.eta_share, args.eta_spread)
        bench.make_every_job_due()
        bench.vacuum()
        progress(f"{len(enqueued.trigger_times)} trigger(s); draining through the cron")
        cron = bench.drain_through_cron()
        bench.check_all_done_by("cron", args.jobs)

        bench.reset_queue()
        bench.enqueue(args.jobs, 0.0, 0.0)
        bench.vacuum()
        progress("draining through process_due_jobs_in_database (baseline)")
        baseline = bench.drain_directly()
        bench.check_all_done_by("baseline", args.jobs)
    finally:
        progress(f"dropping {dbname}")
        exp_drop(dbname)

    print(f"\nOdoo Job Worker cron benchmark (project commit {project_version('job_worker*')})")
    print(
        f"machine:  {os.cpu_count()} CPUs, {platform.platform()},"
        f" Python {platform.python_version()}"
    )
    print(f"load:     {load_at_start} at the start, {load_average()} at the end (1/5/15 min)")
    minutes = ", ".join(str(moment) for moment in enqueued.trigger_times)
    print(
        f"\nenqueue:  {enqueued.jobs:,} jobs in one transaction ({enqueued.with_eta:,} with an"
        f" ETA within {args.eta_spread:.0f} s) in {enqueued.seconds:.1f} s, commit included:"
        f" {len(enqueued.trigger_times)} ir.cron.trigger row(s): {minutes}"
    )
    print(
        f"cron:     {cron.jobs:,} jobs in {cron.seconds:.1f} s, {cron.runs} run(s) of"
        f" `{bench.cron_code}`: {cron.per_s:.0f} jobs/s"
    )
    print(
        f"baseline: {baseline.jobs:,} jobs in {baseline.seconds:.1f} s, one call of"
        f" process_due_jobs_in_database: {baseline.per_s:.0f} jobs/s"
    )
    print()
    figures = {
        "jobs": args.jobs,
        "triggers": len(enqueued.trigger_times),
        "enqueue_s": f"{enqueued.seconds:.1f}",
        "cron_jobs_per_s": f"{cron.per_s:.0f}",
        "baseline_jobs_per_s": f"{baseline.per_s:.0f}",
        "ratio": f"{cron.per_s / baseline.per_s:.2f}",
        "cron_runs": cron.runs,
        "cpus": os.cpu_count(),
    }
    print(" ".join(f"{key}={value}" for key, value in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
