"""OCA ``queue_job``'s ``Job``, its state names and ``identity_exact``, at OCA's path.

``from odoo.addons.job_worker.job import Job, DONE, identity_exact`` (OCA:
``odoo.addons.queue_job.job``). A :class:`Job` is one job as a Python object over a
``queue.job`` row: code and tests written for ``queue_job`` build one
(``Job(records.method, args=(...))``), load one (``Job.load(env, uuid)``), run it in the
current transaction (``job.perform()``), change its state (``set_done()``...) and save
it (``store()``); ``with_delay()`` and ``delayable().delay()`` return them.

A new job is stored through the delay API's own path (:func:`.enqueue.store.store_jobs`:
identity keys, graphs, waking the runners up). Once stored, a job's call (model, method,
records, arguments, user, company, graph) never changes; ``store()`` writes its state,
dates, outcome and scheduling through the model's state path. In production, jobs are
run by the engine in their own transaction, not by ``perform()``.
"""

import os
import uuid
from datetime import datetime, timedelta

from odoo import models

from .engine.errors import FailedJobError, RetryableJobError
from .engine.retry import DEFAULT_RETRY_DELAY_S, parse_retry_pattern, retry_delay_s
from .engine.states import JobState
from .enqueue.identity import JobDescription, identity_exact, identity_exact_hasher
from .enqueue.prepare import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_PRIORITY,
    JobProperties,
    describe_method,
    job_company_id,
    prepare_job,
)
from .enqueue.store import store_jobs
from .exception import NoSuchJobError

WAIT_DEPENDENCIES = JobState.WAIT_DEPENDENCIES.value
PENDING = JobState.PENDING.value
ENQUEUED = JobState.ENQUEUED.value
STARTED = JobState.STARTED.value
DONE = JobState.DONE.value
CANCELLED = JobState.CANCELLED.value
FAILED = JobState.FAILED.value
STATES = [
    (WAIT_DEPENDENCIES, "Wait Dependencies"),
    (PENDING, "Pending"),
    (ENQUEUED, "Enqueued"),
    (STARTED, "Started"),
    (DONE, "Done"),
    (CANCELLED, "Cancelled"),
    (FAILED, "Failed"),
]
RETRY_INTERVAL = DEFAULT_RETRY_DELAY_S
"""Seconds before another attempt when no retry pattern applies (OCA's name)."""

_STATE_FIELDS = {
    "state": "state",
    "retry": "retry",
    "result": "result",
    "exc_info": "exc_info",
    "exc_name": "exc_name",
    "exc_message": "exc_message",
    "date_enqueued": "date_enqueued",
    "date_started": "date_started",
    "date_done": "date_done",
    "date_cancelled": "date_cancelled",
    "exec_time": "exec_time",
    "eta": "eta",
    "priority": "priority",
    "max_retries": "max_retries",
    "channel": "channel",
}
"""Job attributes ``store()`` writes on a stored job, and their ``queue.job`` fields."""

_CALL_FIELDS = {
    "description": "name",
    "identity_key": "identity_key",
    "graph_uuid": "graph_uuid",
    "date_created": "date_created",
}
"""Job attributes fixed once the job is stored, and their ``queue.job`` fields."""

__all__ = [
    "CANCELLED",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_PRIORITY",
    "DONE",
    "ENQUEUED",
    "FAILED",
    "PENDING",
    "RETRY_INTERVAL",
    "STARTED",
    "STATES",
    "WAIT_DEPENDENCIES",
    "Job",
    "JobDescription",
    "identity_exact",
    "identity_exact_hasher",
]


