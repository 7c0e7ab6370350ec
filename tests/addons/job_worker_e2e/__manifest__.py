{
    "name": "Job Worker end-to-end jobs",
    "summary": "Jobs for the end-to-end tests of job_worker: each records its execution",
    "version": "19.0.1.0.0",
    "category": "Hidden",
    "author": "Odoo Job Worker contributors",
    "license": "LGPL-3",
    "depends": ["job_worker"],
    "data": ["security/ir.model.access.csv"],
    "installable": True,
}
