from . import job_worker_e2e_execution
