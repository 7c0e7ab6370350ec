-- Recover started jobs whose processor is gone, and return what became of them.
WITH live_owner AS (
    -- 1. Connections to this database right now, of the role this connection logged in
    --    as. A processor's engine connection carries its name; a dead process's
    --    connections vanish from here at once. Another role's connection proves nothing:
    --    any role allowed to connect can take any name (a job's owner is shown on the
    --    job), and would keep that job started forever. usesysid, the role a connection
    --    logged in as, is shown to every role and cannot be changed by the connection.
    SELECT DISTINCT activity.application_name AS name
    FROM pg_stat_activity AS activity
    WHERE activity.datname = current_database()
      AND activity.usesysid = (SELECT own.usesysid FROM pg_stat_activity AS own
                               WHERE own.pid = pg_backend_pid())
),
orphan AS (
    -- 2. Started jobs whose owner is not connected, past a grace period after their
    --    claim (a pooler may hide or rename connections: the grace leaves time for a live
    --    job's own transaction to take its row lock; `heartbeat` is set at the claim);
    --    and started jobs of the caller
    --    itself that it no longer runs (their settlement failed with their connection).
    --    SKIP LOCKED: a job whose own transaction is still running holds its row lock,
    --    so it is alive whatever pg_stat_activity shows.
    SELECT job.id
    FROM queue_job AS job
    WHERE job.state = 'started'
      AND (
          (
              (job.owner IS NULL OR job.owner NOT IN (SELECT name FROM live_owner))
              AND coalesce(job.heartbeat, job.date_started, job.date_created)
                  < (now() AT TIME ZONE 'UTC') - make_interval(secs => %(grace_s)s)
          )
          OR (job.owner = current_setting('application_name') AND NOT job.id = ANY(%(in_flight)s))
      )
    FOR UPDATE OF job SKIP LOCKED
)
-- 3. Pending again with the attempt counted, after a backoff that doubles with each
--    attempt (1 s, 2 s, 4 s … at most a minute: a job that kills its worker must not
--    crash-loop them), or failed once the attempts are spent. The exponent stops at 6
--    (64 s, above the minute): 2 to the power of a large attempt count (unlimited
--    retries) overflows, and one such job would make this whole statement fail.
UPDATE queue_job AS job
SET state = CASE WHEN job.max_retries > 0 AND job.retry >= job.max_retries
                 THEN 'failed' ELSE 'pending' END,
    eta = (now() AT TIME ZONE 'UTC')
          + make_interval(secs => least(60, power(2, least(greatest(job.retry - 1, 0), 6)))),
    exc_name = 'JobFoundDead',
    exc_message = format(
        'worker died: processor %%s disconnected while attempt %%s of %%s ran',
        coalesce(job.owner, '?'), job.retry,
        CASE WHEN job.max_retries > 0 THEN job.max_retries::text ELSE 'unlimited' END
    ),
    exc_info = NULL,
    owner = NULL,
    heartbeat = NULL
FROM orphan
WHERE job.id = orphan.id
RETURNING job.id, job.uuid, job.state, job.retry
