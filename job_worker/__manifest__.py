{
    "name": "Job Worker",
    "summary": "PostgreSQL-native background jobs for Odoo 19, run inside Odoo's own "
    "workers: with_delay() compatible with OCA queue_job, crash-proof, Odoo.sh ready",
    "description": """
Background jobs for Odoo 19 stored in PostgreSQL and run in-process.

* ``records.with_delay().method(*args, **kwargs)`` stores a job instead of running
  the method now, with the API of OCA ``queue_job``.
* Jobs are claimed with ``FOR UPDATE SKIP LOCKED`` by a framework-free engine and run
  each in its own transaction with a savepoint: a failing job's writes are rolled
  back, its exception and traceback are kept.
* Arguments are stored as JSON that round-trips recordsets, dates and datetimes
  exactly; nothing is pickled.
* A database trigger notifies runners whenever a job becomes runnable, however it
  was inserted.
""",
    "version": "19.0.1.0.0",
    "category": "Technical",
    "author": "Odoo Job Worker contributors",
    "website": "https://github.com/odoo-job-worker/odoo-job-worker",
    "license": "LGPL-3",
    "depends": ["base", "web", "mail"],
    "data": [
        "security/job_worker_security.xml",
        "security/ir.model.access.csv",
        "data/job_worker_cron.xml",
        "data/mail_message_subtype.xml",
        "data/queue_job_function_data.xml",
        "views/queue_job_views.xml",
        "views/queue_job_function_views.xml",
        "views/queue_job_channel_views.xml",
        "views/res_config_settings_views.xml",
        "views/job_worker_menus.xml",
    ],
    "post_load": "install_server_hooks",
    "uninstall_hook": "drop_engine_objects",
    "installable": True,
    "application": False,
}
