"""Channels as code: the channel specification of the environment or the configuration
file, applied to ``queue.job.channel`` each time a process loads the registry.

Where the specification comes from, the first one set winning (the others are ignored,
and the log says so):

1. the environment variable ``JOB_WORKER_CHANNELS``, then ``ODOO_QUEUE_JOB_CHANNELS``
   (OCA ``queue_job``'s);
2. ``channels`` in the ``[job_worker]`` section of Odoo's configuration file, then in
   the ``[queue_job]`` section (OCA's).

Over the database: a channel the specification names gets the specification's settings
at every registry load (its parents are created when missing); a channel it does not
name keeps what was edited in the UI. Only values that differ are written, so processes
loading the registry together find nothing to write but the first; the writes happen in
one savepoint, all or nothing. A specification that cannot be used is logged at ERROR,
naming the entry at fault, and changes nothing; nothing here ever stops a server or an
install.
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from odoo.tools import SQL
from psycopg2 import errors as pg_errors

from ..engine.channel_spec import ChannelSpec, ChannelSpecError, parse_channel_specification
from ..engine.schema import ROOT_CHANNEL
from .config_section import QUEUE_JOB_SECTION, SECTION, read_config_section

_logger = logging.getLogger(__name__)

CHANNELS_KEY = "channels"
"""The key of the specification in the ``[job_worker]`` and ``[queue_job]`` sections."""
CHANNELS_VARIABLES = ("JOB_WORKER_CHANNELS", "ODOO_QUEUE_JOB_CHANNELS")
"""Environment variables holding a specification, the first set winning."""
CHANNEL_LOCK_TIMEOUT_MS = 5000
"""How long a registry load waits for a channel row another transaction holds."""

CONCURRENT_CHANGE_ERRORS = (
    pg_errors.SerializationFailure,
    pg_errors.UniqueViolation,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)
"""Another transaction wrote the same channels (most likely another worker applying the
same specification): this process leaves them to it."""

_UNSET_VALUES = {"capacity": 0, "sequential": False, "rate_limit": 0, "rate_period": 1}
"""What an empty (NULL) column means to the claim, and a new parent channel's settings."""
_COMPARED_FIELDS = (*_UNSET_VALUES, "paused", "removal_interval")


@dataclass(frozen=True)
class ChannelSource:
    """A channel specification and where it was found (``ODOO_QUEUE_JOB_CHANNELS``,
    ``[queue_job] channels``...)."""

    label: str
    text: str


@dataclass
class ChannelConfigurationResult:
    """What applying the winning specification did: the channels it created and updated,
    or why it changed nothing (``error``)."""

    source: ChannelSource
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    error: str | None = None


def find_channel_sources(environ: Mapping[str, str] | None = None) -> list[ChannelSource]:
    """Every channel specification set for this process, the winning one first.

    A blank value counts as unset, as in OCA ``queue_job``.
    """
    environ = os.environ if environ is None else environ
    sources = [
        ChannelSource(variable, environ[variable])
        for variable in CHANNELS_VARIABLES
        if environ.get(variable, "").strip()
    ]
    for section in (SECTION, QUEUE_JOB_SECTION):
        text = read_config_section(section).get(CHANNELS_KEY, "")
        if text.strip():
            sources.append(ChannelSource(f"[{section}] {CHANNELS_KEY}", text))
    return sources


def apply_configured_channels(
    env, environ: Mapping[str, str] | None = None
) -> ChannelConfigurationResult | None:
    """Apply the winning channel specification to the database of ``env``.

    Returns ``None`` when no specification is set. Never raises: a refused specification,
    a concurrent change or an unexpected error is logged, and nothing is changed.
    """
    try:
        sources = find_channel_sources(environ)
        if not sources:
            return None
        source = sources[0]
        result = ChannelConfigurationResult(source)
        try:
            channels = parse_channel_specification(source.text)
        except ChannelSpecError as error:
            result.error = str(error)
            _logger.error(
                "job_worker channels: %s is refused, no channel was changed: %s",
                source.label,
                error,
            )
            return result
        try:
            with env.cr.savepoint():
                result.created, result.updated = _write_channels(env, channels)
        except CONCURRENT_CHANGE_ERRORS as error:
            result.error = f"{type(error).__name__}: {error}".strip()
            _logger.info(
                "job_worker channels from %s: not applied by this process, another "
                "transaction changed the same channels meanwhile (%s); the next registry "
                "load applies them if they still differ",
                source.label,
                result.error,
            )
            return result
        _log_applied(env, result, channels, ignored=sources[1:])
        return result
    except Exception:
        _logger.exception("job_worker channels: not applied, no channel was changed")
        return None


