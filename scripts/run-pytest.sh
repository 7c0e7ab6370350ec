#!/usr/bin/env bash
# One part of the pytest suite, without lint or the Odoo suites:
#   run-pytest.sh engine [pytest args]   the engine on a real PostgreSQL (no Odoo needed)
#   run-pytest.sh e2e [pytest args]      real Odoo servers end to end (Odoo is built or reused)
# A pytest node id runs alone: run-pytest.sh engine tests/test_claim.py::test_name
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
part=${1:?usage: run-pytest.sh engine|e2e [pytest args]}
shift

bash scripts/bootstrap-system.sh
bash scripts/dev-tools.sh
case "$part" in
    engine)
        unset ODOO_PYTHON ODOO_ADDONS_PATH
        exec .venv/bin/python -m pytest -m "not odoo" "$@"
        ;;
    e2e)
        odoo_env=$(bash scripts/build-odoo-env.sh) || exit 1
        eval "$odoo_env"
        export ODOO_PYTHON ODOO_ADDONS_PATH
        exec .venv/bin/python -m pytest -m odoo "$@"
        ;;
    *)
        echo "run-pytest.sh: unknown part '$part' (engine or e2e)" >&2
        exit 2
        ;;
esac
