"""The buttons of Job Queue > Jobs that run jobs or tell who runs them.

Every one goes through the engine (claims, row locks, channel capacities), so they are
safe beside the leader, the cron processor and the process endpoint. Job Queue Managers
only: a model's method is callable by any logged-in user, so the group is checked in
each method, not only on the buttons.

The list's header buttons are plain (not ``@api.model``) methods: the web client calls
them with the selected ids, none or many, and they act on the database, not on the
selection.
"""

import logging

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..engine.connection import engine_application_name
from ..engine.states import JobState
from ..engine.threads import start_engine_thread
from ..processing.budget import processing_budget
from ..processing.database_processing import (
    process_due_jobs_in_database,
    run_jobs_now_in_database,
)
from ..runner.status import runner_status

_logger = logging.getLogger(__name__)

SETTLED_STATES = frozenset({JobState.DONE.value, JobState.FAILED.value})


class QueueJob(models.Model):
    _inherit = "queue.job"

    def action_process_due_jobs(self):
        """Run a bounded batch of due jobs now, in this request, and report the counts
        (the batch size and time budget of Job Queue > Settings). The selection, if any,
        is ignored: every due job is a candidate."""
        self._check_job_queue_manager()
        budget = processing_budget(self.env)
        report = process_due_jobs_in_database(
            self.env.cr.dbname, budget.batch_size, budget.max_seconds, jobs_end_within_budget=True
        )
        return self._processing_notification(
            self.env._("Due jobs processed"), report.processed, report.done, report.failed
        )

    def action_process_due_jobs_in_background(self):
        """Run a bounded batch of due jobs on a thread of this worker; return at once."""
        self._check_job_queue_manager()
        budget = processing_budget(self.env)
        dbname = self.env.cr.dbname

        def process():
            try:
                report = process_due_jobs_in_database(dbname, budget.batch_size, budget.max_seconds)
                _logger.info(
                    "background processing of %s: %d job(s), %d done, %d failed",
                    dbname,
                    report.processed,
                    report.done,
                    report.failed,
                )
            except Exception:
                _logger.exception("background processing of %s failed", dbname)

        # Blocking the worker's signals: a SIGINT handed to this thread would not stop it.
        start_engine_thread(process, f"job_worker-background-{dbname}")
        return self._notification(
            self.env._("Processing in the background"),
            self.env._(
                "Up to %(jobs)s due job(s), for at most %(seconds)s s, on a thread of this "
                "worker. Reload the list to follow them.",
                jobs=budget.batch_size,
                seconds=int(budget.max_seconds),
            ),
            "info",
        )

    def action_run_now(self):
        """Run the selected pending jobs now, in this request: an ETA still ahead is
        brought to now; channels and capacities still apply (a job whose channel is
        full stays pending, and the leader runs it when there is room). The notification
        says what became of each: run here, already taken by another processor (the
        leader is woken by the same change), or left to the runner."""
        self._check_job_queue_manager()
        pending = self.filtered(lambda job: job.state == JobState.PENDING.value)
        if not pending:
            raise UserError(self.env._("None of the selected jobs is pending."))
        budget = processing_budget(self.env)
        owner = engine_application_name("process")
        report = run_jobs_now_in_database(
            self.env.cr.dbname,
            pending.ids,
            budget.max_seconds,
            application_name=owner,
            jobs_end_within_budget=True,
        )
        lines = []
        if report.processed:
            lines.append(
                self.env._(
                    "%(processed)s job(s) run here: %(done)s done, %(failed)s failed.",
                    processed=report.processed,
                    done=report.done,
                    failed=report.failed,
                )
            )
        lines += self._describe_jobs_run_elsewhere(pending.ids, owner)
        skipped = len(self) - len(pending)
        if skipped:
            lines.append(
                self.env._("%(skipped)s selected job(s) were not pending.", skipped=skipped)
            )
        kind = "warning" if report.failed else "success" if report.processed else "info"
        notification = self._notification(self.env._("Run now"), "\n".join(lines), kind)
        notification["params"]["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return notification

    def _describe_jobs_run_elsewhere(self, job_ids, own_owner):
        """What became of the jobs this press did not run, read in a fresh transaction
        (the request's snapshot predates the leader's claims)."""
        with self.env.registry.cursor() as cursor:
            cursor.execute(
                "SELECT state, owner FROM queue_job"
                " WHERE id = ANY(%s) AND owner IS DISTINCT FROM %s",
                [list(job_ids), own_owner],
            )
            rows = cursor.fetchall()
        started = [owner for state, owner in rows if state == JobState.STARTED.value]
        settled = [owner for state, owner in rows if state in SETTLED_STATES]
        waiting = [state for state, _owner in rows if state == JobState.PENDING.value]
        lines = []
        if started:
            lines.append(
                self.env._(
                    "%(count)s job(s) already started by %(owners)s.",
                    count=len(started),
                    owners=", ".join(sorted(set(started))),
                )
            )
        if settled:
            lines.append(
                self.env._(
                    "%(count)s job(s) already run by %(owners)s.",
                    count=len(settled),
                    owners=", ".join(
                        sorted({owner or self.env._("a manager") for owner in settled})
                    ),
                )
            )
        if waiting:
            lines.append(
                self.env._(
                    "%(count)s job(s) handed to the runner: it runs them when their channel "
                    "has room (full, paused or rate-limited now) or their retry is due.",
                    count=len(waiting),
                )
            )
        return lines

    @api.model
    def get_runner_status(self):
        """Who runs this database's jobs: candidates, leader, this worker's role and why
        (see :func:`~odoo.addons.job_worker.runner.status.runner_status`)."""
        self._check_job_queue_manager()
        return runner_status(self.env.cr)

    def action_show_runner_status(self):
        """Open the runner status view: the candidates, the leader, this worker's role."""
        return self.env["job_worker.runner.status"].action_open()

    @api.model
    def _check_job_queue_manager(self):
        """Refuse (AccessError) unless the user is a Job Queue Manager: a model's method
        is callable by any logged-in user, so every action checks it itself."""
        if not self.env.user.has_group("job_worker.group_queue_job_manager"):
            raise AccessError(self.env._("Only Job Queue Managers may do this."))

    def _processing_notification(self, title, processed, done, failed):
        message = self.env._(
            "%(processed)s job(s) processed: %(done)s done, %(failed)s failed.",
            processed=processed,
            done=done,
            failed=failed,
        )
        notification = self._notification(title, message, "warning" if failed else "success")
        notification["params"]["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return notification

    def _notification(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": title, "message": message, "type": kind},
        }
