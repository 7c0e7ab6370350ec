"""Configuration read from Odoo's config file and the environment: the ``[job_worker]``
section and channels as code."""
