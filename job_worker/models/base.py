"""``with_delay()`` on every model, as OCA ``queue_job`` provides it."""

from odoo import models

from ..delay import DelayableRecordset


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
        the ``queue.job`` record.

        :param priority: lower runs first (default 10)
        :param eta: do not start before: a datetime, a timedelta or a number of seconds
        :param max_retries: attempts allowed (default 5; 0 means no limit)
        :param description: the job's description (default: the method's docstring)
        :param channel: the channel to run in (default: the job function's, else root)
        :param identity_key: a string; jobs sharing it are meant to be deduplicated
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
