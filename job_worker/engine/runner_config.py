"""The runner's configuration: parsed once, validated, every value with a named default.

Values come from the ``[job_worker]`` section of the Odoo configuration file and from
``JOB_WORKER_*`` environment variables; an environment variable wins over the file. A
value that cannot be used is reported (naming the key, the value and what was expected)
and replaced by its default: a worker must never crash on its runner's configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from .candidate import LEADER_CHECK_INTERVAL_S
from .dispatcher import SHUTDOWN_GRACE_S
from .runner import DATABASE_CHECK_INTERVAL_S

RUNNER_MODES = ("auto", "on", "off")
"""``auto``: detect cron workers and stay inactive there; ``on``/``off``: force."""
MAX_THREADS = 2
"""Jobs one process runs at once by default: an HTTP worker also serves requests."""
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


PARSERS: dict[str, Callable[[str], object]] = {
    "runner": _mode,
    "leader_check_interval": _number(0.1, 60.0, float),
    "max_threads": _number(1, 64, int),
    "database_check_interval": _number(1.0, 3600.0, float),
    "shutdown_grace": _number(0.0, 600.0, float),
}
"""How each key is read; its range is part of the parser."""


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
            problems.append(
                f"{source} = {text!r} is refused ({error}); using {getattr(defaults, key)!r}"
            )
    return RunnerConfig(**values), problems
