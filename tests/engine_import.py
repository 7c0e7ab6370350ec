"""Make ``job_worker.engine`` importable without Odoo; import this before ``job_worker``.

The addon's ``__init__`` imports Odoo; the engine does not. Registering a bare
``job_worker`` package whose ``__path__`` is the addon's folder lets ``job_worker.engine``
import on its own. ``conftest.py`` imports this module, and so does every module that
child processes (started with ``spawn``, as fresh interpreters) import by name.
"""

import sys
import types
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if "job_worker" not in sys.modules:
    _addon_package = types.ModuleType("job_worker")
    _addon_package.__path__ = [str(PROJECT_ROOT / "job_worker")]
    sys.modules["job_worker"] = _addon_package
