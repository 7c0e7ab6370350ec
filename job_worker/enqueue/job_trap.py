"""``trap_jobs()``: keeping delayed calls in memory, for tests, as OCA ``queue_job``'s does.

Inside ``with trap_jobs() as trap:``, ``with_delay()`` and ``delayable()`` check and
encode calls as usual (a call that could never run still raises) but store nothing:
the trap records them, and a test asserts on them or runs them. Properties are compared
as the code gave them (``eta=15``, ``identity_key=identity_exact``); a call whose
identity key a trapped job holds is not trapped again; a trapped job runs as the real
job would, on its records and arguments decoded from what would be stored, with
``job_uuid`` in its context.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields

from ..engine.codec import loads
from .argument_codec import codec_extensions

_active_trap: ContextVar["JobsTrap | None"] = ContextVar("job_worker_jobs_trap", default=None)

PROPERTY_NAMES = ("priority", "max_retries", "eta", "description", "channel", "identity_key")
"""Job properties a trapped job keeps as given, in the order OCA's messages show them."""


def active_trap() -> "JobsTrap | None":
    """The trap of the current ``trap_jobs()`` block, if any."""
    return _active_trap.get()


@contextmanager
def trap_jobs():
    """Trap the jobs delayed in the block; yield the :class:`JobsTrap`."""
    trap = JobsTrap()
    token = _active_trap.set(trap)
    try:
        yield trap
    finally:
        _active_trap.reset(token)


@dataclass
class TrappedJob:
    """A call delayed inside ``trap_jobs()``: what it would run, and with which
    properties (as given); ``depends_on`` are the trapped jobs it would wait for;
    ``values`` the row it would store; ``result`` what ``perform()`` returned."""

    recordset: object
    method_name: str
    args: tuple
    kwargs: dict
    properties: dict
    depends_on: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    result: object = None

    @property
    def model_name(self) -> str:
        return self.recordset._name

    @property
    def uuid(self) -> str:
        return self.values.get("uuid")

    @property
    def identity_key(self):
        """The key the stored job would hold (computed by a key function)."""
        return self.values.get("identity_key")

    def perform(self):
        """Run the call as its job would: records and arguments decoded from what would
        be stored (the context the job keeps, ``job_uuid``); keep and return the result."""
        env = self.recordset.env
        extensions = codec_extensions(env)
        records = loads(self.values["records"], extensions) if "records" in self.values else None
        if records is None:
            records = self.recordset
        args = loads(self.values["args"], extensions) if "args" in self.values else self.args
        kwargs = (
            loads(self.values["kwargs"], extensions) if "kwargs" in self.values else self.kwargs
        )
        method = getattr(records.with_context(job_uuid=self.uuid), self.method_name)
        self.result = method(*args, **kwargs)
        return self.result


class JobsTrap:
    """The jobs delayed in a ``trap_jobs()`` block, in order."""

    def __init__(self):
        self.enqueued_jobs: list[TrappedJob] = []

    # -- recording ---------------------------------------------------------------------

    def record(self, prepared_jobs, dependencies):
        """Keep prepared jobs (see :func:`~..delay.store_jobs`); return them trapped. A
        job whose identity key a trapped job holds is that job."""
        trapped = []
        for index, prepared in enumerate(prepared_jobs):
            holder = self._job_holding_key(prepared.values.get("identity_key"))
            if holder is not None:
                trapped.append(holder)
                continue
            given = {
                item.name: getattr(prepared.properties, item.name)
                for item in fields(prepared.properties)
            }
            job = TrappedJob(
                prepared.records,
                prepared.method_name,
                prepared.args,
                prepared.kwargs,
                {name: given[name] for name in PROPERTY_NAMES if given.get(name) is not None},
                [trapped[parent] for parent in dependencies.get(index, ())],
                dict(prepared.values),
            )
            trapped.append(job)
            self.enqueued_jobs.append(job)
        return trapped

    def _job_holding_key(self, key):
        if not key:
            return None
        return next((job for job in self.enqueued_jobs if job.identity_key == key), None)

    # -- assertions --------------------------------------------------------------------

    def jobs_count(self, only=None) -> int:
        """How many jobs were delayed (only calls of ``only``, a method bound to the very
        records the jobs run on, if given)."""
        return len(self._jobs_of(only))

    def assert_jobs_count(self, expected, only=None):
        """Fail unless ``expected`` jobs were delayed (of the method ``only``)."""
        count = self.jobs_count(only)
        if count != expected:
            raise AssertionError(
                f"{count} != {expected}: {count} job(s) delayed{_of(only)}, expected "
                f"{expected}: {[_describe(job) for job in self._jobs_of(only)]}"
            )

    def assert_enqueued_job(self, method, args=None, kwargs=None, properties=None):
        """Fail unless a job calls ``method`` (a bound method of records) with these
        arguments, and has these properties as given (priority, eta, max_retries,
        description, channel, identity_key)."""
        args = tuple(args or ())
        kwargs = dict(kwargs or {})
        properties = dict(properties or {})
        for job in self._jobs_of(method):
            if job.args != args or job.kwargs != kwargs:
                continue
            if all(job.properties.get(name) == value for name, value in properties.items()):
                return
        expected = _call_text(method.__self__, method.__name__, args, kwargs)
        expected_properties = ", ".join(f"{name}={properties[name]}" for name in sorted(properties))
        actual = "\n".join(f" * {_describe(job)}" for job in self.enqueued_jobs)
        raise AssertionError(
            f"Job {expected} with properties ({expected_properties}) was not enqueued.\n"
            f"Actual enqueued jobs:\n{actual}"
        )

    def perform_enqueued_jobs(self):
        """Run the trapped jobs now, parents before their dependents; forget them."""
        jobs, self.enqueued_jobs = self.enqueued_jobs, []
        done = set()
        while jobs:
            ready = [job for job in jobs if all(id(parent) in done for parent in job.depends_on)]
            if not ready:
                raise AssertionError("the trapped jobs' dependencies form a cycle")
            for job in ready:
                job.perform()
                done.add(id(job))
            jobs = [job for job in jobs if id(job) not in done]

    def _jobs_of(self, method):
        """The jobs calling ``method`` on its very records (all jobs if ``None``)."""
        if method is None:
            return list(self.enqueued_jobs)
        records = method.__self__
        return [
            job
            for job in self.enqueued_jobs
            if job.model_name == records._name
            and job.method_name == method.__name__
            and job.recordset == records
        ]


def _of(method) -> str:
    return "" if method is None else f" of {method.__self__!r}.{method.__name__}"


def _call_text(records, method_name, args, kwargs) -> str:
    arguments = [repr(value) for value in args]
    arguments += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"<{records!r}>.{method_name}({', '.join(arguments)})"


def _describe(job: TrappedJob) -> str:
    properties = ", ".join(f"{name}={value}" for name, value in job.properties.items())
    call = _call_text(job.recordset, job.method_name, job.args, job.kwargs)
    return f"{call} with properties ({properties})"
