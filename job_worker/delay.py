"""``records.with_delay().method(*args, **kwargs)``: turning method calls into stored jobs.

A call is checked against the method's signature and its arguments encoded at once
(:func:`prepare_job`), so a call that could never run stores nothing. Prepared jobs are
then stored, alone or as a graph (:func:`store_jobs`); identity keys are deduplicated
by a unique index, so concurrent transactions cannot both store the same key. Two
switches run calls at once instead (:func:`runs_without_delay`), and ``trap_jobs()``
(:mod:`.job_trap`) keeps them in memory for tests.
"""

import inspect
import logging
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import psycopg2.errors
from odoo import fields

from . import job_trap
from .engine.codec import dumps, dumps_tree, to_json_tree
from .engine.schema import ROOT_CHANNEL
from .engine.states import JobState
from .job import JobDescription
from .serialization import codec_extensions

_logger = logging.getLogger(__name__)

DEFAULT_PRIORITY = 10
DEFAULT_MAX_RETRIES = 5
NO_DELAY_ENVIRONMENT_VARIABLES = ("QUEUE_JOB__NO_DELAY", "TEST_QUEUE_JOB_NO_DELAY")
NO_DELAY_CONTEXT_KEYS = ("queue_job__no_delay", "test_queue_job_no_delay")
IDENTITY_KEY_STATES = (
    JobState.WAIT_DEPENDENCIES.value,
    JobState.PENDING.value,
    JobState.ENQUEUED.value,
)
"""A job in one of these states holds its identity key (the unique index's states)."""


