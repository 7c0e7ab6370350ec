#!/usr/bin/env bash
# Make a fresh Debian/Ubuntu machine ready: the system packages Odoo's requirements
# compile against, Chromium for the browser tests (Odoo's HttpCase finds it as
# `chromium` and runs it headless with --no-sandbox, so root is fine), a running
# PostgreSQL, and a PostgreSQL role for the current user.
# Idempotent and quick when everything is already there.
set -euo pipefail

log() { echo "bootstrap-system: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root for: $*"; exit 1
    fi
}

packages=(build-essential curl python3-venv python3-dev libpq-dev libldap2-dev libsasl2-dev
          postgresql postgresql-client chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$package")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! pg_isready -q; then
    for version in $(ls /etc/postgresql); do
        log "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    done
    for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
    pg_isready -q || { log "PostgreSQL does not answer"; exit 1; }
fi

# The tests create and drop their own databases: the current user needs CREATEDB.
if ! psql -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    user=$(id -un)
    log "creating PostgreSQL role $user"
    as_root su postgres -c "createuser --superuser '$user'"
fi
