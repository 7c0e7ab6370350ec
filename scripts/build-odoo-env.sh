#!/usr/bin/env bash
# Build (or reuse) the Odoo 19 environment the project develops and tests against.
#
#   ODOO_PYTHON=/path/to/python    use that installation as is (it must `import odoo`)
#   ODOO_SOURCE=<tarball|folder|URL>  build .odoo/venv from that Odoo 19 source;
#                                  unset: the environment built before, if any, else
#                                  Odoo's public 19.0 source from GitHub
#
# Accepts both source layouts: git's (addons/ at the top) and Odoo's packaged tarball
# (every addon inside odoo/addons). Odoo's requirements are installed under
# scripts/odoo-constraints.txt (pins that keep gevent's process alive), with what Odoo's
# browser tests need (scripts/odoo-test-requirements.txt). The environment is reused
# while the source, its requirements and the Python interpreter are unchanged; when
# those two files change, a reused environment gets them installed in place.
#
# The last two lines of the output are shell assignments, also written to .odoo/env:
#   ODOO_PYTHON=…
#   ODOO_ADDONS_PATH=…   (the Odoo addons folders, without this project's)
set -euo pipefail

project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$project_root/.odoo"
env_file="$build_dir/env"
public_source_url="https://github.com/odoo/odoo/archive/refs/heads/19.0.tar.gz"
constraints="$project_root/scripts/odoo-constraints.txt"
test_requirements="$project_root/scripts/odoo-test-requirements.txt"

log() { echo "build-odoo-env: $*" >&2; }
die() { log "error: $*"; exit 1; }

pins_id=$(cat "$constraints" "$test_requirements" | sha256sum | cut -d' ' -f1)
# Install the pinned and the test packages into a virtualenv, unless it has these already.
apply_pins() {
    local venv=$1
    [ "$(cat "$venv/.job_worker_pins" 2>/dev/null)" = "$pins_id" ] && return 0
    log "installing the pinned and test packages into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" \
        -r "$constraints" -r "$test_requirements" \
        || die "installing scripts/odoo-constraints.txt and odoo-test-requirements.txt failed"
    echo "$pins_id" >"$venv/.job_worker_pins"
}

# The folder holding odoo/release.py, searched at most two levels down.
find_source_root() {
    local top=$1 release
    release=$(find "$top" -maxdepth 3 -path '*/odoo/release.py' -print -quit)
    [ -n "$release" ] || die "no odoo/release.py under $top: not an Odoo source"
    dirname "$(dirname "$release")"
}

# Odoo addons folders for a source root: git layout has addons/ beside odoo/.
addons_path_for() {
    local root=$1
    if [ -d "$root/addons/web" ]; then
        echo "$root/addons,$root/odoo/addons"
    else
        echo "$root/odoo/addons"
    fi
}

check_series() {
    local python=$1
    "$python" - <<'PY' || die "the Odoo found is not series 19.0"
import odoo.release as r
assert r.serie == "19.0", r.serie
PY
}

emit() {
    mkdir -p "$build_dir"
    printf 'ODOO_PYTHON=%s\nODOO_ADDONS_PATH=%s\n' "$1" "$2" | tee "$env_file"
}

if [ -n "${ODOO_PYTHON:-}" ]; then
    "$ODOO_PYTHON" -c 'import odoo' 2>/dev/null || die "ODOO_PYTHON=$ODOO_PYTHON cannot import odoo"
    check_series "$ODOO_PYTHON"
    # This project's own environment (named by .odoo/env) is kept up to its pins.
    [ "$ODOO_PYTHON" = "$build_dir/venv/bin/python" ] && apply_pins "$build_dir/venv"
    "$ODOO_PYTHON" -c 'import websocket' 2>/dev/null \
        || log "warning: $ODOO_PYTHON lacks websocket-client: Odoo's browser tests cannot run"
    # odoo is a namespace package in 19.0 (no __init__.py, no __file__): use its path.
    root=$("$ODOO_PYTHON" -c 'import odoo, os; print(os.path.dirname(next(iter(odoo.__path__))))')
    emit "$ODOO_PYTHON" "${ODOO_ADDONS_PATH:-$(addons_path_for "$root")}"
    exit 0
