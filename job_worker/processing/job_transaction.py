"""The Odoo side of the engine's execution protocol: one job's own transaction.

The engine claims and settles jobs; :class:`OdooJobTransaction` gives it a registry
cursor, an environment for the job's user, and the job's method called on its decoded
records and arguments.
"""

import logging
import threading
from contextlib import contextmanager

from odoo import SUPERUSER_ID, api, sql_db
from odoo.modules.registry import Registry
from odoo.tools import SQL

from ..engine.codec import loads
from ..engine.errors import CorruptJobDataError, JobInterruptedError
from ..engine.execution import JobResult, hold_claimed_job
from ..enqueue.argument_codec import codec_extensions

_logger = logging.getLogger(__name__)


class OdooJobTransaction:
    """One job's own transaction: a registry cursor and the environment the job runs in."""

    def __init__(self, registry, job):
        self.job = job
        self.cursor = registry.cursor()
        # The registry as it is now: a long-running leader picks up modules upgraded and
        # caches invalidated by other processes. Checked on the job's own cursor (one
        # small query), not on a cursor borrowed from the pool for it.
        registry.check_signaling(self.cursor)
        self.env = api.Environment(self.cursor, job.user_id or SUPERUSER_ID, {})

    def execute(self, query, params):
        """Run an engine query in the job's transaction; its rows, if any."""
        self.cursor.execute(query, params)
        return self.cursor.fetchall() if self.cursor.description else []

    @contextmanager
    def savepoint(self):
        """A flushing savepoint: pending ORM writes are flushed inside it, so an error
        they raise is the job's failure, rolled back with the job's other writes. The
        post-commit hooks the failed job registered (mails to send, bus messages) go
        with them: they belong to work that no longer exists."""
        self._savepoint = self.cursor.savepoint(flush=True)
        try:
            with self._savepoint:
                yield
        except BaseException:
            self.cursor.postcommit.clear()
            raise

    @property
    def backend_pid(self):
        """PostgreSQL backend of this transaction, so a timeout can cancel its statement."""
        return self.cursor._cnx.info.backend_pid

    def perform(self):
        """Call the job's method on its records, as the job's user."""
        method, args, kwargs = self._decode_call()
        with self._job_commits_keep_the_job_held():
            return method(*args, **kwargs)

    @contextmanager
    def _job_commits_keep_the_job_held(self):
        """Let job code commit (or roll back) its transaction, as long imports do.

        A commit makes the job's work so far permanent; the job's row lock and savepoint
        end with that transaction, so they are taken again at once: a later failure rolls
        back only what followed the commit, and recovery still sees the job running.
        """
        cursor = self.cursor
        cursor_class = type(cursor)

        def commit():
            cursor_class.commit(cursor)
            self._hold_job_again()

        def rollback():
            cursor_class.rollback(cursor)
            self._hold_job_again()

        cursor.commit, cursor.rollback = commit, rollback
        try:
            yield
        finally:
            del cursor.commit, cursor.rollback

    def _hold_job_again(self):
        if not hold_claimed_job(self, self.job):
            raise JobInterruptedError(f"job {self.job.uuid} was taken away after it committed")
        self.cursor.execute(SQL("SAVEPOINT %s", SQL.identifier(self._savepoint.name)))

    def _decode_call(self):
        """The bound method and arguments the job stored; CorruptJobDataError if they
        cannot be rebuilt (undecodable JSON, a model or method that no longer exists)."""
        job = self.job
        if job.model_name not in self.env.registry:
            raise CorruptJobDataError(f"model {job.model_name!r} of {job.func_name} does not exist")
        extensions = codec_extensions(self.env)
        try:
            records = (
                loads(job.records, extensions, path="records")
                if job.records
                else self.env[job.model_name]
            )
            args = loads(job.args, extensions, path="args") if job.args else []
            kwargs = loads(job.kwargs, extensions, path="kwargs") if job.kwargs else {}
        except (ValueError, LookupError, TypeError, KeyError) as error:
            raise CorruptJobDataError(
                f"the stored records or arguments of job {job.uuid} ({job.func_name}) "
                f"cannot be decoded: {error}"
            ) from error
        if not job.records and job.company_id:
            records = records.with_company(job.company_id)
        # OCA's key: code that delays itself checks it to run, not delay again.
        records = records.with_context(job_uuid=job.uuid)
        method = getattr(records, job.method_name, None)
        if not callable(method):
            raise CorruptJobDataError(
                f"{job.model_name} has no method {job.method_name!r} any more"
            )
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise CorruptJobDataError(
                f"the stored arguments of {job.func_name} are not a list and a dict"
            )
        return method, args, kwargs

    def on_settled(self, job, result):
        """The engine's settlement seam (``JobTransaction.on_settled``): the outcome is
        recorded, not committed; a failure is posted on the job's chatter, in this same
        transaction (see :mod:`..models.queue_job_failure_notification`). Its WARNING line
        for operators comes from the engine's operator log."""
        if result is not JobResult.FAILED:
            return
        env = self.env(su=True)
        env.invalidate_all()  # the engine's SQL just changed the job's row
        record = env["queue.job"].browse(job.id)
        try:
            with self.cursor.savepoint():
                record._post_failure_message()
        except Exception:
            # The failure is recorded all the same: a post that cannot be made (mail
            # configuration, a follower's access) must not make the job run again.
            _logger.exception("the failure of job %s could not be posted on it", job.uuid)

    def commit(self):
        """Commit the job's transaction (post-commit hooks run)."""
        self.cursor.commit()

    def rollback(self):
        """Roll the job's transaction back."""
        self.cursor.rollback()

    def close(self):
        """Give the cursor back to Odoo's pool."""
        self.cursor.close()


@contextmanager
def thread_serving(dbname):
    """Name ``dbname`` on the current thread while the block runs: Odoo's log lines show
    it, as they do for requests and crons."""
    current_thread = threading.current_thread()
    previous_dbname = getattr(current_thread, "dbname", None)
    current_thread.dbname = dbname
    try:
        yield
    finally:
        if previous_dbname is None:
            del current_thread.dbname
        else:
            current_thread.dbname = previous_dbname


def odoo_transaction_factory(dbname):
    """The engine's :data:`JobTransactionFactory` for jobs of ``dbname``. Each job gets
    the registry as it is now (see :class:`OdooJobTransaction`); the job's thread carries
    the database's name, for Odoo's log lines."""

    @contextmanager
    def open_transaction(job):
        registry = Registry(dbname)
        with thread_serving(dbname):
            transaction = OdooJobTransaction(registry, job)
            try:
                yield transaction
            finally:
                transaction.close()

    return open_transaction


def engine_connection_params(dbname):
    """libpq parameters for ``dbname``, as Odoo's own pool would connect."""
    return sql_db.connection_info_for(dbname)[1]
