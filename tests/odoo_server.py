"""Running a real Odoo 19 from the tests: ODOO_PYTHON and ODOO_ADDONS_PATH name it."""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import uuid

import pytest
from engine_import import PROJECT_ROOT
from support import drop_queue_database

ODOO_PYTHON = os.environ.get("ODOO_PYTHON")
ODOO_ADDONS_PATH = os.environ.get("ODOO_ADDONS_PATH")

requires_odoo = pytest.mark.skipif(
    not (ODOO_PYTHON and ODOO_ADDONS_PATH),
    reason="no Odoo 19: set ODOO_PYTHON and ODOO_ADDONS_PATH (scripts/build-odoo-env.sh)",
)


TEST_DATA_DIR = PROJECT_ROOT / ".odoo" / "test-data"
"""Odoo's data directory in these tests: the filestores of the databases they create."""
TEST_ADDONS = PROJECT_ROOT / "tests" / "addons"
"""Addons only the end-to-end tests install (jobs that record their executions)."""
ODOO_LAUNCHER = PROJECT_ROOT / "scripts" / "odoo-launcher"
"""Starts Odoo from a script path, which a prefork server can run again for its gevent
process (``python -m odoo`` cannot be)."""


def addons_path():
    return f"{ODOO_ADDONS_PATH},{PROJECT_ROOT},{TEST_ADDONS}"


def odoo(*arguments, stdin=None, timeout=300):
    """Run ``python -m odoo <arguments>`` and return the finished process (output captured)."""
    return subprocess.run(
        [
            ODOO_PYTHON,
            "-m",
            "odoo",
            *arguments,
            f"--addons-path={addons_path()}",
            f"--data-dir={TEST_DATA_DIR}",
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def create_database_with(modules):
    """A new database with ``modules`` installed; returns its name."""
    name = f"job_worker_e2e_{uuid.uuid4().hex[:10]}"
    process = odoo(
        "-d",
        name,
        "-i",
        modules,
        "--stop-after-init",
        "--log-level=warn",
        "--http-interface=127.0.0.1",
    )
    if process.returncode != 0:
        drop_database(name)
        raise RuntimeError(f"installing {modules} into {name} failed:\n{process.stderr[-3000:]}")
    return name


def drop_database(name):
    """Drop a database the tests created, and its filestore."""
    drop_queue_database(name)
    shutil.rmtree(TEST_DATA_DIR / "filestore" / name, ignore_errors=True)


def shell(database, script):
    """Run ``script`` in an ``odoo shell`` session on ``database``; return its stdout."""
    process = odoo("shell", "-d", database, "--log-level=warn", "--no-http", stdin=script)
    if process.returncode != 0 or "Traceback" in process.stdout + process.stderr:
        raise RuntimeError(
            f"odoo shell failed ({process.returncode}):\n{process.stdout[-3000:]}\n"
            f"{process.stderr[-3000:]}"
        )
    return process.stdout


def last_json_line(output):
    """The last line of ``output`` (a shell script's) that holds a JSON object, decoded."""
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def free_port():
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OdooServer:
    """A long-running Odoo server process on 127.0.0.1, logging to a file."""

    def __init__(self, database, log_path, *arguments):
        self.log_path = log_path
        self.port = free_port()
        self.gevent_port = free_port()
        self._log = open(log_path, "w")  # noqa: SIM115  (closed in stop/kill)
        self.process = subprocess.Popen(
            [
                ODOO_PYTHON,
                str(ODOO_LAUNCHER),
                "-d",
                database,
                f"--addons-path={addons_path()}",
                f"--data-dir={TEST_DATA_DIR}",
                "--http-interface=127.0.0.1",
                f"--http-port={self.port}",
                f"--gevent-port={self.gevent_port}",
                "--log-level=info",
                *arguments,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self):
        return self.process.pid

    def log(self):
        """What the server logged so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s=60):
        """SIGTERM, as an operator's stop; return the exit code. A server still running
        after ``timeout_s`` is killed with its children (so that it cannot disturb the
        next test), and the test fails."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            children = _children(self.pid)
            self.process.kill()
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            self.process.wait(30)
            raise AssertionError(
                f"the server {self.pid} did not stop within {timeout_s} s of SIGTERM "
                f"(killed, with its processes {children})"
            ) from None
        finally:
            self._log.close()

    def kill(self):
        """SIGKILL the server's own process (a prefork master's workers are its children)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self._log.close()


def _children(pid):
    """Pids of the processes ``pid`` started (prefork workers), from /proc."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


LOG_RECORD_START = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ )")
ADDON_FRAME = re.compile(r'File "[^"\n]*/job_worker(?:_cron|_monitor)?/')
"""A traceback line in the code of one of this repository's addons."""
ADDON_ERROR = re.compile(r"\S+ \S+ \d+ (?:ERROR|CRITICAL) \S+ odoo\.addons\.job_worker")


def job_worker_errors(log, expected=()):
    """Log records of this repository's addons at ERROR or above, and tracebacks through
    their code, except those containing one of the ``expected`` texts. (Other errors are
    not these tests' business: the trimmed Odoo's gevent process, which a prefork server
    starts for websockets, fails on its own environment, with untimestamped tracebacks.)"""
    return [
        record
        for record in LOG_RECORD_START.split(log)
        if not any(text in record for text in expected)
        and (ADDON_FRAME.search(record) or ADDON_ERROR.match(record))
    ]
