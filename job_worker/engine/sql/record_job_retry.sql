-- Put a job back to pending for another attempt in %(delay_s)s seconds (on the
-- database's clock, the one claims compare ETAs with), keeping why this attempt
-- ended. %(attempt_spent)s false gives the attempt back (RetryableJobError with
-- ignore_retry, a serialization conflict, a graceful shutdown).
UPDATE queue_job
SET state = 'pending',
    eta = (statement_timestamp() AT TIME ZONE 'UTC') + make_interval(secs => %(delay_s)s),
    retry = CASE WHEN %(attempt_spent)s THEN retry ELSE retry - 1 END,
    exec_time = %(exec_time)s,
    exc_name = %(exc_name)s,
    exc_message = %(exc_message)s,
    exc_info = %(exc_info)s,
    result = %(result)s,
    owner = NULL,
    heartbeat = NULL
WHERE id = %(job_id)s
  AND state = 'started'
  AND owner = %(owner)s
RETURNING id
