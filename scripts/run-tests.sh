#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. lint (ruff check, ruff format --check);
#   2. pytest: the engine on a real PostgreSQL, and Odoo end to end when Odoo is there;
#   3. every addon of this repository installed into a fresh database, its Odoo tests run.
# Odoo comes from scripts/build-odoo-env.sh (ODOO_PYTHON, or ODOO_SOURCE, or the
# environment built before). When none can be had, step 3 is skipped with one line
# saying why, and JOB_WORKER_REQUIRE_ODOO=1 (set by CI) turns that into a failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { echo "run-tests: $*" >&2; }

bash scripts/bootstrap-system.sh
bash scripts/dev-tools.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .

if odoo_env=$(bash scripts/build-odoo-env.sh 2>.odoo-build.log); then
    eval "$odoo_env"
    export ODOO_PYTHON ODOO_ADDONS_PATH
    rm -f .odoo-build.log
else
    reason=$(grep 'error:' .odoo-build.log | tail -1 | sed 's/^build-odoo-env: error: //')
    rm -f .odoo-build.log
    echo "Odoo suites skipped: no Odoo 19 could be had (${reason:-see scripts/build-odoo-env.sh})"
    unset ODOO_PYTHON ODOO_ADDONS_PATH
    if [ "${JOB_WORKER_REQUIRE_ODOO:-0}" = 1 ]; then
        log "JOB_WORKER_REQUIRE_ODOO=1: the Odoo suites must run"
        exit 1
    fi
fi

.venv/bin/python -m pytest "$@"

[ -n "${ODOO_PYTHON:-}" ] || exit 0
bash scripts/run-odoo-suites.sh
