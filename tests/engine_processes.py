"""What the engine tests run in child processes of their own.

Children are started with the ``spawn`` method, as a fresh interpreter that imports this
module by name: it cannot rely on ``conftest.py`` having run, so it registers the bare
``job_worker`` package itself (the addon's ``__init__`` imports Odoo) before importing the
engine.
"""

import engine_import  # noqa: F401  (before anything from job_worker)
from support import START_TIMEOUT_S

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.connection import connect_engine


def claim_until_none_is_due(database, application_name, batch_size, start_together):
    """Claim batches until none is left; record each claimed id, then mark its job done.

    ``start_together`` is a barrier shared with the other claimers, so that they all
    claim at the same time rather than one after the other as they finish starting.
    Claims are recorded in ``claim_record`` (job id, claimer) with the claimer's own
    connection.
    """
    connection = connect_engine({"dbname": database}, application_name)
    try:
        start_together.wait(START_TIMEOUT_S)
        while jobs := claim_due_jobs(connection, batch_size):
            params = {"job_ids": [job.id for job in jobs], "claimer": application_name}
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO claim_record (job_id, claimer) "
                    "SELECT unnest(%(job_ids)s), %(claimer)s",
                    params,
                )
                cursor.execute(
                    """
                    UPDATE queue_job
                    SET state = 'done', date_done = (now() AT TIME ZONE 'UTC')
                    WHERE id = ANY(%(job_ids)s) AND state = 'started' AND owner = %(claimer)s
                    """,
                    params,
                )
            connection.commit()
    finally:
        connection.close()
