"""Make ``job_worker.engine`` importable without Odoo, as ``tests/conftest.py`` does,
and the tests' framework-free helpers (``tests/``) importable by the benchmarks.

The addon's ``__init__`` imports Odoo; the engine does not. Registering a bare
``job_worker`` package whose ``__path__`` is the addon's folder lets ``job_worker.engine``
import on its own. Import this module before anything from ``job_worker``.
"""

import sys
import types
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if "job_worker" not in sys.modules:
    _addon_package = types.ModuleType("job_worker")
    _addon_package.__path__ = [str(PROJECT_ROOT / "job_worker")]
    sys.modules["job_worker"] = _addon_package

TESTS_DIR = str(PROJECT_ROOT / "tests")
if TESTS_DIR not in sys.path:
    sys.path.append(TESTS_DIR)
