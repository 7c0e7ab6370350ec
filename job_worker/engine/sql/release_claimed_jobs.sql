-- Give back jobs this processor claimed but did not start (its time budget ran out, it
-- is stopping): pending again, the attempt the claim counted taken back, no owner.
UPDATE queue_job
SET state = 'pending',
    retry = retry - 1,
    owner = NULL,
    date_started = NULL,
    heartbeat = NULL
WHERE id = ANY(%(job_ids)s)
  AND state = 'started'
  AND owner = %(owner)s
