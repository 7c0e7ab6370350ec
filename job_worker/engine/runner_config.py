"""The runner's configuration: parsed once, validated, every value with a named default.

Values come from the ``[job_worker]`` section of the Odoo configuration file and from
``JOB_WORKER_*`` environment variables; an environment variable wins over the file. A
value that cannot be used is reported (naming the key, the value and what was expected)
and replaced by its default (a ``databases`` restriction by "none"): a worker must never
crash on its runner's configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from .candidate import LEADER_CHECK_INTERVAL_S
from .dispatcher import SHUTDOWN_GRACE_S
from .runner import DATABASE_CHECK_INTERVAL_S

RUNNER_MODES = ("auto", "on", "off")
"""``auto``: detect cron workers and stay inactive there; ``on``/``off``: force."""
MAX_THREADS = 2
"""Jobs one process runs at once by default: an HTTP worker also serves requests."""
DATABASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
DATABASE_NAME_MAX_BYTES = 63
"""PostgreSQL truncates longer names (NAMEDATALEN - 1)."""
ENVIRONMENT_PREFIX = "JOB_WORKER_"
"""``[job_worker] max_threads`` is ``JOB_WORKER_MAX_THREADS`` in the environment."""


@dataclass(frozen=True)
class RunnerConfig:
    """How the embedded runner of a process runs."""

    runner: str = "auto"
    leader_check_interval: float = LEADER_CHECK_INTERVAL_S
    max_threads: int = MAX_THREADS
    database_check_interval: float = DATABASE_CHECK_INTERVAL_S
    shutdown_grace: float = SHUTDOWN_GRACE_S
    databases: tuple[str, ...] | None = None
    """Serve only these databases (among those the server would serve); None: no restriction."""


def _mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in RUNNER_MODES:
        raise ValueError(f"expected one of {', '.join(RUNNER_MODES)}")
    return mode


def _number(low: float, high: float, kind: type) -> Callable[[str], float]:
    unit = "a whole number" if kind is int else "a number of seconds"

    def parse(text: str):
        try:
            value = kind(text.strip())
        except ValueError:
            raise ValueError(f"expected {unit} from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected {unit} from {low} to {high}")
        return value

    return parse


def _database_names(text: str) -> tuple[str, ...] | None:
    names = tuple(name for name in text.replace(",", " ").split() if name)
    if not names:
        return None  # blank: no restriction, as if unset
    for name in names:
        if not DATABASE_NAME.fullmatch(name) or len(name.encode()) > DATABASE_NAME_MAX_BYTES:
            raise ValueError(
                f"{name!r} is not a database name: expected names of letters, digits, "
                f"'_', '.' and '-', at most {DATABASE_NAME_MAX_BYTES} bytes, separated by "
                "commas"
            )
    return names


PARSERS: dict[str, Callable[[str], object]] = {
    "runner": _mode,
    "leader_check_interval": _number(0.1, 60.0, float),
    "max_threads": _number(1, 64, int),
    "database_check_interval": _number(1.0, 3600.0, float),
    "shutdown_grace": _number(0.0, 600.0, float),
    "databases": _database_names,
}
"""How each key is read; its range is part of the parser."""
REFUSED_FALLBACKS: dict[str, object] = {"databases": ()}
"""What replaces a refused value, where it is not the default: a restriction that cannot
be read serves no database, rather than every one (a staging copy running production's
jobs is worse than a runner that says why it serves nothing)."""


def parse_runner_config(
    section: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[RunnerConfig, list[str]]:
    """The configuration from a ``[job_worker]`` section and the environment, and one
    message per value that was refused (and replaced by its default)."""
    defaults = RunnerConfig()
    values, problems = {}, []
    for field in fields(RunnerConfig):
        key = field.name
        variable = ENVIRONMENT_PREFIX + key.upper()
        if variable in environ:
            source, text = variable, environ[variable]
        elif key in section:
            source, text = f"[job_worker] {key}", section[key]
        else:
            continue
        try:
            values[key] = PARSERS[key](text)
        except ValueError as error:
            fallback = REFUSED_FALLBACKS.get(key, getattr(defaults, key))
            values[key] = fallback
            problems.append(f"{source} = {text!r} is refused ({error}); using {fallback!r}")
    return RunnerConfig(**values), problems
