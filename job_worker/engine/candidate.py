"""A candidate runner for one database: it stands in the election and, while it is the
leader, runs a dispatcher.

The candidate checks the election (see :mod:`.election`) every ``check_interval_s``, and
at once when a leader steps down. While it leads, its dispatcher claims only as long as
the last check said so and is recent (:meth:`Candidate.may_claim`): a leader that is no
longer the smallest name stops claiming before it is even stopped. A candidate that
cannot see itself in ``pg_stat_activity`` never leads, and says why. A lost election
connection ends leadership at once; the candidate joins again, with a new (later) name,
after a backoff.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2

from .connection import Connection
from .dispatcher import Dispatcher
from .election import CandidateName, ElectionView, check_election, join_election, step_down
from .events import (
    CandidateJoined,
    CandidateRoleChanged,
    LeaderElected,
    LeaderSteppedDown,
    engine_events,
)
from .listener import CONNECTION_ERRORS, Listener
from .threads import start_engine_thread

_logger = logging.getLogger(__name__)

LEADER_CHECK_INTERVAL_S = 1.0
"""Seconds between two checks of the election: a dead leader is replaced within about
one interval (the dead process's connection vanishes as soon as it dies)."""
RECONNECT_BACKOFF_S = (0.5, 10.0)
"""First and largest wait before joining again after losing the election connection."""
JOINING_PATIENCE_S = 2.0
"""How long, in all, a candidate about to lead waits for older connections still joining
the election (one may become an older candidate); after that it leads, whatever still
calls itself joining. A real candidate renames its connection within milliseconds."""
JOINING_RECHECK_S = 0.05
"""How soon a candidate waiting for joining connections checks again."""
CHECK_VALIDITY_INTERVALS = 3
"""A leader's last check lets it claim for this many intervals; after that (the check is
stuck on a hung connection) it stops claiming until a check succeeds."""
DISPATCHER_STOP_MARGIN_S = 10.0
"""Beyond its shutdown grace, how long a candidate waits for its dispatcher to stop."""


class Role(enum.Enum):
    """What a candidate is doing for its database."""

    JOINING = "joining"
    LEADER = "leader"
    FOLLOWER = "follower"
    BLIND = "blind"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CandidateStatus:
    """A candidate's role for its database and why, and the leader its last check saw."""

    dbname: str
    role: Role
    reason: str
    leader: str | None = None


class Candidate:
    """Stands for ``dbname`` until :meth:`stop`; leads it with a dispatcher when elected.

    ``connect()`` opens a connection to ``dbname`` outside any pool; the candidate puts
    it in autocommit mode and renames it. ``make_dispatcher(may_claim)`` builds the
    dispatcher to run while leading. Its role is :attr:`status`; each change of role is
    also an event (:class:`~.events.CandidateRoleChanged`, :class:`~.events.LeaderElected`,
    :class:`~.events.LeaderSteppedDown`).
    """

    def __init__(
        self,
        dbname: str,
        connect: Callable[[], Connection],
        make_dispatcher: Callable[[Callable[[], bool]], Dispatcher],
        check_interval_s: float = LEADER_CHECK_INTERVAL_S,
        reconnect_backoff_s: tuple[float, float] = RECONNECT_BACKOFF_S,
    ):
        if check_interval_s <= 0:
            raise ValueError(f"check_interval_s must be positive, got {check_interval_s}")
        self.dbname = dbname
        self._connect = connect
        self._make_dispatcher = make_dispatcher
        self._check_interval_s = check_interval_s
        self._os_pid = os.getpid()
        self._listener = Listener(self._join_election, reconnect_backoff_s)
        self._name: str | None = None
        self._dispatcher: Dispatcher | None = None
        self._dispatcher_thread: threading.Thread | None = None
        self._claim_allowed_until = 0.0
        self._joining_wait_started: float | None = None
        self._next_check_in_s = check_interval_s
        self._stopping = threading.Event()
        self._status = CandidateStatus(dbname, Role.JOINING, "joining the election")

    # -- public ------------------------------------------------------------------------

    def run(self) -> None:
        """Stand in the election until :meth:`stop` is called; then step down and stop."""
        try:
            while not self._stopping.is_set():
                try:
                    connection = self._listener.connect()
                    self._follow(check_election(connection, self._name))
                    self._listener.wait(self._next_check_in_s)
                except Exception as error:
                    # A lost connection, or anything else: never leave the election
                    # connection standing for a candidate that does not check any more.
                    if not isinstance(error, CONNECTION_ERRORS):
                        _logger.exception("the candidate for %s failed", self.dbname)
                    self._lose_election_connection(str(error).strip() or type(error).__name__)
                    self._stopping.wait(self._listener.next_reconnect_wait_s())
        finally:
            self._shut_down()

    def stop(self) -> None:
        """Ask :meth:`run` to step down and return; returns at once."""
        self._stopping.set()
        self._listener.wake()

    def may_claim(self) -> bool:
        """Whether this candidate's dispatcher may claim now: its latest check, recent
        enough, found it the leader."""
        return time.monotonic() < self._claim_allowed_until

    @property
    def status(self) -> CandidateStatus:
        """The candidate's role and why, as of its latest check."""
        return self._status

    # -- the election ------------------------------------------------------------------

    def _join_election(self) -> Connection:
        """The election connection: autocommit, named, LISTENing for leaders stepping down."""
        connection = self._connect()
        try:
            connection.autocommit = True
            self._name = join_election(connection, self._os_pid)
        except BaseException:
            connection.close()
            raise
        if engine_events.has_subscribers:
            engine_events.emit(CandidateJoined(database=self.dbname, name=self._name))
        return connection

    def _follow(self, view: ElectionView) -> None:
        """Lead, follow or stay out, as the view says."""
        self._next_check_in_s = self._check_interval_s
        if view.is_leader and self._dispatcher is None and self._waits_for_joining(view):
            self._next_check_in_s = JOINING_RECHECK_S
            self._set_status(
                Role.FOLLOWER, "waiting for candidates still joining (one may be older)", view
            )
            return
        if view.is_leader:
            self._claim_allowed_until = time.monotonic() + (
                CHECK_VALIDITY_INTERVALS * self._check_interval_s
            )
            try:
                self._lead()
            except Exception as error:
                self._claim_allowed_until = 0.0
                if not self._status.reason.startswith("elected, but"):
                    _logger.exception(
                        "the leader of %s could not start its dispatcher", self.dbname
                    )
                self._set_status(
                    Role.LEADER,
                    f"elected, but its dispatcher could not start ({error}); "
                    f"trying again at the next check",
                    view,
                )
                return
            self._set_status(Role.LEADER, "its election name is the smallest", view)
            return
        self._claim_allowed_until = 0.0
        if not view.sees_itself:
            self._set_status(
                Role.BLIND,
                "its election connection is not in pg_stat_activity under its own name "
                "(a connection pooler rewriting application_name, or serving the session "
                "from another server connection?): it cannot tell who leads, so it never "
                "leads",
                view,
            )
        elif view.leader is None:
            self._set_status(Role.FOLLOWER, "no candidate is connected yet", view)
        else:
            self._set_status(Role.FOLLOWER, f"{_describe(view.leader)} leads", view)
        self._stop_leading()

    def _waits_for_joining(self, view: ElectionView) -> bool:
        """Whether to hold off leading for an older connection still joining (it may be the
        rightful leader): at most :data:`JOINING_PATIENCE_S` from the first check that
        found one, however many there are or their names change, so a connection that
        keeps renaming itself "joining" cannot hold the election off."""
        now = time.monotonic()
        if not view.joining:
            self._joining_wait_started = None
            return False
        if self._joining_wait_started is None:
            self._joining_wait_started = now
        if now - self._joining_wait_started < JOINING_PATIENCE_S:
            return True
        self._joining_wait_started = None  # waited enough: lead now; the next wait is new
        return False

    def _lose_election_connection(self, reason: str) -> None:
        self._claim_allowed_until = 0.0
        self._listener.disconnect()
        self._set_status(Role.DISCONNECTED, f"election connection lost ({reason}); rejoining")
        self._stop_leading()

    # -- leading -----------------------------------------------------------------------

    def _lead(self) -> None:
        thread = self._dispatcher_thread
        if thread is not None and thread.is_alive():
            return
        if thread is not None:
            _logger.error("the dispatcher of %s stopped on its own; starting it again", self.dbname)
            self._dispatcher = self._dispatcher_thread = None
        dispatcher = self._make_dispatcher(self.may_claim)
        thread = start_engine_thread(dispatcher.run, f"job_worker-leader-{self.dbname}")
        self._dispatcher, self._dispatcher_thread = dispatcher, thread
        if engine_events.has_subscribers:
            engine_events.emit(
                LeaderElected(database=self.dbname, name=self._name, os_pid=self._os_pid)
            )

    def _stop_leading(self, handed_over: bool = False) -> None:
        """Stop the dispatcher, if any: it lets running jobs finish within its grace,
        then interrupts and gives back the rest. ``handed_over``: the candidate stepped
        down on purpose before."""
        dispatcher, thread = self._dispatcher, self._dispatcher_thread
        if dispatcher is None:
            return
        if engine_events.has_subscribers:
            engine_events.emit(
                LeaderSteppedDown(
                    database=self.dbname,
                    name=self._name,
                    os_pid=self._os_pid,
                    handed_over=handed_over,
                    reason="stopping" if handed_over else self._status.reason,
                )
            )
        dispatcher.stop()
        thread.join(timeout=dispatcher.config.shutdown_grace_s + DISPATCHER_STOP_MARGIN_S)
        if thread.is_alive():
            _logger.error(
                "the dispatcher of %s did not stop; its jobs will be recovered", self.dbname
            )
        self._dispatcher = self._dispatcher_thread = None

    # -- shutdown ----------------------------------------------------------------------

    def _shut_down(self) -> None:
        self._claim_allowed_until = 0.0
        connection = self._listener.connection
        handed_over = False
        if connection is not None and not connection.closed and self._dispatcher is not None:
            # Hand over first: the next candidate leads while this one finishes its jobs.
            try:
                step_down(connection, self._os_pid)
                handed_over = True
            except psycopg2.Error:
                # Its connection is gone, and with it its election name: as good.
                _logger.debug("the leader of %s could not step down", self.dbname, exc_info=True)
        self._stop_leading(handed_over=handed_over)
        self._listener.close()
        self._set_status(Role.STOPPED, "stopped")

    def _set_status(self, role: Role, reason: str, view: ElectionView | None = None) -> None:
        previous = self._status
        self._status = CandidateStatus(
            dbname=self.dbname, role=role, reason=reason, leader=view.leader if view else None
        )
        if (previous.role, previous.leader) == (role, self._status.leader):
            return
        if engine_events.has_subscribers:
            engine_events.emit(
                CandidateRoleChanged(
                    database=self.dbname,
                    name=self._name,
                    role=role.value,
                    reason=reason,
                    leader=self._status.leader,
                    os_pid=self._os_pid,
                )
            )


def _describe(name: str) -> str:
    """``<name> (os pid N)``: which process leads, for an operator."""
    try:
        return f"{name} (os pid {CandidateName.parse(name).os_pid})"
    except ValueError:
        return name
