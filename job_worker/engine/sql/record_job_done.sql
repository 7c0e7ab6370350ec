-- Settle a job that ran to completion. Runs in the job's own transaction, so the job's
-- writes and its done state commit together: a crash leaves either both or neither.
-- The state and owner guard settles only a job this processor still owns.
UPDATE queue_job
SET state = 'done',
    result = %(result)s,
    exec_time = %(exec_time)s,
    date_done = (clock_timestamp() AT TIME ZONE 'UTC'),
    exc_name = NULL,
    exc_message = NULL,
    exc_info = NULL
WHERE id = %(job_id)s
  AND state = 'started'
  AND owner = %(owner)s
RETURNING id