@dataclass(frozen=True)
class JobProperties:
    """What ``with_delay()`` and ``delayable()`` accept, validated."""

    priority: int | None = None
    eta: object = None
    max_retries: int | None = None
    description: str | None = None
    channel: str | None = None
    identity_key: object = None

    def __post_init__(self):
        key = self.identity_key
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError(
                f"identity_key must be a string or a callable, got {type(key).__name__}"
            )
        for name in ("priority", "max_retries"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 (no limit) or more, got {self.max_retries}")
        _eta_to_utc(self.eta)  # refuse a bad ETA now, not when the call is made

    def updated(self, **changes) -> "JobProperties":
        """These properties with ``changes`` (validated again)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown job properties: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


@dataclass
class PreparedJob:
    """A checked, encoded call: the values of its ``queue.job`` row, and the call itself
    (for the no-delay switches and the test trap)."""

    records: object
    method_name: str
    args: tuple
    kwargs: dict
    values: dict = field(default_factory=dict)

    def perform(self):
        """Run the call now, as the job would."""
        return getattr(self.records, self.method_name)(*self.args, **self.kwargs)


class DelayableRecordset:
    """Stands for a recordset whose method calls become jobs instead of running now.

    Returned by ``records.with_delay(...)``. Looking up a method that the model does not
    have raises ``AttributeError`` at once; calling it stores the job and returns the
    ``queue.job`` record (or, with a no-delay switch on, the method's result).
    """

    def __init__(self, records, **properties):
        self.records = records
        self.properties = JobProperties(**properties)

    def __getattr__(self, name):
        check_delayable_method(self.records, name)

        def delay(*args, **kwargs):
            prepared = prepare_job(self.records, name, args, kwargs, self.properties)
            if runs_without_delay(self.records.env):
                return prepared.perform()
            return store_jobs(self.records.env, [prepared], dependencies={})[0]

        delay.__name__ = name
        return delay

    def __repr__(self):
        return f"DelayableRecordset({self.records!r})"


def check_delayable_method(records, name):
    """Raise ``AttributeError`` unless ``name`` is a method of the records' model."""
    if not callable(getattr(type(records), name, None)):
        raise AttributeError(
            f"cannot delay {records._name}.{name}: model {records._name!r} has no method {name!r}"
        )


def runs_without_delay(env) -> bool:
    """Whether calls run at once instead of being stored: the ``QUEUE_JOB__NO_DELAY`` or
    ``TEST_QUEUE_JOB_NO_DELAY`` environment variable, or the ``queue_job__no_delay`` or
    ``test_queue_job_no_delay`` context key (OCA ``queue_job``'s switches)."""
    return any(os.environ.get(name) for name in NO_DELAY_ENVIRONMENT_VARIABLES) or any(
        env.context.get(key) for key in NO_DELAY_CONTEXT_KEYS
    )


def prepare_job(records, method_name, args, kwargs, properties: JobProperties) -> PreparedJob:
    """Check a call against the method's signature and encode it; raise if it could
    never run or an argument cannot be stored (the error names it)."""
    check_delayable_method(records, method_name)
    env = records.env
    func_name = f"{records._name}.{method_name}"
    method = getattr(records, method_name)
    parameter_names = _bind_arguments(method, func_name, args, kwargs)
    extensions = codec_extensions(env)
    args_text = dumps_tree(
        [
            to_json_tree(value, f"{func_name}() argument {name!r}", extensions)
            for name, value in zip(parameter_names, args, strict=True)
        ]
    )
    kwargs_text = dumps_tree(
        {
            key: to_json_tree(value, f"{func_name}() argument {key!r}", extensions)
            for key, value in kwargs.items()
        }
    )
    records_text = dumps(records, extensions, path=f"{func_name}() records")
    job_function = env["queue.job.function"].find_for(records._name, method_name)
    identity_key = properties.identity_key
    if callable(identity_key):
        identity_key = identity_key(
            JobDescription(records._name, method_name, records, tuple(args), dict(kwargs))
        )
    values = {
        "uuid": str(uuid.uuid4()),
        "name": properties.description or _describe(method, func_name),
        "model_name": records._name,
        "method_name": method_name,
        "records": records_text,
        "args": args_text,
        "kwargs": kwargs_text,
        "func_string": _func_string(records, method_name, args, kwargs),
        "priority": DEFAULT_PRIORITY if properties.priority is None else properties.priority,
        "eta": _eta_to_utc(properties.eta),
        "max_retries": (
            DEFAULT_MAX_RETRIES if properties.max_retries is None else properties.max_retries
        ),
        "channel": properties.channel or job_function.channel or ROOT_CHANNEL,
        "job_function_id": job_function.id,
        "identity_key": identity_key or None,
        "user_id": env.uid,
        "company_id": env.company.id,
        "date_created": fields.Datetime.now(),
    }
    return PreparedJob(records, method_name, tuple(args), dict(kwargs), values)


def store_jobs(env, prepared_jobs, dependencies):
    """Store ``prepared_jobs``, in order, as one graph; return their ``queue.job`` records.

    ``dependencies`` maps a job's index to the indexes of the jobs it waits for; each
    must come earlier in the list. A job with parents waits (``wait_dependencies``); the
    others are pending. A job whose identity key is held by a job still to run is not
    stored: that job stands in its place (and in the graph). Inside ``trap_jobs()``
    nothing is stored (see :mod:`.job_trap`).
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
    parent_indexes = {parent for parents in dependencies.values() for parent in parents}
    stored = []
    for index, prepared in enumerate(prepared_jobs):
        parents = [stored[parent] for parent in dependencies.get(index, ())]
        values = {
            **prepared.values,
            "graph_uuid": graph_uuid,
            "state": (JobState.WAIT_DEPENDENCIES if parents else JobState.PENDING).value,
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
        return Job.create(values)
    existing = _job_holding_key(Job, key)
    if existing:
        _logger.info(
            "job %s not stored: job %s holds identity key %r", values["name"], existing.uuid, key
        )
        return existing
    try:
        with _expected_refusal_unlogged(), Job.env.cr.savepoint():
            return Job.create(values)
    except psycopg2.errors.UniqueViolation:
        existing = _job_holding_key(Job, key)
        if not existing and must_be_visible:
            raise
        _logger.info(
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


def _bind_arguments(method, func_name, args, kwargs):
    """Names of the positional arguments; raise TypeError if the call could never run."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # no signature to check against (a builtin)
        return [f"#{index}" for index in range(len(args))]
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"cannot delay {func_name}(): {error}") from None
    names = []
    for parameter in signature.parameters.values():
        if len(names) >= len(args):
            break
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            names += [f"*{parameter.name}[{index}]" for index in range(len(args) - len(names))]
        elif parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            names.append(parameter.name)
    return names


def _describe(method, func_name):
    """The first line of the method's docstring, else ``Function model.method``."""
    doc = inspect.getdoc(method)
    if doc and doc.strip():
        return doc.strip().splitlines()[0]
    return f"Function {func_name}"


def _func_string(records, method_name, args, kwargs):
    arguments = [repr(value) for value in args]
    arguments += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{records!r}.{method_name}({', '.join(arguments)})"


def _eta_to_utc(eta):
    """An ETA as the naive UTC datetime Odoo stores: from seconds, a timedelta or a datetime."""
    if eta is None or eta is False:
        return None
    if isinstance(eta, bool):
        raise TypeError("eta must be a datetime, a timedelta or a number of seconds, not a bool")
    if isinstance(eta, (int, float)):
        eta = timedelta(seconds=eta)
    if isinstance(eta, timedelta):
        return fields.Datetime.now() + eta
    if isinstance(eta, datetime):
        if eta.tzinfo is not None:
            eta = eta.astimezone(timezone.utc).replace(tzinfo=None)
        return eta
    raise TypeError(
        f"eta must be a datetime, a timedelta or a number of seconds, got {type(eta).__name__}"
    )
