from . import queue_job_state_wizards
