#!/usr/bin/env bash
# Install every addon of this repository into a fresh database and run their Odoo tests.
# TAGS=/job_worker:TestClass (Odoo's --test-tags syntax) runs a part; by default every
# addon's tests run. ODOO_PYTHON and ODOO_ADDONS_PATH name Odoo (scripts/build-odoo-env.sh
# builds or reuses it when they are unset). Prints Odoo's result line ("… 0 failed,
# 0 error(s) of N tests …"); the full log is kept in .odoo/logs/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Also when they are set: the project's own environment is brought up to its pins.
odoo_env=$(bash "$root/scripts/build-odoo-env.sh") || exit 1
eval "$odoo_env"

addons=$(cd "$root" && ls -d */__manifest__.py | cut -d/ -f1 | paste -sd, -)
test_tags=${TAGS:-$(sed 's#\([^,]*\)#/\1#g' <<<"$addons")}
database="job_worker_odoo_tests_$$"
port=$("$ODOO_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$root/.odoo/logs"
log_file="$root/.odoo/logs/odoo-suites.log"

cleanup() { dropdb --if-exists "$database" 2>/dev/null || true; }
trap cleanup EXIT

echo "run-odoo-suites: installing $addons into $database and running their tests"
status=0
"$ODOO_PYTHON" -m odoo -d "$database" -i "$addons" --test-tags "$test_tags" \
    --addons-path="$ODOO_ADDONS_PATH,$root" --stop-after-init \
    --http-interface=127.0.0.1 --http-port="$port" --log-level=test \
    >"$log_file" 2>&1 || status=$?

grep -E "odoo\.tests\.(result|stats):|(ERROR|CRITICAL) " "$log_file" || true
if ! grep -q "odoo.tests.result: 0 failed, 0 error(s) of [1-9][0-9]* tests" "$log_file"; then
    echo "run-odoo-suites: the Odoo tests did not all pass (log: $log_file); its end:"
    tail -n 60 "$log_file"
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "run-odoo-suites: Odoo exited with status $status (log: $log_file)"
    tail -n 60 "$log_file"
    exit "$status"
fi
