-- Settle a job whose method raised. Runs in the job's transaction after its savepoint
-- was rolled back, so none of the job's writes survive but its failure does.
-- The state and owner guard settles only a job this processor still owns.
UPDATE queue_job
SET state = 'failed',
    exec_time = %(exec_time)s,
    exc_name = %(exc_name)s,
    exc_message = %(exc_message)s,
    exc_info = %(exc_info)s
WHERE id = %(job_id)s
  AND state = 'started'
  AND owner = %(owner)s
RETURNING id
