"""``with_delay()`` and ``delayable()`` on every model, as OCA ``queue_job`` provides them,
with OCA's model hooks."""

from odoo import api, models

from ..enqueue.argument_codec import CONTEXT_KEYS_KEPT
from ..enqueue.auto_delay import auto_delay_wrapper
from ..enqueue.delayable_recordset import DelayableRecordset
from ..enqueue.graph import Delayable


class Base(models.AbstractModel):
    _inherit = "base"

    def with_delay(
        self,
        priority=None,
        eta=None,
        max_retries=None,
        description=None,
        channel=None,
        identity_key=None,
    ):
        """Return a proxy of these records whose method calls are stored as jobs.

        ``records.with_delay(priority=5).method(*args, **kwargs)`` stores a job that will
        call ``records.method(*args, **kwargs)`` later, as the current user, and returns
        it as a :class:`~odoo.addons.job_worker.job.Job`.

        :param priority: lower runs first (default 10)
        :param eta: do not start before: a datetime, a timedelta or a number of seconds
        :param max_retries: attempts allowed (default 5; 0 means no limit)
        :param description: the job's description (default: the method's docstring)
        :param channel: the channel to run in (default: the job function's, else root)
        :param identity_key: a string, or a function of the job (such as
            :func:`~odoo.addons.job_worker.job.identity_exact`) returning one: while a
            job with that key waits to run, delaying another stores nothing and returns
            the waiting job
        """
        return DelayableRecordset(
            self,
            priority=priority,
            eta=eta,
            max_retries=max_retries,
            description=description,
            channel=channel,
            identity_key=identity_key,
        )

    def delayable(
        self,
        priority=None,
        eta=None,
        max_retries=None,
        description=None,
        channel=None,
        identity_key=None,
    ):
        """Return a :class:`~odoo.addons.job_worker.delay.Delayable`: one call to
        delay as part of a graph (``.set()``, ``.on_done()``, ``group()``, ``chain()``),
        stored by ``.delay()``. Same parameters as :meth:`with_delay`."""
        return Delayable(
            self,
            priority=priority,
            eta=eta,
            max_retries=max_retries,
            description=description,
            channel=channel,
            identity_key=identity_key,
        )

    def _patch_job_auto_delay(self, method_name, context_key=None):
        """A version of ``method_name`` that delays itself when called (see
        :mod:`..enqueue.auto_delay`); assign it to the model's class in ``_register_hook``."""
        return auto_delay_wrapper(type(self), method_name, context_key=context_key)

    @api.model
    def _job_prepare_context_before_enqueue_keys(self):
        """The context keys a recordset of this model keeps when stored in a job."""
        return CONTEXT_KEYS_KEPT

    def _job_store_values(self, job):
        """Extra values of the ``queue.job`` row of ``job`` (a Job on these records),
        written when it is stored (OCA's hook, for fields an addon adds to jobs)."""
        return {}