def _write_channels(env, channels: list[ChannelSpec]) -> tuple[list[str], list[str]]:
    """Create and update channel rows to match ``channels``; the names created and updated.

    Plain SQL, quiet on errors: a conflict with another worker is expected, and is
    reported once by the caller rather than as a failed query. The values written are
    valid by construction (the parser checked them as the model's constraints would).
    """
    cr = env.cr
    wanted = sorted(channels, key=lambda channel: channel.complete_name.count("."))
    names = {
        name for channel in wanted for name in (*channel.ancestor_names, channel.complete_name)
    }
    current = _read_channels(cr, sorted(names))
    new_channel = {
        **_UNSET_VALUES,
        "paused": False,
        **env["queue.job.channel"].sudo().default_get(["removal_interval", "rate_period"]),
    }
    created, updated = [], []
    lock_timeout = None
    for channel in wanted:
        for name in (*channel.ancestor_names, channel.complete_name):
            values = channel.configured_values() if name == channel.complete_name else {}
            row = current.get(name)
            if row is None:
                lock_timeout = lock_timeout or _limit_lock_wait(cr)
                parent_id = current[name.rpartition(".")[0]]["id"] if "." in name else None
                row = {**new_channel, **values}
                row["id"] = _insert_channel(cr, env.uid, name, parent_id, row)
                current[name] = row
                created.append(name)
                continue
            changes = {key: value for key, value in values.items() if row[key] != value}
            if changes:
                lock_timeout = lock_timeout or _limit_lock_wait(cr)
                _update_channel(cr, env.uid, row["id"], changes)
                row.update(changes)
                updated.append(name)
    if lock_timeout is not None:
        cr.execute(SQL("SELECT set_config('lock_timeout', %s, true)", lock_timeout))
        env["queue.job.channel"].invalidate_model()
    return created, updated


def _read_channels(cr, names: list[str]) -> dict[str, dict]:
    """The rows of these channels by complete name, empty columns read as the claim does."""
    cr.execute(
        SQL(
            "SELECT id, complete_name, %s FROM queue_job_channel WHERE complete_name = ANY(%s)",
            SQL(", ").join(SQL.identifier(name) for name in _COMPARED_FIELDS),
            names,
        )
    )
    rows = {}
    for values in cr.dictfetchall():
        for key, unset in _UNSET_VALUES.items():
            if values[key] is None:
                values[key] = unset
        values["paused"] = bool(values["paused"])
        rows[values.pop("complete_name")] = values
    return rows


def _limit_lock_wait(cr) -> str:
    """Bound lock waits for the rest of the writes; return the setting to restore."""
    cr.execute("SELECT current_setting('lock_timeout')")
    (previous,) = cr.fetchone()
    cr.execute(SQL("SELECT set_config('lock_timeout', %s, true)", f"{CHANNEL_LOCK_TIMEOUT_MS}ms"))
    return previous


def _insert_channel(cr, uid, complete_name: str, parent_id, values: dict) -> int:
    cr.execute(
        SQL(
            """INSERT INTO queue_job_channel (name, complete_name, parent_id, %s,
                   create_uid, create_date, write_uid, write_date)
               VALUES (%s, %s, %s, %s, %s, now() AT TIME ZONE 'UTC',
                       %s, now() AT TIME ZONE 'UTC')
               RETURNING id""",
            SQL(", ").join(SQL.identifier(name) for name in _COMPARED_FIELDS),
            complete_name.rpartition(".")[2],
            complete_name,
            parent_id,
            SQL(", ").join(values[name] for name in _COMPARED_FIELDS),
            uid,
            uid,
        ),
        log_exceptions=False,
    )
    return cr.fetchone()[0]


def _update_channel(cr, uid, channel_id: int, changes: dict) -> None:
    cr.execute(
        SQL(
            """UPDATE queue_job_channel
               SET %s, write_uid = %s, write_date = now() AT TIME ZONE 'UTC'
               WHERE id = %s""",
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(name), value) for name, value in changes.items()
            ),
            uid,
            channel_id,
        ),
        log_exceptions=False,
    )


def _log_applied(env, result, channels: list[ChannelSpec], ignored: list[ChannelSource]):
    """One line for operators: what was applied from where; and what differs from OCA."""
    changed = []
    if result.created:
        changed.append(f"created {', '.join(result.created)}")
    if result.updated:
        changed.append(f"updated {', '.join(result.updated)}")
    _logger.info(
        "job_worker channels from %s (%s): %s%s",
        result.source.label,
        ", ".join(channel.token for channel in channels) or "no channel",
        "; ".join(changed) or "already applied",
        f"; ignored, as {result.source.label} wins: {', '.join(s.label for s in ignored)}"
        if ignored
        else "",
    )
    unpaused = [channel.complete_name for channel in channels if not channel.paused]
    if unpaused:
        env.cr.execute(
            "SELECT complete_name FROM queue_job_channel WHERE paused AND complete_name = ANY(%s)",
            [unpaused],
        )
        for (name,) in env.cr.fetchall():
            _logger.info(
                "job_worker channels: %s stays paused (paused in the database); the "
                "specification pauses channels but never resumes them: resume it in "
                "Job Queue > Configuration > Channels",
                name,
            )
    if any(channel.complete_name == ROOT_CHANNEL and channel.capacity == 0 for channel in channels):
        _logger.warning(
            "job_worker channels: root:0 in %s gives root no capacity limit of its own "
            "(jobs are then bounded by each worker's max_threads and the sub-channels' "
            "capacities). In OCA queue_job, root:0 kept the process from starting its job "
            "runner; here, to keep a process from running jobs, set [job_worker] runner = "
            "off (JOB_WORKER_RUNNER=off)",
            result.source.label,
        )
