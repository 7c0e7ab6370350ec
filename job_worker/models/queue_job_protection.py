"""What no one may do to a job through the ORM: create one outside the delay API, copy
one, choose its call after the fact, or change its state and timestamps other than
through Requeue, Cancel and Set to done.

A job is a call the server makes later, as the user the delaying code chose. Whoever
could write a job's model, method, records (which carry their user and superuser flag),
arguments, user or company could make the server run a call of their choosing as anyone.
So these rules hold for every caller, the superuser included, and for every ORM path
(``create``, ``copy``, ``write``, imports, one2many commands):

- jobs are created only by the delay API (``with_delay``, ``delayable``, graphs), which
  stores them as the superuser through :meth:`QueueJob._create_delayed_jobs`. That method
  is private: Odoo refuses RPC calls to methods whose name starts with ``_``, and a flag
  in the context, which an RPC caller could send, proves nothing. Server code running as
  the superuser may also create jobs with OCA's ``EDIT_SENTINEL`` object in its context
  (OCA's own test data does): an object, which no RPC context can hold;
- a job's call is never rewritten, and its state, attempts, timestamps, outcome and
  owner change only through the state actions (or the engine, in SQL; or code running
  as superuser, which no RPC call does), never while the job is started;
- a Job Queue Manager may change a job's priority, ETA, attempts allowed and channel,
  while it is not started.
"""

import contextvars

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..engine.states import JobState

CALL_FIELDS = frozenset(
    {
        "uuid",
        "model_name",
        "method_name",
        "records",
        "args",
        "kwargs",
        "func_string",
        "user_id",
        "company_id",
        "identity_key",
        "job_function_id",
        "graph_uuid",
        "dependency_ids",
        "dependent_ids",
    }
)
"""Fields of the call a job makes: set at creation, never written through the ORM."""
MANAGER_WRITABLE_FIELDS = frozenset({"priority", "eta", "max_retries", "channel"})
"""The only job fields a write through the ORM may change (besides the chatter's)."""

_storing_delayed_jobs = contextvars.ContextVar("job_worker_storing_delayed_jobs", default=False)
_changing_state_by_action = contextvars.ContextVar("job_worker_state_action", default=False)


class QueueJob(models.Model):
    _inherit = "queue.job"

    @api.model_create_multi
    def create(self, vals_list):
        """Refused, unless the delay API stores these jobs, or code running as the superuser
        passes OCA's ``EDIT_SENTINEL`` object in the context (see the module's docstring)."""
        if not (self.env.su and (_storing_delayed_jobs.get() or self._has_edit_sentinel())):
            raise AccessError(
                self.env._(
                    "Jobs cannot be created directly: they are stored by delaying a method "
                    "in code (with_delay(), delayable()), which runs it later as the user "
                    "who delayed it."
                )
            )
        return super().create(vals_list)

    def _has_edit_sentinel(self):
        """Whether the context holds OCA's ``EDIT_SENTINEL`` itself: a Python object that
        only server code can pass (a JSON-RPC context holds copies of data, never it)."""
        return self.env.context.get("_job_edit_sentinel") is self.EDIT_SENTINEL

    def copy(self, default=None):
        """Refused: a copy could choose another call. Requeue the job, or delay a new one."""
        raise AccessError(
            self.env._("Jobs cannot be copied: requeue the job, or delay a new one in code.")
        )

    def unlink(self):
        """Refused, but for code running as the superuser, for jobs running now (their
        processor holds them) and for jobs that other jobs still wait for (their
        dependents would wait forever): cancel those first, which cascades."""
        if not self.env.su:
            self.check_access("unlink")
            running = self - self._lock_not_started()
            if running:
                raise UserError(
                    self.env._(
                        "Jobs cannot be deleted while they run (%(jobs)s).",
                        jobs=", ".join(running.mapped("uuid")),
                    )
                )
            waiting = (
                self.dependent_ids.filtered(
                    lambda job: job.state == JobState.WAIT_DEPENDENCIES.value
                )
                - self
            )
            if waiting:
                raise UserError(
                    self.env._(
                        "Jobs waiting for these ones would wait forever (%(jobs)s): cancel "
                        "these jobs first, which cancels their waiting dependents too.",
                        jobs=", ".join(waiting.mapped("uuid")),
                    )
                )
        return super().unlink()

    def write(self, vals):
        """Refuse to rewrite a job's call, its state and timestamps outside the state
        actions (unless as superuser), or anything of a started job; the priority, ETA,
        attempts allowed and channel of a job that is not started may change."""
        self.check_access("write")  # a user without the right hears that first
        if _changing_state_by_action.get():
            self._refuse_call_rewrite(vals)  # the state path never rewrites a call either
        else:
            self._check_orm_write(vals)
        return super().write(vals)

    def _refuse_call_rewrite(self, vals):
        rewritten = CALL_FIELDS.intersection(vals)
        if rewritten:
            raise UserError(
                self.env._(
                    "The call of a job cannot be changed after it is created (%(fields)s). "
                    "Cancel it and delay a new one.",
                    fields=", ".join(sorted(rewritten)),
                )
            )

    def _check_orm_write(self, vals):
        self._refuse_call_rewrite(vals)
        chatter_fields = self.env["mail.thread"]._fields
        job_fields = {name for name in vals if name not in chatter_fields}
        engine_owned = job_fields - MANAGER_WRITABLE_FIELDS
        # Code running as superuser may set a waiting job's state (tests, migrations):
        # no RPC call runs as superuser, and the call itself stays out of reach.
        if engine_owned and not self.env.su:
            raise UserError(
                self.env._(
                    "Only Requeue, Cancel and Set to done change these fields of a job "
                    "(and the job itself, as it runs): %(fields)s.",
                    fields=", ".join(sorted(engine_owned)),
                )
            )
        if job_fields:
            started = self.filtered(lambda job: job.state == JobState.STARTED.value)
            if started:
                raise UserError(
                    self.env._(
                        "Started jobs cannot be changed while they run (%(jobs)s).",
                        jobs=", ".join(started.mapped("uuid")),
                    )
                )

    @api.model
    def _create_delayed_jobs(self, vals_list):
        """Create jobs prepared by the delay API (:mod:`..enqueue.store`), as the superuser.
        The only way to create jobs; private, so that no RPC call reaches it."""
        token = _storing_delayed_jobs.set(True)
        try:
            return self.sudo().create(vals_list)
        finally:
            _storing_delayed_jobs.reset(token)

    def _write_by_state_action(self, vals):
        """Write the state and timestamps a state action sets (Requeue, Cancel, Set to
        done): the one ORM path to those fields."""
        token = _changing_state_by_action.set(True)
        try:
            return self.write(vals)
        finally:
            _changing_state_by_action.reset(token)

    def _lock_not_started(self):
        """These jobs that are not started, their rows locked until this transaction ends.

        A job's state read earlier may be stale: a processor may have claimed it since. A
        job running now holds its row lock (see ``engine/sql/lock_claimed_job.sql``), so
        it is skipped, whatever this transaction's snapshot says; a claim committed after
        the snapshot makes the lock fail with a serialization error (Odoo retries the
        request, which then sees the job started). Locked rows are skipped by claims.
        """
        if not self:
            return self
        self.flush_recordset()
        self.env.cr.execute(
            "SELECT id FROM queue_job WHERE id = ANY(%s) AND state != %s FOR UPDATE SKIP LOCKED",
            [self.ids, JobState.STARTED.value],
        )
        lockable = {job_id for (job_id,) in self.env.cr.fetchall()}
        return self.filtered(lambda job: job.id in lockable)
