"""The engine imports nothing from Odoo: every module of ``job_worker/engine`` imports in
a fresh interpreter in which any ``odoo`` import fails, even where Odoo is installed."""

import subprocess
import sys

from engine_import import PROJECT_ROOT

ENGINE_DIR = PROJECT_ROOT / "job_worker" / "engine"

IMPORT_EVERY_ENGINE_MODULE = f"""
import importlib, importlib.abc, pathlib, sys

class RefuseOdoo(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "odoo" or name.startswith("odoo."):
            raise ImportError(f"the engine imported {{name}}")
        return None

sys.meta_path.insert(0, RefuseOdoo())
sys.path.insert(0, {str(PROJECT_ROOT / "tests")!r})
import engine_import  # the bare job_worker package, as the engine's tests use it

for path in sorted(pathlib.Path({str(ENGINE_DIR)!r}).glob("*.py")):
    importlib.import_module(f"job_worker.engine.{{path.stem}}".removesuffix(".__init__"))
print(len(list(pathlib.Path({str(ENGINE_DIR)!r}).glob("*.py"))))
"""


def test_every_engine_module_imports_without_odoo():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_ENGINE_MODULE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == len(list(ENGINE_DIR.glob("*.py")))
