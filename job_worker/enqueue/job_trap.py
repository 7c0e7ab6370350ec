"""``trap_jobs()``: keeping delayed calls in memory, for tests, as OCA ``queue_job``'s does.

Inside ``with trap_jobs() as trap:``, ``with_delay()`` and ``delayable()`` check and
encode calls as usual (a call that could never run still raises) but store nothing:
the trap records them, and a test asserts on them or runs them.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_active_trap: ContextVar["JobsTrap | None"] = ContextVar("job_worker_jobs_trap", default=None)


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
    properties; ``depends_on`` are the trapped jobs it would wait for."""

    recordset: object
    method_name: str
    args: tuple
    kwargs: dict
    properties: dict
    depends_on: list = field(default_factory=list)

    @property
    def model_name(self) -> str:
        return self.recordset._name

    def perform(self):
        return getattr(self.recordset, self.method_name)(*self.args, **self.kwargs)


class JobsTrap:
    """The jobs delayed in a ``trap_jobs()`` block, in order."""

    def __init__(self):
        self.enqueued_jobs: list[TrappedJob] = []

    # -- recording ---------------------------------------------------------------------

    def record(self, prepared_jobs, dependencies):
        """Keep prepared jobs (see :func:`~..delay.store_jobs`); return them trapped."""
        trapped = []
        for index, prepared in enumerate(prepared_jobs):
            values = prepared.values
            properties = {
                "priority": values["priority"],
                "eta": values["eta"],
                "max_retries": values["max_retries"],
                "description": values["name"],
                "channel": values["channel"],
                "identity_key": values["identity_key"],
            }
            job = TrappedJob(
                prepared.records,
                prepared.method_name,
                prepared.args,
                prepared.kwargs,
                properties,
                [trapped[parent] for parent in dependencies.get(index, ())],
            )
            trapped.append(job)
        self.enqueued_jobs.extend(trapped)
        return trapped

    # -- assertions --------------------------------------------------------------------

    def jobs_count(self, only=None) -> int:
        """How many jobs were delayed (only calls of the method ``only``, if given)."""
        return len(self._jobs_of(only))

    def assert_jobs_count(self, expected, only=None):
        """Fail unless ``expected`` jobs were delayed (of the method ``only``)."""
        count = self.jobs_count(only)
        if count != expected:
            raise AssertionError(
                f"{count} job(s) delayed{_of(only)}, expected {expected}: "
                f"{[_describe(job) for job in self._jobs_of(only)]}"
            )

    def assert_enqueued_job(self, method, args=None, kwargs=None, properties=None):
        """Fail unless a job calls ``method`` (a bound method of records) with these
        arguments, and has these properties (priority, eta, max_retries, description,
        channel, identity_key)."""
        args = tuple(args or ())
        kwargs = dict(kwargs or {})
        properties = dict(properties or {})
        for job in self._jobs_of(method, same_records=True):
            if job.args != args or job.kwargs != kwargs:
                continue
            if all(job.properties.get(name) == value for name, value in properties.items()):
                return
        raise AssertionError(
            f"no job delayed{_of(method)} with args {args!r}, kwargs {kwargs!r} and "
            f"properties {properties!r}; delayed: "
            f"{[_describe(job) for job in self.enqueued_jobs]}"
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

    def _jobs_of(self, method, same_records=False):
        """The jobs calling ``method`` of its model (on its very records, if asked)."""
        if method is None:
            return list(self.enqueued_jobs)
        records = method.__self__
        return [
            job
            for job in self.enqueued_jobs
            if job.model_name == records._name
            and job.method_name == method.__name__
            and (not same_records or job.recordset == records)
        ]


def _of(method) -> str:
    return "" if method is None else f" of {method.__self__!r}.{method.__name__}"


def _describe(job: TrappedJob) -> str:
    return f"{job.recordset!r}.{job.method_name}{job.args!r}{job.kwargs!r}"
