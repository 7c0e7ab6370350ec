#!/usr/bin/env bash
# The OCA drop-in yardstick: OCA queue_job's own test addon, renamed mechanically, run on
# job_worker. Downloads the published wheel of test_queue_job (nothing of OCA is kept in
# this repository), renames only what a migrating integrator renames (the manifest's
# dependency, `odoo.addons.queue_job` imports, `queue_job.` xml ids), installs it with
# job_worker into a fresh database, runs its tests and prints how many passed and which
# failed. Needs the package registry; not part of `make test`.
#
# OCA_TEST_PACKAGE=name==version picks another release; KEEP_ADDON=1 keeps the ported
# addon folder (its path is printed) to read or rerun. The full log: .odoo/logs/oca-tests.log.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${ODOO_PYTHON:-}" ] || [ -z "${ODOO_ADDONS_PATH:-}" ]; then
    odoo_env=$(bash "$root/scripts/build-odoo-env.sh") || exit 1
    eval "$odoo_env"
fi

package=${OCA_TEST_PACKAGE:-odoo-addon-test-queue-job==19.0.2.2.0}
work_dir=$(mktemp -d -t job-worker-oca-tests.XXXXXX)
database="job_worker_oca_tests_$$"
mkdir -p "$root/.odoo/logs"
log_file="$root/.odoo/logs/oca-tests.log"

cleanup() {
    dropdb --if-exists "$database" 2>/dev/null || true
    if [ -z "${KEEP_ADDON:-}" ]; then rm -rf "$work_dir"; fi
}
trap cleanup EXIT

echo "port-oca-tests: downloading $package"
"$ODOO_PYTHON" -m pip download --quiet --no-deps --dest "$work_dir/wheel" "$package"
"$ODOO_PYTHON" -m zipfile -e "$work_dir"/wheel/*.whl "$work_dir/unpacked"
addons_dir="$work_dir/addons"
mkdir -p "$addons_dir"
cp -r "$work_dir/unpacked/odoo/addons/test_queue_job" "$addons_dir/"

# The rename, and nothing else: the dependency in the manifest, the import path, and
# xml ids of the queue_job module in string literals and CSV cells ("queue_job.x", not
# "test_queue_job.x", nor a variable named queue_job).
addon="$addons_dir/test_queue_job"
sed -i -E 's/"queue_job"/"job_worker"/' "$addon/__manifest__.py"
find "$addon" -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' \) -exec sed -i -E \
    -e 's/odoo\.addons\.queue_job/odoo.addons.job_worker/g' \
    -e "s/([\"'])queue_job\./\1job_worker./g" {} +
find "$addon" -type f -name '*.csv' -exec sed -i -E 's/(^|,)queue_job\./\1job_worker./g' {} +
if [ -n "${KEEP_ADDON:-}" ]; then echo "port-oca-tests: ported addon in $addons_dir"; fi

port=$("$ODOO_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "port-oca-tests: installing job_worker and test_queue_job into $database and running its tests"
status=0
"$ODOO_PYTHON" -m odoo -d "$database" -i job_worker,test_queue_job --test-tags /test_queue_job \
    --addons-path="$ODOO_ADDONS_PATH,$root,$addons_dir" --stop-after-init \
    --http-interface=127.0.0.1 --http-port="$port" --log-level=test \
    >"$log_file" 2>&1 || status=$?

result=$(grep -oE "odoo\.tests\.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$log_file" | tail -n 1 || true)
if [ -z "$result" ]; then
    echo "port-oca-tests: no test ran (Odoo exited with status $status; log: $log_file); why:"
    grep -E "^[A-Za-z_.]*(Error|Exception): |is refused|cannot be created" "$log_file" | sort -u | head -n 10 || true
    exit 1
fi
read -r failed errors total < <(sed -E 's/.*: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests/\1 \2 \3/' <<<"$result")
echo "port-oca-tests: failing tests:"
grep -oE "(FAIL|ERROR): [A-Za-z0-9_]+\.test_[A-Za-z0-9_]+" "$log_file" | sort -u | sed 's/^/  /' || true
echo "port-oca-tests: $((total - failed - errors)) passed, $((failed + errors)) failed of $total tests (log: $log_file)"
