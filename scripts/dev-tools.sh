#!/usr/bin/env bash
# Build (or reuse) .venv with the tools of requirements-dev.txt: pytest, ruff, psycopg2.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
stamp=$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)
if [ "$(cat "$venv/.requirements-stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "dev-tools: building $venv" >&2
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
    echo "$stamp" >"$venv/.requirements-stamp"
fi