fi

venv="$build_dir/venv"
# No source named: an environment built earlier is good enough.
if [ -z "${ODOO_SOURCE:-}" ] && [ -f "$venv/.job_worker_stamp" ] && [ -f "$env_file" ] \
    && "$venv/bin/python" -c 'import odoo' 2>/dev/null; then
    log "reusing $venv (built from $(cut -d'|' -f1 "$venv/.job_worker_stamp"))"
    apply_pins "$venv"
    cat "$env_file"
    exit 0
fi

source=${ODOO_SOURCE:-$public_source_url}
python=${PYTHON:-python3}
"$python" -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 13)' 2>/dev/null \
    || die "$python must be Python 3.10 to 3.13 for Odoo 19 (set PYTHON=…)"

mkdir -p "$build_dir"
case "$source" in
    http://* | https://*)
        tarball="$build_dir/downloads/$(basename "$source")"
        if [ ! -s "$tarball" ]; then
            log "downloading $source"
            mkdir -p "$build_dir/downloads"
            if ! curl -fsL --retry 3 -o "$tarball.part" "$source"; then
                rm -f "$tarball.part"
                [ -n "${ODOO_SOURCE:-}" ] && die "cannot download ODOO_SOURCE=$source"
                die "no Odoo environment is built yet and $source cannot be downloaded:" \
                    "set ODOO_SOURCE to an Odoo 19 source tarball, folder or URL" \
                    "(e.g. ODOO_SOURCE=~/odoo-19.0.tar.gz make serve), or ODOO_PYTHON to a" \
                    "Python that imports Odoo 19"
            fi
            mv "$tarball.part" "$tarball"
        fi
        ;;
    *)
        [ -e "$source" ] || die "ODOO_SOURCE=$source does not exist"
        tarball=""
        [ -f "$source" ] && tarball=$(cd "$(dirname "$source")" && pwd)/$(basename "$source")
        ;;
esac

if [ -n "$tarball" ]; then
    source_id="tarball $(sha256sum "$tarball" | cut -d' ' -f1)"
    src_dir="$build_dir/src"
    if [ "$(cat "$build_dir/src.id" 2>/dev/null)" != "$source_id" ]; then
        log "unpacking $tarball"
        rm -rf "$src_dir" "$build_dir/src.id"
        mkdir -p "$src_dir"
        tar -xzf "$tarball" -C "$src_dir"
        echo "$source_id" >"$build_dir/src.id"
    fi
    root=$(find_source_root "$src_dir")
else
    root=$(find_source_root "$(cd "$source" && pwd)")
    source_id="folder $root"
fi

stamp="$source_id | $(sha256sum "$root/requirements.txt" | cut -d' ' -f1) | $("$python" -VV | tr '\n' ' ')"
if [ "$(cat "$venv/.job_worker_stamp" 2>/dev/null)" = "$stamp" ] && "$venv/bin/python" -c 'import odoo' 2>/dev/null; then
    log "reusing $venv"
else
    log "building $venv from $root"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" \
        -r "$root/requirements.txt" -r "$test_requirements" \
        || die "installing Odoo's requirements failed (system packages: libpq-dev libldap2-dev libsasl2-dev; see scripts/bootstrap-system.sh)"
    # Odoo is imported from its source folder, not installed: a .pth file puts it on sys.path.
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$root" >"$site/odoo-source.pth"
    "$venv/bin/python" -c 'import odoo' || die "the new virtualenv cannot import odoo"
    echo "$pins_id" >"$venv/.job_worker_pins"
    echo "$stamp" >"$venv/.job_worker_stamp"
fi
apply_pins "$venv"
check_series "$venv/bin/python"
emit "$venv/bin/python" "$(addons_path_for "$root")"
