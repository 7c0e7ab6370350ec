"""One call that tells who runs the jobs of a database: its candidates, its leader, and
this process's role and why. The keep-alive endpoint and the UI report it as is."""

import os

from ..engine.election import CandidateName, list_candidates
from .embedded_runner import is_loaded_server_wide, own_role


def runner_status(cursor) -> dict:
    """The runner status of the cursor's database, as JSON-ready values."""
    candidates = list_candidates(cursor)
    role, reason = own_role(cursor.dbname)
    leader = candidates[0] if candidates else None
    return {
        "database": cursor.dbname,
        "loaded_server_wide": is_loaded_server_wide(),
        "this_process": {"pid": os.getpid(), "role": role, "reason": reason},
        "leader": _describe(leader) if leader else None,
        "candidates": [_describe(candidate) for candidate in candidates],
        "summary": _summary(leader, len(candidates)),
    }


def _describe(candidate: CandidateName) -> dict:
    return {
        "application_name": candidate.application_name,
        "pid": candidate.os_pid,
        "started_at": candidate.started_at.isoformat(),
    }


def _summary(leader: CandidateName | None, count: int) -> str:
    if leader is None:
        return (
            "no candidate runner is connected to this database: jobs run only when a "
            "processor is triggered (the job_worker_cron scheduled action, the process "
            "endpoint, or the Process button)"
        )
    return f"os pid {leader.os_pid} leads, among {count} candidate(s)"


def describe_runner_status(env, status: dict, with_candidates: bool = False) -> str:
    """The status as text for a person: the summary, the candidates if asked, and this
    worker's role and why."""
    own = status["this_process"]
    lines = [status["summary"] + "."]
    if with_candidates:
        lines += [
            f"- {candidate['application_name']} (os pid {candidate['pid']}, since "
            f"{candidate['started_at']})"
            for candidate in status["candidates"]
        ]
    lines.append(
        env._(
            "This worker (pid %(pid)s): %(role)s, %(reason)s.",
            pid=own["pid"],
            role=own["role"],
            reason=own["reason"],
        )
    )
    return "\n".join(lines)
