"""Storing prepared jobs, alone or as one graph, with identity keys deduplicated.

Identity keys are deduplicated by a unique index, so concurrent transactions cannot
both store the same key; inside ``trap_jobs()`` nothing is stored (see
:mod:`.job_trap`).
"""

import logging
import threading
import uuid
from contextlib import contextmanager

import psycopg2.errors

from ..engine.states import IDENTITY_KEY_STATES, JobState
from . import job_trap

_logger = logging.getLogger(__name__)


def store_jobs(env, prepared_jobs, dependencies):
    """Store ``prepared_jobs``, in order, as one graph; return their ``queue.job`` records.

    ``dependencies`` maps a job's index to the jobs it waits for: indexes of jobs earlier
    in the list, or ``queue.job`` records stored before (OCA's ``Job.add_depends``). A
    prepared job's own ``graph_uuid`` value, if any, is kept. A job with parents waits
    (``wait_dependencies``); the others are pending. A job whose identity key is held
    by a job still to run is not stored: that job stands in its place (and in the
    graph). Inside ``trap_jobs()`` nothing is stored (see :mod:`.job_trap`).
    """
    trap = job_trap.active_trap()
    if trap is not None:
        return trap.record(prepared_jobs, dependencies)
    graph_uuid = str(uuid.uuid4()) if len(prepared_jobs) > 1 else None
    Job = (
        env["queue.job"]
        .sudo()
        .with_context(mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True)
    )
    parent_indexes = {
        parent for parents in dependencies.values() for parent in parents if isinstance(parent, int)
    }
    stored = []
    for index, prepared in enumerate(prepared_jobs):
        parents = [
            stored[parent] if isinstance(parent, int) else parent
            for parent in dependencies.get(index, ())
        ]
        job_graph_uuid = prepared.values.get("graph_uuid") or graph_uuid
        stored_before = [
            parent for parent in dependencies.get(index, ()) if not isinstance(parent, int)
        ]
        if stored_before:
            # The dependency triggers follow jobs of a graph only: child and parents join one.
            job_graph_uuid = job_graph_uuid or stored_before[0].graph_uuid or str(uuid.uuid4())
            for parent in stored_before:
                _hold_as_parent(parent, job_graph_uuid)
        waits = any(parent.state != JobState.DONE.value for parent in parents)
        values = {
            **prepared.values,
            "graph_uuid": job_graph_uuid,
            "state": (JobState.WAIT_DEPENDENCIES if waits else JobState.PENDING).value,
            "dependency_ids": [(6, 0, [parent.id for parent in parents])],
        }
        is_parent = index in parent_indexes
        job = _create_unless_duplicate(Job, values, must_be_visible=is_parent)
        if is_parent and job.graph_uuid != graph_uuid:
            _hold_as_parent(job, graph_uuid)
        stored.append(job)
    due = [job for job in stored if job and job.state == JobState.PENDING.value]
    if due:
        env["queue.job"]._schedule_processing_at([job.eta or job.date_created for job in due])
    return stored


def wait_for_new_parents(job, parents, graph_uuid):
    """Make ``job``, stored before, wait for ``parents`` too (a delayable delayed before
    that joins a new graph, as OCA allows). Its row is locked first; a job that has
    started (or ended) cannot wait any more: ValueError. The parents join the graph so
    that the dependency triggers follow them."""
    job.env.flush_all()
    cr = job.env.cr
    cr.execute("SELECT state FROM queue_job WHERE id = %s FOR UPDATE", [job.id])
    (state,) = cr.fetchone()
    waiting_states = (JobState.PENDING.value, JobState.WAIT_DEPENDENCIES.value)
    if state not in waiting_states:
        raise ValueError(f"job {job.uuid} is {state}: it cannot wait for new parent jobs")
    for parent in parents:
        _hold_as_parent(parent, graph_uuid)
    cr.execute(
        "INSERT INTO queue_job_dependency_rel (job_id, parent_id)"
        " SELECT %s, unnest(%s::integer[]) ON CONFLICT DO NOTHING",
        [job.id, [parent.id for parent in parents]],
    )
    waits = any(parent.state != JobState.DONE.value for parent in parents)
    cr.execute(
        "UPDATE queue_job SET graph_uuid = coalesce(graph_uuid, %s),"
        " state = CASE WHEN %s THEN 'wait_dependencies' ELSE state END WHERE id = %s",
        [graph_uuid, waits, job.id],
    )
    job.env["queue.job"].invalidate_model(
        ["graph_uuid", "state", "dependency_ids", "dependent_ids"]
    )


def _create_unless_duplicate(Job, values, must_be_visible=False):
    """Create the job, unless a job still to run holds its identity key: return that one.

    Two transactions storing the same key at once both pass the search; the unique
    index lets the first one in, and the second, refused, rolls back to its savepoint
    and returns the winner. The winner may not be visible to this transaction yet: an
    empty record is returned then (the caller's job exists all the same), unless the
    job must be linked to (a parent in a graph): then the refusal stands, and the
    caller may try again a moment later.
    """
    key = values.get("identity_key")
    if not key:
        return Job._create_delayed_jobs([values])
    existing = _job_holding_key(Job, key)
    if existing:
        _logger.debug(
            "job %s not stored: job %s holds identity key %r", values["name"], existing.uuid, key
        )
        return existing
    try:
        with _expected_refusal_unlogged(), Job.env.cr.savepoint():
            return Job._create_delayed_jobs([values])
    except psycopg2.errors.UniqueViolation:
        existing = _job_holding_key(Job, key)
        if not existing and must_be_visible:
            raise
        _logger.debug(
            "job %s not stored: another transaction stored identity key %r", values["name"], key
        )
        return existing


def _hold_as_parent(job, graph_uuid):
    """A job stored before (it held the identity key) becomes a parent in this graph:
    it joins the graph, so that the dependency trigger follows it, and its row stays
    locked until this transaction commits, so that it cannot end before its new
    dependents exist (claims skip locked rows). A job that changed meanwhile makes this
    transaction fail with a serialization error (Odoo retries the request)."""
    job.env.cr.execute(
        "UPDATE queue_job SET graph_uuid = coalesce(graph_uuid, %s) WHERE id = %s",
        [graph_uuid, job.id],
    )
    job.invalidate_recordset(["graph_uuid"])


class _ThreadRefusalFilter(logging.Filter):
    """Drops ``odoo.sql_db``'s "bad query" records of a thread while it stores a job
    whose identity key another transaction may hold: that refusal is expected, not an
    error for an operator. (Odoo's ``mute_logger`` swaps the logger's handlers for every
    thread at once, which concurrent requests would leave muted or unmuted at random.)"""

    def __init__(self):
        super().__init__()
        self.muted = threading.local()

    def filter(self, record):
        return not getattr(self.muted, "active", False)


_refusal_filter = _ThreadRefusalFilter()
logging.getLogger("odoo.sql_db").addFilter(_refusal_filter)


@contextmanager
def _expected_refusal_unlogged():
    _refusal_filter.muted.active = True
    try:
        yield
    finally:
        _refusal_filter.muted.active = False


def _job_holding_key(Job, key):
    return Job.search([("identity_key", "=", key), ("state", "in", IDENTITY_KEY_STATES)], limit=1)
