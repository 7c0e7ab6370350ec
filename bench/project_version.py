"""Which code a benchmark measured: the project's commit, and whether the files that
matter to it differ from that commit (a figure from uncommitted code says so)."""

import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_version(measured_paths: str) -> str:
    """``<short commit>``, with `` (<paths> modified)`` when files under the git pathspec
    ``measured_paths`` have uncommitted changes; ``?`` outside a git checkout."""
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changes = _git("status", "--porcelain", "--", measured_paths)
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return f"{commit} ({measured_paths} modified)" if changes else commit


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *arguments], capture_output=True, text=True, check=True
    ).stdout.strip()
