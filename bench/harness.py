"""What every engine measurement shares: its database, the queue in it, a dispatcher in a
thread, waiting, the machine's description, and the report with its ``key=value`` line.

A measurement is a module (``throughput.py``, ``wakeup_latency.py``, ``claim_at_scale.py``,
``recovery_time.py``) with:

- ``QUICK``: its smallest sizes, as option defaults, for ``--quick``;
- ``add_arguments(parser)``: its own options;
- ``measure(bench, args)``: runs it on a :class:`Bench` and returns its result, whose
  ``add_figures(report)`` puts its figures in the :class:`Report` and
  ``print_details(args)`` prints what lies behind them.

:func:`run_measurements` runs some of them on one fresh database and prints the report:
``engine.py`` runs them all, each module alone runs itself.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import platform
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import engine_import  # noqa: F401  (registers the bare job_worker package)
import psycopg2
from project_version import project_version
from statement_profile import ProfiledConnection

from job_worker.engine.connection import connect_engine
from job_worker.engine.dispatcher import Dispatcher, DispatcherConfig
from job_worker.engine.events import engine_events
from job_worker.engine.schema import install_schema

BENCH_DIR = Path(__file__).resolve().parent
ADMIN_DATABASE = os.environ.get("JOB_WORKER_BENCH_ADMIN_DB", "postgres")
CAPACITY = 4
"""The root channel's capacity and the dispatcher's max_threads in every measurement."""
WAIT_TIMEOUT_S = 300.0
"""Longest wait for anything (a drain, a wake-up, a recovery) before the bench fails."""

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
RAW_INDEX_DEFINITION = (
    f"CREATE INDEX {RAW_INDEX} ON queue_job (priority, id) WHERE state = 'pending'"
)
RAW_DONE = """
UPDATE queue_job
SET state = 'done', date_done = (clock_timestamp() AT TIME ZONE 'UTC')
WHERE id = %(job_id)s
"""

_started = time.perf_counter()


def progress(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the bench started."""
    print(f"[{time.perf_counter() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


def connect(dbname: str, **params):
    """A psycopg2 connection to ``dbname`` (libpq environment for the rest)."""
    return psycopg2.connect(dbname=dbname, **params)


def percentile(values, fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of them at or below."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[rank - 1]


# -- the queue under measurement -------------------------------------------------------


class Bench:
    """The bench database's queue, seen from an admin connection, and the dispatchers and
    child processes a measurement starts on it."""

    def __init__(self, dbname: str):
        self.dbname = dbname
        self.admin = connect(dbname, application_name="job_worker:bench-admin")
        self.admin.autocommit = True
        self._dispatchers = 0
        self._dispatcher_thread: threading.Thread | None = None
        self.children = []

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

    def close(self) -> None:
        """Kill the child processes still running, and close the admin connection."""
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait()
        self.admin.close()


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


# -- the machine -----------------------------------------------------------------------


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
    """Rows as aligned columns, the first row a header underlined with dashes."""
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


@dataclass(frozen=True)
class Figure:
    """One figure: its key, its value (in the key=value line), how the table shows it,
    what it measured, and its target (``(">=", 0.5)``), if it has one."""

    key: str
    value: object
    shown: str
    what: str
    target: tuple[str, float] | None = None

    def status(self) -> tuple[str, str]:
        """The target as the table shows it, and ``ok`` or ``MISSED``."""
        if self.target is None:
            return "", ""
        operator, limit = self.target
        met = self.value >= limit if operator == ">=" else self.value <= limit
        return f"{operator} {limit:g}", "ok" if met else "MISSED"


class Report:
    """The figures of one run: the table that shows them and the ``key=value`` line.

    The figures each measurement reports come first, in the order the measurements ran,
    then those for information only (:meth:`informative`), then the run's settings: the
    same keys in the same order as every run before, so that figures stay comparable.
    """

    def __init__(self, args, info):
        self.args = args
        self.info = info
        self._figures: list[Figure] = []
        self._informative: list[Figure] = []

    def figure(self, key, value, shown, what, target=None) -> None:
        self._figures.append(Figure(key, value, shown, what, target))

    def informative(self, key, value, shown, what) -> None:
        self._informative.append(Figure(key, value, shown, what))

    def figures(self) -> list[Figure]:
        return [*self._figures, *self._informative]

    def values(self) -> dict[str, object]:
        values = {figure.key: figure.value for figure in self.figures()}
        values["jit"] = "off" if self.args.jit == "off" else self.info["jit"]
        values["cpus"] = self.info["cpus"]
        values["pg_version"] = self.info["pg_version"].split()[0]
        return values

    def print_header(self) -> None:
        info = self.info
        print(f"\nOdoo Job Worker engine benchmark (project commit {info['engine']})")
        print(f"machine:    {info['cpus']} CPUs ({info['cpu_model']}), {info['platform']}")
        print(f"load:       {info['load']} at the start, {load_average()} at the end (1/5/15 min)")
        print(f"software:   Python {info['python']}, psycopg2 {info['psycopg2']}")
        print(f"postgresql: {info['pg_full_version']}")
        print(f"            host {info['pg_host']}; {info['pg_settings']}")
        if self.args.jit == "off":
            print("            bench database: ALTER DATABASE ... SET jit = off (see README)")
        if self.args.quick:
            print("            --quick: the smallest sizes, a check that it works, not figures")

    def print_table(self) -> None:
        rows = [("figure", "value", "target", "", "what")]
        for figure in self.figures():
            rows.append((figure.key, figure.shown, *figure.status(), figure.what))
        print_table(rows)

    def key_value_line(self) -> str:
        return " ".join(f"{key}={value}" for key, value in self.values().items())


# -- running measurements --------------------------------------------------------------


def ignore_event(event) -> None:
    """The no-op subscriber of ``--subscriber noop``."""


def parse_args(measurements, argv, description: str):
    """The options of the bench and of each measurement; ``--quick`` turns every size
    default into the measurement's smallest (options given still win)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the smallest sizes: checks that the bench works, in seconds (not figures)",
    )
    parser.add_argument(
        "--jit",
        choices=("off", "server"),
        default="server",
        help="server (default): keep the server's setting, as a deployment would (the"
        " engine turns JIT off for its own sessions); off: ALTER DATABASE <bench> SET"
        " jit = off, for the jobs' connections too (see README)",
    )
    parser.add_argument(
        "--subscriber",
        choices=("none", "noop"),
        default="none",
        help="none (default): no one listens to the engine's events, as in a process"
        " without the operator log; noop: one subscriber that does nothing, the cost of"
        " building and emitting every event",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=WAIT_TIMEOUT_S,
        help=f"seconds a drain may take before the bench fails ({WAIT_TIMEOUT_S:.0f})",
    )
    for measurement in measurements:
        measurement.add_arguments(parser)
    known, _ = parser.parse_known_args(argv)
    if known.quick:
        for measurement in measurements:
            parser.set_defaults(**measurement.QUICK)
    return parser.parse_args(argv)


def run_measurements(measurements, argv=None, description: str = "") -> int:
    """Run ``measurements`` (modules, in order) on one fresh database; print the report,
    the details of each, and last the ``key=value`` line."""
    args = parse_args(measurements, argv, description.split("\n\n")[0])
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
        bench = Bench(dbname)
        try:
            info = machine_info()
            results = [measurement.measure(bench, args) for measurement in measurements]
        finally:
            bench.close()

    report = Report(args, info)
    for result in results:
        result.add_figures(report)
    report.print_header()
    print()
    report.print_table()
    for result in results:
        result.print_details(args)
    print()
    print(report.key_value_line())
    return 0
