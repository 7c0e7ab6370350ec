"""Leader election through ``pg_stat_activity``: no advisory lock, no lease table.

Each candidate holds one connection to the database it may lead, named
``job_worker:candidate:<start>:<backend pid>:<os pid>``, where ``<start>`` is the
connection's start on the database's own clock as a fixed-width UTC timestamp. Names
therefore sort as the connections started; the leader is the candidate with the smallest
name among the database's connections. When a process dies, PostgreSQL drops its
connection, its name leaves ``pg_stat_activity``, and the next oldest candidate finds
itself first at its next check.

The start is written into the name so that an operator (or a role that cannot read a
connection's ``backend_start``) can read the order from the names alone.

Names are not trusted on their own: any role allowed to connect can name its connection
like a candidate. Only connections that logged in as the checking connection's own role
take part (``pg_stat_activity.usesysid``, shown for every row to every role), and a
candidate name counts only when it tells the truth about the connection carrying it:
it parses, and its start and backend pid are that connection's own. A connection
still joining holds an election back only if it connected before the checking one, and
the candidate bounds how long it waits for such connections (see :mod:`.candidate`).
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
        """Read a name made by :func:`candidate_name`; ValueError if it is not exactly one
        (``int()`` alone would also take ``+1`` or ``1_0``)."""
        if not application_name.startswith(CANDIDATE_PREFIX):
            raise ValueError(f"{application_name!r} is not a candidate name")
        started, backend_pid, os_pid = application_name[len(CANDIDATE_PREFIX) :].split(":")
        started_at = datetime.datetime.strptime(started, START_FORMAT).replace(
            tzinfo=datetime.timezone.utc
        )
        parsed = cls(application_name, started_at, int(backend_pid), int(os_pid))
        if candidate_name(started, parsed.backend_pid, parsed.os_pid) != application_name:
            raise ValueError(f"{application_name!r} is not a candidate name")
        return parsed

    def is_name_of(self, backend_pid: int, backend_start: datetime.datetime | None) -> bool:
        """Whether this name tells the truth about the connection carrying it: its start
        and its backend pid are that connection's (a name copied from another connection,
        or claiming an earlier start, does not)."""
        return self.backend_pid == backend_pid and self.started_at == backend_start


@dataclass(frozen=True)
class ElectionView:
    """What one check of the election saw.

    ``candidates`` are the names of the database's candidates, leader first;
    ``joining`` those of election connections not named yet that connected before the
    checking one (only those could come first once named).
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


def is_joining_name(application_name: str) -> bool:
    """Whether ``application_name`` is exactly a name made by :func:`joining_name`."""
    os_pid = application_name.removeprefix(JOINING_PREFIX)
    return os_pid.isascii() and os_pid.isdigit() and joining_name(int(os_pid)) == application_name


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
    """Look at the database's candidates now, through the candidate's own connection.

    Only connections of the connection's own role count; among them, a candidate name
    that does not parse or does not match its connection, and a joining name that does
    not parse, are ignored.
    """
    with connection.cursor() as cursor:
        rows = _election_rows(cursor)
    return ElectionView(
        own_name=own_name,
        candidates=tuple(candidate.application_name for candidate in _true_candidates(rows)),
        joining=tuple(row.name for row in rows if row.joining and is_joining_name(row.name)),
        sees_itself=any(row.is_self and row.name == own_name for row in rows),
    )


@dataclass(frozen=True)
class _ElectionRow:
    name: str
    pid: int
    backend_start: datetime.datetime | None
    is_self: bool
    joining: bool


def _election_rows(cursor) -> list[_ElectionRow]:
    cursor.execute(
        load_query("election_candidates"),
        {"prefix": CANDIDATE_PREFIX, "joining_prefix": JOINING_PREFIX},
    )
    return [_ElectionRow(*row) for row in cursor.fetchall()]


def _true_candidates(rows: list[_ElectionRow]) -> list[CandidateName]:
    """The candidate names that parse and tell the truth about their connection, in
    election order; the rest (a name cut short, a lookalike, a copy) take no part."""
    candidates = []
    for row in rows:
        if row.joining:
            continue
        try:
            candidate = CandidateName.parse(row.name)
        except ValueError:
            continue
        if candidate.is_name_of(row.pid, row.backend_start):
            candidates.append(candidate)
    return candidates


def list_candidates(cursor) -> list[CandidateName]:
    """The candidates of the cursor's database, leader first (for a status report):
    those :func:`check_election` counts, seen as the cursor's role.

    The statistics snapshot is cleared first: within a transaction, PostgreSQL keeps
    showing the ``pg_stat_activity`` it read first, and the caller's transaction may
    have read it already.
    """
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    return _true_candidates(_election_rows(cursor))


def step_down(connection, os_pid: int) -> None:
    """Leave the election at once and wake the other candidates (a graceful stop)."""
    with connection.cursor() as cursor:
        cursor.execute(
            load_query("election_step_down"),
            {"leaving_name": f"{LEAVING_PREFIX}{os_pid}", "channel": ELECTION_CHANNEL},
        )