class Job:
    """One job: a method of some records and its arguments, with OCA's ``Job`` API.

    :param func: a method bound to records (``records.method``)
    :param args: positional arguments (stored as a tuple)
    :param kwargs: keyword arguments
    :param priority, eta, max_retries, description, channel, identity_key: as
        ``with_delay()`` takes them (``eta``: a datetime, a timedelta or seconds)
    :param job_uuid: the job's UUID (default: a new one)

    Attributes other than the job's own (``id``, ``exists()``, ``invalidate_recordset()``)
    are those of its ``queue.job`` record, so a job from ``with_delay()`` can be used
    where a record was expected.
    """

    @classmethod
    def load(cls, env, job_uuid):
        """The stored job of this UUID; :class:`NoSuchJobError` if there is none."""
        record = cls.db_records_from_uuids(env, [job_uuid])
        if not record:
            raise NoSuchJobError(f"Job {job_uuid} does no longer exist in the storage.")
        return cls._load_from_db_record(record)

    @classmethod
    def load_many(cls, env, job_uuids):
        """The stored jobs of these UUIDs (a set; unknown UUIDs are skipped)."""
        return {
            cls._load_from_db_record(record) for record in cls.db_records_from_uuids(env, job_uuids)
        }

    @classmethod
    def exists(cls, env, job_uuid):
        """Whether a job of this UUID is stored."""
        return bool(cls.db_records_from_uuids(env, [job_uuid]))

    @staticmethod
    def db_records_from_uuids(env, job_uuids):
        """The ``queue.job`` records of these UUIDs (as superuser, as OCA's)."""
        return env["queue.job"].sudo().search([("uuid", "in", list(job_uuids))])

    @classmethod
    def _load_from_db_record(cls, record):
        job = cls(
            getattr(record.records, record.method_name),
            args=tuple(record.args or ()),
            kwargs=record.kwargs or {},
            priority=record.priority,
            eta=record.eta or None,
            job_uuid=record.uuid,
            max_retries=record.max_retries,
            description=record.name,
            channel=record.channel,
            identity_key=record.identity_key or None,
        )
        job._record_id = record.id
        job._changed.clear()
        return job

    def __init__(
        self,
        func,
        args=None,
        kwargs=None,
        priority=None,
        eta=None,
        job_uuid=None,
        max_retries=None,
        description=None,
        channel=None,
        identity_key=None,
    ):
        records = getattr(func, "__self__", None)
        if not isinstance(records, models.BaseModel) or not callable(func):
            raise TypeError(f"a job calls a method of records (records.method), not {func!r}")
        self._record_id = None
        self._changed = {}
        self.method_name = func.__name__
        self.model_name = records._name
        self.env = records.env
        self.args = tuple(args or ())
        self.kwargs = dict(kwargs or {})
        self._uuid = job_uuid or _new_uuid()
        self.recordset = records.with_context(job_uuid=self._uuid)
        self.user_id = records.env.uid
        self.company_id = job_company_id(records.env)
        self.worker_pid = None
        self._depends_on = set()
        self._reverse_depends_on = set()
        self._initial = {
            "state": PENDING,
            "retry": 0,
            "result": None,
            "exc_info": None,
            "exc_name": None,
            "exc_message": None,
            "date_enqueued": None,
            "date_started": None,
            "date_done": None,
            "date_cancelled": None,
            "exec_time": 0.0,
            "eta": _eta_from(eta),
            "priority": DEFAULT_PRIORITY if priority is None else priority,
            "max_retries": DEFAULT_MAX_RETRIES if max_retries is None else max_retries,
            "channel": channel,
            "description": description
            or describe_method(func, f"{records._name}.{self.method_name}"),
            "identity_key": identity_key(self) if callable(identity_key) else identity_key,
            "graph_uuid": None,
            "date_created": datetime.now(),
        }

    # -- identity ------------------------------------------------------------------------

    @property
    def uuid(self):
        """The job's UUID."""
        return self._uuid

    @property
    def func(self):
        """The bound method the job calls (with ``job_uuid`` in its context)."""
        return getattr(self.recordset, self.method_name)

    @property
    def func_string(self):
        arguments = [repr(value) for value in self.args]
        arguments += [f"{key}={value!r}" for key, value in self.kwargs.items()]
        return f"{self.recordset!r}.{self.method_name}({', '.join(arguments)})"

    def __eq__(self, other):
        return isinstance(other, Job) and other.uuid == self.uuid

    def __hash__(self):
        return hash(self.uuid)

    def __repr__(self):
        return f"<Job {self.uuid}, priority:{self.priority}>"

    def __getattr__(self, name):
        # Only reached for names a Job does not have: those of its queue.job record.
        if name.startswith("_"):
            raise AttributeError(name)
        record = self.db_record()
        if not record:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(record, name)

    # -- the stored row --------------------------------------------------------------------

    def db_record(self):
        """The job's ``queue.job`` record (empty until it is stored)."""
        Job = self.env["queue.job"].sudo()
        if self._record_id:
            return Job.browse(self._record_id).exists()
        return self.db_records_from_uuids(self.env, [self.uuid])

    def store(self):
        """Store the job: a new one through the delay API, a stored one's state, dates,
        outcome and scheduling by the model's state path. A new job whose identity key
        a waiting job holds becomes that job (as ``with_delay()`` does)."""
        record = self.db_record() or self._store_new()
        if not record:  # inside trap_jobs(), nothing is stored
            return
        values = {
            field: self._changed[name]
            for name, field in _STATE_FIELDS.items()
            if name in self._changed
        }
        if "date_done" in values or "date_started" in values:
            values["exec_time"] = self._exec_time()
        values.update(self.recordset._job_store_values(self))
        if values:
            record._write_state(values)
        self._changed.clear()

    def _store_new(self):
        properties = JobProperties(
            priority=self.priority,
            eta=self.eta,
            max_retries=self.max_retries,
            description=self.description,
            channel=self.channel,
            identity_key=self.identity_key,
        )
        # The recordset keeps only the context keys a job keeps (job_uuid is not one).
        prepared = prepare_job(self.recordset, self.method_name, self.args, self.kwargs, properties)
        prepared.values.update(
            uuid=self.uuid,
            user_id=self.user_id,
            company_id=self.company_id or None,
            date_created=self.date_created,
            graph_uuid=self.graph_uuid,
        )
        parents = []
        for parent in self._depends_on:
            parent_record = parent.db_record()
            if not parent_record:
                raise ValueError(
                    f"{self!r} depends on {parent!r}, which is not stored: store it first"
                )
            parents.append(parent_record)
        (record,) = store_jobs(self.env, [prepared], dependencies={0: parents})
        if not isinstance(record, models.BaseModel) or not record:
            return None  # trapped by trap_jobs(), or its identity key's holder not visible
        if record.uuid != self.uuid:  # an identity key held by a waiting job
            self.__dict__.update(self._load_from_db_record(record).__dict__)
        self._record_id = record.id
        return record

    def _exec_time(self):
        if self.date_done and self.date_started:
            return (self.date_done - self.date_started).total_seconds()
        return 0.0

    # -- running and state changes ---------------------------------------------------------

    def perform(self):
        """Run the job now, in the current transaction, counting the attempt; its result.

        A :class:`RetryableJobError` is raised again (the caller retries later), as a
        :class:`FailedJobError` once ``max_retries`` attempts are spent (0: no limit).
        """
        self.retry += 1
        try:
            self.result = self.func(*self.args, **self.kwargs)
        except RetryableJobError as error:
            if error.ignore_retry:
                self.retry -= 1
                raise
            if self.max_retries and self.retry >= self.max_retries:
                raise FailedJobError(
                    f"Max. retries ({self.max_retries}) reached: {error or type(error).__name__}"
                ) from error
            raise
        return self.result

    def set_pending(self, result=None, reset_retry=True):
        """Pending again: not enqueued nor started; attempts from zero unless told."""
        self.state = PENDING
        self.date_enqueued = None
        self.date_started = None
        self.date_done = None
        self.worker_pid = None
        if reset_retry:
            self.retry = 0
        if result is not None:
            self.result = result

    def set_enqueued(self):
        """Enqueued (OCA's "handed to a worker") now."""
        self.state = ENQUEUED
        self.date_enqueued = datetime.now()
        self.date_started = None
        self.worker_pid = None

    def set_started(self):
        """Started now, by this process."""
        self.state = STARTED
        self.date_started = datetime.now()
        self.worker_pid = os.getpid()

    def set_done(self, result=None):
        """Done now, with this result; the last error forgotten."""
        self.state = DONE
        self.exc_name = None
        self.exc_message = None
        self.exc_info = None
        self.date_done = datetime.now()
        if result is not None:
            self.result = result
        self.exec_time = self._exec_time()

    def set_cancelled(self, result=None):
        """Cancelled now."""
        self.state = CANCELLED
        self.date_cancelled = datetime.now()
        if result is not None:
            self.result = result

    def set_failed(self, **kw):
        """Failed, with the given ``exc_info``, ``exc_name``, ``exc_message``..."""
        self.state = FAILED
        for name, value in kw.items():
            if value is not None:
                setattr(self, name, value)

    def postpone(self, result=None, seconds=None):
        """Not before ``seconds`` from now (default: the retry pattern's delay)."""
        self.eta = datetime.now() + timedelta(seconds=self._get_retry_seconds(seconds))
        self.exc_info = None
        if result is not None:
            self.result = result

    def _get_retry_seconds(self, seconds=None):
        if seconds:
            return int(seconds)
        function = self.env["queue.job.function"].find_for(self.model_name, self.method_name)
        pattern = parse_retry_pattern(function.retry_pattern) if function else {}
        return int(retry_delay_s(pattern, self.retry))

    # -- graphs and related actions ----------------------------------------------------------

    def add_depends(self, jobs):
        """This job waits until ``jobs`` are done (store them first)."""
        if self in jobs:
            raise ValueError(f"{self!r} cannot depend on itself")
        self._depends_on.update(jobs)
        for parent in jobs:
            parent._reverse_depends_on.add(self)
        if any(parent.state != DONE for parent in jobs):
            self.state = WAIT_DEPENDENCIES

    def should_check_dependents(self):
        """Whether jobs wait for this one (their release follows its end)."""
        return bool(self.reverse_depends_on)

    def enqueue_waiting(self):
        """Release the jobs waiting for this one (OCA's step after a job is done). The
        database does it when the job is stored done; cached states are refreshed."""
        self.env.flush_all()
        self.env["queue.job"].invalidate_model(["state"])

    @property
    def depends_on(self):
        """The jobs this one waits for."""
        if self._record_id and not self._depends_on:
            return {self._load_from_db_record(parent) for parent in self.db_record().dependency_ids}
        return set(self._depends_on)

    @property
    def reverse_depends_on(self):
        """The jobs that wait for this one."""
        if self._record_id and not self._reverse_depends_on:
            return {self._load_from_db_record(child) for child in self.db_record().dependent_ids}
        return set(self._reverse_depends_on)

    def related_action(self):
        """What "Related" opens for this job, as its job function says (``None``: nothing)."""
        record = self.db_record()
        config = record.job_function_id.related_action_config()
        if not config.get("enable", True):
            return None
        # The button's own checks: only public related_action_* methods, plain arguments.
        method, kwargs = record._related_action_method(config)
        return method(**kwargs)


def _define_row_attribute(name):
    """An attribute read from the job's own changes, else its stored row (live), else
    the values it was built with."""
    field = _STATE_FIELDS.get(name) or _CALL_FIELDS[name]

    def getter(job):
        if name in job._changed:
            return job._changed[name]
        if job._record_id:
            record = job.db_record()
            if record:
                value = record[field]
                return value if value is not False else None
        return job._initial[name]

    def setter(job, value):
        if name in _CALL_FIELDS and job._record_id:
            raise AttributeError(f"the {name} of stored job {job.uuid} cannot change")
        if name in _CALL_FIELDS:
            job._initial[name] = value
        else:
            job._changed[name] = value

    return property(getter, setter)


for _name in (*_STATE_FIELDS, *_CALL_FIELDS):
    setattr(Job, _name, _define_row_attribute(_name))


def _eta_from(eta):
    """An ETA as a naive datetime: from seconds or a timedelta from now, or as given."""
    if not eta:
        return None
    if isinstance(eta, (int, float)) and not isinstance(eta, bool):
        return datetime.now() + timedelta(seconds=eta)
    if isinstance(eta, timedelta):
        return datetime.now() + eta
    return eta


def _new_uuid():
    return str(uuid.uuid4())
