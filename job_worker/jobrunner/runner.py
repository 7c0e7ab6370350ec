"""OCA ``queue_job``'s jobrunner ``Database``, at its import path, so that code importing
it loads.

job_worker has no separate jobrunner process talking to each database: the engine
claims, runs and recovers jobs (``engine/claim.py``, ``engine/recovery.py``). OCA's
jobrunner internals (its SQL for requeuing dead jobs, its lock table) have no
counterpart; see ``docs/migrating-from-queue-job.md``.
"""


class Database:
    """One database as OCA's jobrunner names it; only its name is kept."""

    def __init__(self, db_name):
        self.db_name = db_name
