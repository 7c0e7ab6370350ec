"""Running a real Odoo 19 from the tests: ODOO_PYTHON and ODOO_ADDONS_PATH name it."""

import os
import subprocess
import uuid

import pytest
from engine_import import PROJECT_ROOT

ODOO_PYTHON = os.environ.get("ODOO_PYTHON")
ODOO_ADDONS_PATH = os.environ.get("ODOO_ADDONS_PATH")

requires_odoo = pytest.mark.skipif(
    not (ODOO_PYTHON and ODOO_ADDONS_PATH),
    reason="no Odoo 19: set ODOO_PYTHON and ODOO_ADDONS_PATH (scripts/build-odoo-env.sh)",
)


def addons_path():
    return f"{ODOO_ADDONS_PATH},{PROJECT_ROOT}"


def odoo(*arguments, stdin=None, timeout=300):
    """Run ``python -m odoo <arguments>`` and return the finished process (output captured)."""
    return subprocess.run(
        [ODOO_PYTHON, "-m", "odoo", *arguments, f"--addons-path={addons_path()}"],
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
        raise RuntimeError(f"installing {modules} into {name} failed:\n{process.stderr[-3000:]}")
    return name


def shell(database, script):
    """Run ``script`` in an ``odoo shell`` session on ``database``; return its stdout."""
    process = odoo("shell", "-d", database, "--log-level=warn", "--no-http", stdin=script)
    if process.returncode != 0 or "Traceback" in process.stdout + process.stderr:
        raise RuntimeError(
            f"odoo shell failed ({process.returncode}):\n{process.stdout[-3000:]}\n"
            f"{process.stderr[-3000:]}"
        )
    return process.stdout
