{
    "name": "Job Worker: Cron Processor",
    "summary": "Run due background jobs from Odoo's scheduled actions when no HTTP worker "
    "is awake: batches within the cron's time budget, triggers debounced per minute",
    "description": """
Processes due ``queue.job`` records from Odoo's cron worker, where the embedded runner
of ``job_worker`` never runs.

* A scheduled action runs due jobs through the ``job_worker`` engine, in batches, within
  the time Odoo's scheduler grants the run (``ir.cron._commit_progress``), and asks to
  run again at once while due jobs remain. Channels, capacities, priorities and retry
  patterns are the engine's, the same as for the embedded runner.
* Enqueuing a job, requeuing it or moving its ETA schedules the action for the moment
  the job becomes due, with at most one ``ir.cron.trigger`` per minute.
* Safe beside every other processor: claims are row-locked in PostgreSQL, so no job
  runs twice and channel capacities hold across all of them.
""",
    "version": "19.0.1.0.0",
    "category": "Technical",
    "author": "Odoo Job Worker contributors",
    "website": "https://github.com/odoo-job-worker/odoo-job-worker",
    "license": "LGPL-3",
    "depends": ["job_worker"],
    "data": ["data/job_worker_cron_data.xml"],
    "installable": True,
    "application": False,
}
