-- Claim up to batch_size due jobs for the connection that runs this statement, in one
-- statement, and commit them as started before any of them runs.
WITH due AS (
    -- 1. Walk the claim index in claim order: priority, then the moment the job became
    --    due (its ETA, or its creation when it has none), then creation order.
    --    Jobs whose ETA is still ahead are skipped, never started early.
    SELECT id
    FROM queue_job
    WHERE state = 'pending'
      AND coalesce(eta, date_created) <= (now() AT TIME ZONE 'UTC')
    ORDER BY priority, coalesce(eta, date_created), id
    LIMIT %(batch_size)s
    -- 2. Lock what we take; rows another processor is claiming right now are skipped,
    --    so concurrent claims never return the same job. The CTE fences the LIMIT: the
    --    UPDATE below touches exactly these rows.
    FOR UPDATE SKIP LOCKED
),
-- 3. Mark them started, owned by this connection's application_name (recovery checks that
--    the owner is still connected), with a first heartbeat and the attempt counted.
claimed AS (
    UPDATE queue_job AS job
    SET state = 'started',
        owner = current_setting('application_name'),
        retry = job.retry + 1,
        date_started = (clock_timestamp() AT TIME ZONE 'UTC'),
        heartbeat = (clock_timestamp() AT TIME ZONE 'UTC')
    FROM due
    WHERE job.id = due.id
    RETURNING job.*
)
-- 4. Hand them over in claim order (UPDATE … RETURNING has no order of its own).
SELECT id, uuid, model_name, method_name, records, args, kwargs, user_id, company_id,
       channel, retry, max_retries, owner
FROM claimed
ORDER BY priority, coalesce(eta, date_created), id
