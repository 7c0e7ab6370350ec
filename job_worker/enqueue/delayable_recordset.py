"""``records.with_delay(...)``: a recordset whose method calls become jobs."""

from .no_delay import runs_without_delay
from .prepare import JobProperties, check_delayable_method, prepare_job
from .store import store_jobs


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
