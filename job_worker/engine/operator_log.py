"""The engine's log for operators: one subscriber of its event stream.

One line when a candidate takes its election name, changes role (becomes leader,
follows, cannot see itself, loses its connection) or steps down; a WARNING when a job
is recovered from a dead processor, runs past its timeout, fails for good, or was taken
away before it settled. Nothing per job that went well. The lines keep the loggers they
always had (``…engine.candidate``, ``…engine.recovery``...), which operators filter on.

:func:`subscribe_operator_log` attaches it; the Odoo addon does at import.
"""

from __future__ import annotations

import logging

from .events import (
    CandidateJoined,
    CandidateRoleChanged,
    EngineEvent,
    JobRecovered,
    JobSettled,
    JobTimedOut,
    LeaderSteppedDown,
    SettledOutcome,
    engine_events,
)

_ENGINE = __name__.rpartition(".")[0]
_candidate_log = logging.getLogger(f"{_ENGINE}.candidate")
_execution_log = logging.getLogger(f"{_ENGINE}.execution")
_recovery_log = logging.getLogger(f"{_ENGINE}.recovery")
_timeouts_log = logging.getLogger(f"{_ENGINE}.timeouts")

WARNING_ROLES = frozenset({"blind", "disconnected"})
"""Roles an operator must act on (a pooler hiding the candidate, a lost connection)."""


def log_for_operators(event: EngineEvent) -> None:
    """Log ``event`` if an operator should see it (the subscriber)."""
    if isinstance(event, JobSettled):
        if event.outcome is SettledOutcome.FAILED:
            _execution_log.warning(
                "job %s (%s) failed for good in attempt %d: %s",
                event.uuid,
                event.func_name,
                event.attempt,
                event.reason,
            )
        elif event.outcome is SettledOutcome.LOST:
            _execution_log.warning(
                "job %s (%s) was taken from this processor before it was settled; left as it is",
                event.uuid,
                event.func_name,
            )
    elif isinstance(event, JobRecovered):
        _recovery_log.warning(
            "recovered job %s whose processor died during attempt %d: now %s",
            event.uuid,
            event.attempt,
            event.state,
        )
    elif isinstance(event, JobTimedOut):
        _timeouts_log.warning(
            "job %s (%s): job ran past its timeout of %s s",
            event.uuid,
            event.func_name,
            event.timeout_s,
        )
    elif isinstance(event, CandidateRoleChanged):
        log = _candidate_log.warning if event.role in WARNING_ROLES else _candidate_log.info
        log("candidate %s for %s: %s, %s", event.name, event.database, event.role, event.reason)
    elif isinstance(event, CandidateJoined):
        _candidate_log.info("candidate for %s: standing as %s", event.database, event.name)
    elif isinstance(event, LeaderSteppedDown) and event.handed_over:
        _candidate_log.info("leader of %s: stepped down", event.database)


def subscribe_operator_log() -> None:
    """Log the engine's events for operators from now on (once, however often called)."""
    engine_events.subscribe(log_for_operators)
