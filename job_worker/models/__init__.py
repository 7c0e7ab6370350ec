from . import base, queue_job, queue_job_function
