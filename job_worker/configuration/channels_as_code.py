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

from ..engine.channel_spec import ChannelSpec, ChannelSpecError, parse_channel_specification
from ..engine.channel_store import ChannelConflictError, StoredChannels, store_channel_specs
from ..engine.schema import ROOT_CHANNEL
from .config_section import QUEUE_JOB_SECTION, SECTION, read_config_section

_logger = logging.getLogger(__name__)

CHANNELS_KEY = "channels"
"""The key of the specification in the ``[job_worker]`` and ``[queue_job]`` sections."""
CHANNELS_VARIABLES = ("JOB_WORKER_CHANNELS", "ODOO_QUEUE_JOB_CHANNELS")
"""Environment variables holding a specification, the first set winning."""


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
                stored = _store_channels(env, channels)
        except ChannelConflictError as error:
            result.error = str(error)
            # Another worker applying the same specification is expected (INFO); a row
            # held for seconds is not, and the specification may be applied by no one.
            _logger.log(
                logging.WARNING if error.lock_timeout else logging.INFO,
                "job_worker channels from %s: not applied by this process (%s); the next "
                "registry load applies them if they still differ",
                source.label,
                result.error,
            )
            return result
        result.created, result.updated = stored.created, stored.updated
        _log_applied(result, channels, stored.still_paused, ignored=sources[1:])
        return result
    except Exception:
        _logger.exception("job_worker channels: not applied, no channel was changed")
        return None


class _UnloggedRefusals:
    """``env.cr`` for the engine, its refused statements not logged as "bad query": a
    conflict with another worker is expected, and reported once by the caller."""

    def __init__(self, cr):
        self._cr = cr

    def execute(self, query, params=None):
        self._cr.execute(query, params, log_exceptions=False)

    def fetchone(self):
        return self._cr.fetchone()

    def fetchall(self):
        return self._cr.fetchall()


def _store_channels(env, channels: list[ChannelSpec]) -> StoredChannels:
    """Create and update channel rows to match ``channels`` (see
    :func:`~..engine.channel_store.store_channel_specs`), new ones with the model's
    defaults; the ORM's cache of channels is dropped if anything was written."""
    stored = store_channel_specs(
        _UnloggedRefusals(env.cr),
        channels,
        user_id=env.uid,
        new_channel_values=env["queue.job.channel"]
        .sudo()
        .default_get(["removal_interval", "rate_period"]),
    )
    if stored.created or stored.updated:
        env["queue.job.channel"].invalidate_model()
    return stored


def _log_applied(
    result, channels: list[ChannelSpec], still_paused: list[str], ignored: list[ChannelSource]
):
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
    for name in still_paused:
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
