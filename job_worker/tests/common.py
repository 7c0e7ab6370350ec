"""Test helpers: ``trap_jobs()`` and ``mock_with_delay()`` (OCA ``queue_job``'s,
importable from here as from ``odoo.addons.queue_job.tests.common``), and committed
data for tests of the engine, which claims through its own connection and cannot see
the test's transaction."""

from contextlib import contextmanager
from unittest import mock

from odoo import SUPERUSER_ID, api

from ..enqueue.job_trap import JobsTrap, TrappedJob, trap_jobs

__all__ = ["CommittedDataMixin", "JobsTrap", "TrappedJob", "mock_with_delay", "trap_jobs"]


@contextmanager
def mock_with_delay():
    """Replace ``with_delay()``'s proxy by a mock; yield ``(proxy_class, proxy)``.

    ``proxy_class.call_args`` holds the records and the ``with_delay()`` parameters,
    ``proxy.<method>.call_args`` the arguments of the delayed call; nothing is stored.
    """
    with mock.patch(
        "odoo.addons.job_worker.models.base.DelayableRecordset",
        name="DelayableRecordset",
        spec=True,
    ) as proxy_class:
        proxy = mock.MagicMock(name="DelayableRecordset")
        proxy_class.return_value = proxy
        yield proxy_class, proxy


class CommittedDataMixin:
    """Write and read committed data beside the test transaction, and clean it up."""

    @contextmanager
    def committed_env(self, uid=SUPERUSER_ID, context=None):
        """An environment on a new cursor, committed when the block ends."""
        with self.registry.cursor() as cursor:
            yield api.Environment(cursor, uid, context or {})

    def delete_committed_after_test(self, model_name, ids):
        """Delete these committed records once the test is over."""

        def delete():
            with self.committed_env() as env:
                env[model_name].browse(ids).exists().unlink()

        self.addCleanup(delete)

    def read_committed(self, model_name, record_id, field_names):
        """Values of a committed record, read through a fresh cursor."""
        with self.committed_env() as env:
            return env[model_name].browse(record_id).read(field_names)[0]
