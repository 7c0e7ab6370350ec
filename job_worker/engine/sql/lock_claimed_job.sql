-- The first statement of a job's own transaction: lock the job's row for as long as the
-- job runs, and make sure it is still ours to run. The held lock is how recovery tells a
-- running job from an orphan (it skips locked rows), and it keeps anyone else from
-- changing the row until the outcome is committed with the job's writes.
-- client_connection_check_interval: should this process die in the middle of a long
-- statement, the server notices within a second and ends the statement, releasing the
-- row for recovery, instead of running it to its end.
SET LOCAL client_connection_check_interval = 1000;
SELECT id
FROM queue_job
WHERE id = %(job_id)s
  AND state = 'started'
  AND owner = %(owner)s
FOR NO KEY UPDATE
