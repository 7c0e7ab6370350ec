"""Leader election through ``pg_stat_activity``: no advisory lock, no lease table.

Each candidate holds one connection to the database it may lead, named
``job_worker:candidate:<start>:<backend pid>:<os pid>``, where ``<start>`` is the
connection's start on the database's own clock as a fixed-width UTC timestamp. Names
therefore sort as the connections started; the leader is the candidate with the smallest
name among the database's connections. When a process dies, PostgreSQL drops its
connection, its name leaves ``pg_stat_activity``, and the next oldest candidate finds
itself first at its next check.

The start is written into the name because other roles cannot read a connection's
``backend_start`` in ``pg_stat_activity``, but can read its ``application_name``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from .sql import load_query

CANDIDATE_PREFIX = "job_worker:candidate:"
"""Every candidate's election connection is named with this prefix."""
JOINING_PREFIX = "job_worker:joining:"
"""An election connection's name from its opening until it takes its candidate name."""
LEAVING_PREFIX = "job_worker:leaving:"
"""The name a stepping-down leader takes, outside the election, until it disconnects."""
ELECTION_CHANNEL = "job_worker_election"
"""NOTIFY channel on which a leader that steps down wakes the other candidates."""
START_FORMAT = "%Y%m%dT%H%M%S.%f"
"""How ``<start>`` is written (UTC): fixed width, so names sort as starts do."""


@dataclass(frozen=True)
class CandidateName:
    """A candidate's election name, and what it tells an operator."""

    application_name: str
    started_at: datetime.datetime
    backend_pid: int
    os_pid: int

    @classmethod
    def parse(cls, application_name: str) -> CandidateName:
        """Read a name made by :func:`candidate_name`; ValueError if it is not one."""
        if not application_name.startswith(CANDIDATE_PREFIX):
            raise ValueError(f"{application_name!r} is not a candidate name")
        started, backend_pid, os_pid = application_name[len(CANDIDATE_PREFIX) :].split(":")
        started_at = datetime.datetime.strptime(started, START_FORMAT).replace(
            tzinfo=datetime.timezone.utc
        )
        return cls(application_name, started_at, int(backend_pid), int(os_pid))


@dataclass(frozen=True)
class ElectionView:
    """What one check of the election saw.

    ``candidates`` are the names of the database's candidates, leader first;
    ``joining`` those of election connections not named yet.
    ``sees_itself`` is false when the checking connection did not find itself under its
    own name: a pooler rewrote the name or serves the session from another server
    connection, so nothing the view says about the order can be trusted.
    """

    own_name: str
    candidates: tuple[str, ...]
    joining: tuple[str, ...]
    sees_itself: bool

    @property
    def leader(self) -> str | None:
        """The smallest candidate name, if any candidate is connected."""
        return self.candidates[0] if self.candidates else None

    @property
    def is_leader(self) -> bool:
        """Whether the checking candidate leads (never when it cannot see itself)."""
        return self.sees_itself and self.leader == self.own_name


def joining_name(os_pid: int) -> str:
    """The name to open an election connection with: ``job_worker:joining:<os pid>``."""
    return f"{JOINING_PREFIX}{os_pid}"


def candidate_name(started: str, backend_pid: int, os_pid: int) -> str:
    """``job_worker:candidate:<start>:<backend pid>:<os pid>`` (at most 63 bytes)."""
    return f"{CANDIDATE_PREFIX}{started}:{backend_pid}:{os_pid}"


def join_election(connection, os_pid: int) -> str:
    """Enter the election of the connection's database: take the candidate name, LISTEN
    for step-downs; return the name. ``connection`` must be in autocommit mode and be
    this candidate's alone (never a pooled one: a pool would reset its name)."""
    with connection.cursor() as cursor:
        cursor.execute(load_query("election_identity"))
        started, backend_pid = cursor.fetchone()
        name = candidate_name(started, backend_pid, os_pid)
        cursor.execute("SELECT set_config('application_name', %s, false)", [name])
        cursor.execute(f"LISTEN {ELECTION_CHANNEL}")
    return name


def check_election(connection, own_name: str) -> ElectionView:
    """Look at the database's candidates now, through the candidate's own connection."""
    with connection.cursor() as cursor:
        rows = _election_rows(cursor)
    return ElectionView(
        own_name=own_name,
        candidates=tuple(name for name, _, joining in rows if not joining),
        joining=tuple(name for name, _, joining in rows if joining),
        sees_itself=any(is_self and name == own_name for name, is_self, _ in rows),
    )


def _election_rows(cursor) -> list[tuple[str, bool, bool]]:
    cursor.execute(
        load_query("election_candidates"),
        {"prefix": CANDIDATE_PREFIX, "joining_prefix": JOINING_PREFIX},
    )
    return cursor.fetchall()


def list_candidates(cursor) -> list[CandidateName]:
    """The candidates of the cursor's database, leader first (for a status report).

    The statistics snapshot is cleared first: within a transaction, PostgreSQL keeps
    showing the ``pg_stat_activity`` it read first, and the caller's transaction may
    have read it already.
    """
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    candidates = []
    for name, _, joining in _election_rows(cursor):
        if joining:
            continue
        try:
            candidates.append(CandidateName.parse(name))
        except ValueError:
            continue  # a name cut short, or someone else's lookalike: not a candidate
    return candidates


def step_down(connection, os_pid: int) -> None:
    """Leave the election at once and wake the other candidates (a graceful stop)."""
    with connection.cursor() as cursor:
        cursor.execute(
            load_query("election_step_down"),
            {"leaving_name": f"{LEAVING_PREFIX}{os_pid}", "channel": ELECTION_CHANNEL},
        )
