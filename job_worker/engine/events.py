"""The engine's event stream: what happened, as named events, to whoever subscribes.

The engine emits an event for each thing an operator or a monitor may want to see: a job
claimed, started, settled (with its outcome and timings), retried, recovered from a dead
processor, timed out; a candidate joining the election, changing role, a leader elected or
stepping down; finished jobs pruned. Operator logging is one subscriber
(:mod:`.operator_log`); a monitor is another.

Subscribers are called synchronously, on the engine thread that emits, in the order
they subscribed: keep them quick (hand the event to a queue for anything slow). One that
raises is logged and skipped; the engine and the other subscribers carry on.

Emitting costs nothing when no one listens: every emitter checks
:attr:`EventStream.has_subscribers` before it even builds the event::

    if engine_events.has_subscribers:
        engine_events.emit(JobStarted(...))

Events are emitted once what they report holds in the database (committed).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import Connection
    from .recovery import RecoveredJob

_logger = logging.getLogger(__name__)


# -- jobs --------------------------------------------------------------------------------


class SettledOutcome(enum.Enum):
    """How one execution of a job ended."""

    DONE = "done"
    FAILED = "failed"  # for good: its exception is kept on the job
    RETRIED = "retried"  # back to pending for another attempt (see JobRetried)
    CONFLICT_RERUN = "conflict_rerun"  # every run hit a serialization conflict: pending
    # again soon, its attempt not counted, to run in a fresh transaction
    LOST = "lost"  # taken from this processor before it settled (recovered): left as it is


@dataclass(frozen=True, slots=True)
class JobClaimed:
    """A processor committed the job as ``started`` and owns it (``owner``)."""

    database: str
    job_id: int
    uuid: str
    func_name: str
    channel: str
    attempt: int
    owner: str
    waited_s: float  # from when the job was due (created, or its ETA) to its claim

    @classmethod
    def of(cls, job) -> JobClaimed:
        """The event of a claimed job (a :class:`~.claim.ClaimedJob`)."""
        return cls(
            job.database,
            job.id,
            job.uuid,
            job.func_name,
            job.channel,
            job.attempt,
            job.owner,
            job.waited_s,
        )


@dataclass(frozen=True, slots=True)
class JobStarted:
    """The job's row is locked in its own transaction; its method is about to run."""

    database: str
    job_id: int
    uuid: str
    func_name: str
    channel: str
    attempt: int
    owner: str

    @classmethod
    def of(cls, job) -> JobStarted:
        """The event of a claimed job (a :class:`~.claim.ClaimedJob`) about to run."""
        return cls(
            job.database, job.id, job.uuid, job.func_name, job.channel, job.attempt, job.owner
        )


@dataclass(frozen=True, slots=True)
class JobSettled:
    """The job's outcome is committed (or, ``LOST``, it was no longer this processor's).

    ``run_s`` runs from the start of its execution to its settlement, conflict reruns
    included; ``conflict_reruns`` counts the runs started again after a serialization
    conflict; ``reason`` is the exception (``name: message``) of a failure or a retry.
    """

    database: str
    job_id: int
    uuid: str
    func_name: str
    channel: str
    outcome: SettledOutcome
    attempt: int
    waited_s: float
    run_s: float
    conflict_reruns: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class JobRetried:
    """The job went back to pending, to run again in ``delay_s``; ``attempt_spent``:
    whether this attempt counts against its ``max_retries``."""

    database: str
    job_id: int
    uuid: str
    func_name: str
    attempt: int
    delay_s: float
    attempt_spent: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class JobRecovered:
    """A started job whose processor died was taken back: ``state`` is ``pending`` (for
    another attempt) or ``failed`` (its attempts spent); ``by`` is the recovering connection."""

    database: str
    job_id: int
    uuid: str
    state: str
    attempt: int
    by: str


@dataclass(frozen=True, slots=True)
class JobTimedOut:
    """The job ran past its timeout; its method is being interrupted."""

    database: str
    job_id: int
    uuid: str
    func_name: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class JobsPruned:
    """Finished jobs past their channel's removal interval were deleted (``jobs``), and
    rate-limit starts past their window (``channel_starts``)."""

    database: str
    jobs: int
    channel_starts: int


# -- the election ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandidateJoined:
    """A candidate took its election name ``name`` in ``database``."""

    database: str
    name: str


@dataclass(frozen=True, slots=True)
class CandidateRoleChanged:
    """A candidate's role changed (``role`` is a :class:`~.candidate.Role` value), or the
    leader it follows did; ``reason`` says why, for an operator."""

    database: str
    name: str | None
    role: str
    reason: str
    leader: str | None
    os_pid: int


@dataclass(frozen=True, slots=True)
class LeaderElected:
    """The candidate ``name`` leads ``database`` now: its dispatcher runs."""

    database: str
    name: str
    os_pid: int


@dataclass(frozen=True, slots=True)
class LeaderSteppedDown:
    """The candidate ``name`` no longer leads ``database``; ``handed_over``: it stepped
    down on purpose (stopping), waking the other candidates at once, rather than losing
    the election or its connection."""

    database: str
    name: str | None
    os_pid: int
    handed_over: bool
    reason: str


EngineEvent = (
    JobClaimed
    | JobStarted
    | JobSettled
    | JobRetried
    | JobRecovered
    | JobTimedOut
    | JobsPruned
    | CandidateJoined
    | CandidateRoleChanged
    | LeaderElected
    | LeaderSteppedDown
)
"""Every event the engine emits."""

Subscriber = Callable[[EngineEvent], object]
"""Called with each event; what it returns is ignored."""


# -- the stream --------------------------------------------------------------------------


class EventStream:
    """Subscribers, and the emission of events to them; thread-safe."""

    def __init__(self) -> None:
        # Replaced, never changed in place: emit() reads it without taking the lock.
        self._subscribers: tuple[Subscriber, ...] = ()
        self._lock = threading.Lock()

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone listens: emitters build no event otherwise."""
        return bool(self._subscribers)

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` with every event from now on (once, however often it is
        subscribed)."""
        with self._lock:
            if subscriber not in self._subscribers:
                self._subscribers = (*self._subscribers, subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop calling ``subscriber``; nothing happens if it was not subscribed."""
        with self._lock:
            self._subscribers = tuple(known for known in self._subscribers if known != subscriber)

    def emit(self, event: EngineEvent) -> None:
        """Call every subscriber with ``event``; one that raises is logged and skipped."""
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                _logger.exception("the engine event subscriber %r failed on %s", subscriber, event)


engine_events = EventStream()
"""The process's event stream: every engine object emits here."""


def emit_recovered(connection: Connection, recovered: Iterable[RecoveredJob]) -> None:
    """A :class:`JobRecovered` for each job ``recovered`` through ``connection``.

    Emitted by the callers of :func:`~.recovery.recover_orphaned_jobs`, once it has
    committed: recovery itself stays a query and its commit.
    """
    if not engine_events.has_subscribers:
        return
    database = connection.info.dbname
    by = connection.info.parameter_status("application_name") or ""
    for job in recovered:
        engine_events.emit(
            JobRecovered(
                database=database,
                job_id=job.id,
                uuid=job.uuid,
                state=job.state,
                attempt=job.attempt,
                by=by,
            )
        )
