"""Storing channel specifications: the ``queue_job_channel`` rows that parsed
:class:`~.channel_spec.ChannelSpec` entries name, created or updated to match them.

Channels are written parents first (a missing ancestor is created with no limit of its
own), and only what differs is written: processes applying the same specification at
once find nothing to write but the first. A row another transaction changes meanwhile
is left to it: the write waits for that transaction at most ``lock_timeout_ms``, then
:class:`ChannelConflictError` says which channel and why, and the caller rolls back
(a savepoint) so that nothing of the specification is half applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psycopg2.errors

from .channel_spec import ChannelSpec
from .sql import load_query

CHANNEL_LOCK_TIMEOUT_MS = 5000
"""How long a write waits for a channel row another transaction holds."""
DEFAULT_REMOVAL_INTERVAL_DAYS = 30
"""A new channel's removal interval when the specification gives none (the model's)."""

UNSET_VALUES: Mapping[str, object] = {
    "capacity": 0,
    "sequential": False,
    "rate_limit": 0,
    "rate_period": 1,
    "paused": False,
}
"""What an empty (NULL) column means to the claim; a new ancestor's settings."""
CHANNEL_SETTINGS = (*UNSET_VALUES, "removal_interval")
"""The columns a specification sets."""

CONCURRENT_CHANGE_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.UniqueViolation,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)
"""Another transaction wrote the same channels (most likely another process applying
the same specification)."""


class ChannelConflictError(Exception):
    """Another transaction changed (or still holds) ``channel`` meanwhile: nothing of the
    specification may stand, the caller rolls back. ``cause`` is PostgreSQL's error;
    ``lock_timeout`` tells a row held past the lock timeout from a concurrent change."""

    def __init__(self, channel: str, cause: psycopg2.Error, lock_timeout_ms: int):
        self.channel = channel
        self.cause = cause
        self.lock_timeout = isinstance(cause, psycopg2.errors.LockNotAvailable)
        diagnostics = getattr(cause, "diag", None)
        reason = (diagnostics and diagnostics.message_primary) or str(cause).strip()
        detail = f"{type(cause).__name__}: {reason}"
        if self.lock_timeout:
            message = (
                f"channel {channel}: another transaction has held its row for more than "
                f"{lock_timeout_ms} ms ({detail})"
            )
        else:
            message = f"channel {channel}: another transaction changed it meanwhile ({detail})"
        super().__init__(message)


@dataclass
class StoredChannels:
    """What storing a specification did: the complete names created and updated, parents
    first, and those the specification leaves unpaused that stay paused (a specification
    pauses a channel but never resumes one)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    still_paused: list[str] = field(default_factory=list)


def store_channel_specs(
    cursor,
    channels: Sequence[ChannelSpec],
    *,
    user_id: int | None = None,
    new_channel_values: Mapping[str, object] | None = None,
    lock_timeout_ms: int = CHANNEL_LOCK_TIMEOUT_MS,
) -> StoredChannels:
    """Create and update the channel rows ``channels`` name, in ``cursor``'s transaction.

    ``cursor`` is any DB-API cursor (psycopg2's, or an Odoo one that does not log the
    refusals expected here). ``user_id`` is written as the rows' creator and writer.
    ``new_channel_values`` overrides the settings a new channel gets where its entry
    sets none (:data:`UNSET_VALUES`, :data:`DEFAULT_REMOVAL_INTERVAL_DAYS`). Lock waits
    are bounded by ``lock_timeout_ms`` while writing; the setting is restored after.

    :raises ChannelConflictError: another transaction changed a channel meanwhile or
        held it too long; the transaction must be rolled back (to a savepoint).
    """
    if lock_timeout_ms < 1:
        raise ValueError(f"lock_timeout_ms must be at least 1, got {lock_timeout_ms}")
    wanted = sorted(channels, key=lambda channel: channel.complete_name.count("."))
    names = {
        name for channel in wanted for name in (*channel.ancestor_names, channel.complete_name)
    }
    rows = _read_channels(cursor, sorted(names))
    new_values = {
        **UNSET_VALUES,
        "removal_interval": DEFAULT_REMOVAL_INTERVAL_DAYS,
        **(new_channel_values or {}),
    }
    stored = StoredChannels()
    previous_lock_timeout = None
    for channel in wanted:
        for name in (*channel.ancestor_names, channel.complete_name):
            values = channel.configured_values() if name == channel.complete_name else {}
            row = rows.get(name)
            changes = values if row is None else _differences(row, values)
            if row is not None and not changes:
                continue
            if previous_lock_timeout is None:  # reads lock nothing: bound only the writes
                previous_lock_timeout = _set_lock_timeout(cursor, f"{lock_timeout_ms}ms")
            try:
                if row is None:
                    parent = rows[name.rpartition(".")[0]]["id"] if "." in name else None
                    rows[name] = _insert_channel(cursor, name, parent, new_values, values, user_id)
                    stored.created.append(name)
                else:
                    _update_channel(cursor, row, changes, user_id)
                    stored.updated.append(name)
            except CONCURRENT_CHANGE_ERRORS as error:
                raise ChannelConflictError(name, error, lock_timeout_ms) from error
    if previous_lock_timeout is not None:
        _set_lock_timeout(cursor, previous_lock_timeout)
    stored.still_paused.extend(
        channel.complete_name
        for channel in channels
        if not channel.paused and rows[channel.complete_name]["paused"]
    )
    return stored


def _read_channels(cursor, names: list[str]) -> dict[str, dict]:
    """The rows of these channels by complete name, empty columns read as the claim does."""
    cursor.execute(load_query("read_channels"), {"names": names})
    rows = {}
    for channel_id, complete_name, *settings in cursor.fetchall():
        row = dict(zip(CHANNEL_SETTINGS, settings, strict=True))
        for key, unset in UNSET_VALUES.items():
            if row[key] is None:
                row[key] = unset
        rows[complete_name] = {"id": channel_id, **row}
    return rows


def _differences(row: dict, values: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in values.items() if row[key] != value}


def _insert_channel(cursor, complete_name, parent_id, new_values, values, user_id) -> dict:
    """Insert the channel; return its row as :func:`_read_channels` reads it."""
    row = {**new_values, **values}
    cursor.execute(
        load_query("insert_channel"),
        {
            "name": complete_name.rpartition(".")[2],
            "complete_name": complete_name,
            "parent_id": parent_id,
            "user_id": user_id,
            **{key: row[key] for key in CHANNEL_SETTINGS},
        },
    )
    (channel_id,) = cursor.fetchone()
    return {"id": channel_id, **{key: row[key] for key in CHANNEL_SETTINGS}}


def _update_channel(cursor, row: dict, changes: Mapping[str, object], user_id) -> None:
    """Write ``changes`` to the channel's row (the others are left as they are)."""
    params = {key: changes.get(key) for key in CHANNEL_SETTINGS}
    cursor.execute(load_query("update_channel"), {**params, "id": row["id"], "user_id": user_id})
    row.update(changes)


def _set_lock_timeout(cursor, lock_timeout: str) -> str:
    """Set ``lock_timeout`` for the rest of the transaction; return the one it replaces."""
    cursor.execute(load_query("set_lock_timeout"), {"lock_timeout": lock_timeout})
    (previous, _) = cursor.fetchone()
    return previous
