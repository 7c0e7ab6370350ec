#!/usr/bin/env bash
# Start a local Odoo 19 on 127.0.0.1 with job_worker loaded server-wide, on a database
# that is created and given the addon on first use.
#   JOB_WORKER_DB (default job_worker_demo), JOB_WORKER_PORT (default 8069)
#   ODOO_SOURCE / ODOO_PYTHON: which Odoo 19 (see scripts/build-odoo-env.sh); needed on
#   first use without network access
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
database=${JOB_WORKER_DB:-job_worker_demo}
port=${JOB_WORKER_PORT:-8069}

bash "$root/scripts/bootstrap-system.sh"
# The build explains itself when it cannot run (no ODOO_SOURCE offline, say): stop there.
odoo_env=$(bash "$root/scripts/build-odoo-env.sh") || exit 1
eval "$odoo_env"
addons_path="$ODOO_ADDONS_PATH,$root"

installed=$(psql -d "$database" -Atqc \
    "SELECT 1 FROM ir_module_module WHERE name = 'job_worker' AND state = 'installed'" 2>/dev/null || true)
if [ "$installed" != 1 ]; then
    echo "serve: installing job_worker into $database (about half a minute)"
    "$ODOO_PYTHON" -m odoo -d "$database" -i job_worker --addons-path="$addons_path" \
        --stop-after-init --log-level=warn --http-interface=127.0.0.1
fi

cat <<MSG
serve: Odoo at http://127.0.0.1:$port (database $database, login admin, password admin).
serve: enqueue jobs from a shell:  $ODOO_PYTHON -m odoo shell -d $database --addons-path=$addons_path
serve: then Job Queue > Jobs shows them: the server's runner runs them as they come due.
MSG
exec "$ODOO_PYTHON" -m odoo -d "$database" --addons-path="$addons_path" \
    --load=base,web,job_worker --http-interface=127.0.0.1 --http-port="$port" \
    --db-filter="^${database}\$"
