"""``records.with_delay(...)``: a recordset whose method calls become jobs."""

from odoo import models

from .no_delay import runs_without_delay
from .prepare import JobProperties, check_delayable_method, prepare_job
from .store import store_jobs


def as_job(stored):
    """A stored ``queue.job`` record as OCA's ``Job`` (with the model's
    ``_job_store_values()`` written); a trapped job, or no record, as it is."""
    from ..job import Job  # the OCA-facing module imports this package

    if not isinstance(stored, models.BaseModel) or not stored:
        return stored
    job = Job._load_from_db_record(stored)
    # The row was just written: only the model's extra values remain to store (most
    # models add none, so enqueuing stays one insert, with no read-back of the row).
    extra_values = job.recordset._job_store_values(job)
    if extra_values:
        stored._write_state(extra_values)
    return job


class DelayableRecordset:
    """Stands for a recordset whose method calls become jobs instead of running now.

    Returned by ``records.with_delay(...)``. Looking up a method that the model does not
    have raises ``AttributeError`` at once; calling it stores the job and returns the
    :class:`~odoo.addons.job_worker.job.Job` (or, with a no-delay switch on, the
    method's result; inside ``trap_jobs()``, the trapped job).
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
            return as_job(store_jobs(self.records.env, [prepared], dependencies={})[0])

        delay.__name__ = name
        return delay

    def __repr__(self):
        return f"DelayableRecordset({self.records!r})"
