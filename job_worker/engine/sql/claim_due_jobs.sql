-- Claim up to batch_size due jobs for the connection running this statement, honouring
-- every channel's pause, capacity (a child's started jobs count against its ancestors),
-- sequential flag and rate limit. Runs right after lock_claims.sql, in its transaction.
-- Every "now" below is statement_timestamp(): read once, after the lock was granted.
-- (now() is the transaction's start, before the lock wait: rate-limit starts stamped
-- with it would leave the window early and let the next claim overshoot.)
WITH RECURSIVE
-- 1. The channel tree: each configured channel with its path (itself, then each ancestor
--    up to root) and whether it or an ancestor is paused.
channel_tree AS (
    SELECT id, complete_name, ARRAY[id] AS path, coalesce(paused, false) AS paused
    FROM queue_job_channel
    WHERE parent_id IS NULL
    UNION ALL
    SELECT child.id, child.complete_name, child.id || tree.path,
           tree.paused OR coalesce(child.paused, false)
    FROM queue_job_channel AS child
    JOIN channel_tree AS tree ON child.parent_id = tree.id
),
-- 2. The distinct channel names of pending jobs: a skip scan over the claim index, one
--    probe per name, however many jobs each name has.
pending_name AS (
    (SELECT channel AS name FROM queue_job WHERE state = 'pending' ORDER BY channel LIMIT 1)
    UNION ALL
    SELECT (
        SELECT channel FROM queue_job
        WHERE state = 'pending' AND channel > pending_name.name
        ORDER BY channel LIMIT 1
    )
    FROM pending_name
    WHERE pending_name.name IS NOT NULL
),
-- 3. Job channel names (pending, started, and failed when a sequential channel exists)
--    resolved to the configured channel they run in: the channel of that name, else the
--    nearest configured ancestor.
has_sequential AS (
    SELECT EXISTS (SELECT 1 FROM queue_job_channel WHERE sequential) AS any
),
job_name AS (
    SELECT name FROM pending_name WHERE name IS NOT NULL
    UNION
    SELECT channel FROM queue_job WHERE state = 'started'
    UNION
    SELECT DISTINCT channel FROM queue_job, has_sequential
    WHERE state = 'failed' AND has_sequential.any
),
resolved_name AS (
    SELECT job_name.name, nearest.id AS channel_id, nearest.path
    FROM job_name
    CROSS JOIN LATERAL (
        SELECT tree.id, tree.path
        FROM channel_tree AS tree
        WHERE job_name.name = tree.complete_name
           OR starts_with(job_name.name, tree.complete_name || '.')
           OR tree.path = ARRAY[tree.id]  -- root takes what no other channel does
        ORDER BY job_name.name = tree.complete_name DESC,
                 length(tree.complete_name) DESC
        LIMIT 1
    ) AS nearest
),
-- 4. Started and failed jobs counted in every channel of their path.
occupancy AS (
    SELECT ancestor.id AS channel_id,
           count(*) FILTER (WHERE job.state = 'started') AS started,
           count(*) FILTER (WHERE job.state = 'failed') AS failed
    FROM queue_job AS job
    JOIN resolved_name ON resolved_name.name = job.channel
    CROSS JOIN LATERAL unnest(resolved_name.path) AS ancestor(id)
    CROSS JOIN has_sequential
    WHERE job.state = 'started' OR (job.state = 'failed' AND has_sequential.any)
    GROUP BY ancestor.id
),
-- 5. Free slots per channel: none when paused; capacity minus started jobs (a capacity
--    of 0 or none: no limit of its own); a sequential channel takes one job when nothing
--    of it is started or failed; a rate limit (0 or none: no limit) leaves its allowance
--    minus the starts in the window.
free_slots AS (
    SELECT tree.id AS channel_id,
           CASE WHEN tree.paused THEN 0 ELSE greatest(0, least(
               coalesce(nullif(channel.capacity, 0) - coalesce(occupancy.started, 0), 2147483647),
               CASE WHEN coalesce(channel.sequential, false) THEN
                   CASE WHEN coalesce(occupancy.started, 0) + coalesce(occupancy.failed, 0) = 0
                        THEN 1 ELSE 0 END
                   ELSE 2147483647 END,
               CASE WHEN channel.rate_limit > 0 THEN
                   channel.rate_limit - (
                       SELECT count(*) FROM queue_job_channel_start AS start
                       WHERE start.channel_id = channel.id
                         AND start.started_at > (statement_timestamp() AT TIME ZONE 'UTC')
                             - make_interval(secs => coalesce(channel.rate_period, 1))
                   )
                   ELSE 2147483647 END
           )) END AS free
    FROM channel_tree AS tree
    JOIN queue_job_channel AS channel ON channel.id = tree.id
    LEFT JOIN occupancy ON occupancy.channel_id = tree.id
),
-- 6. Job names whose whole path has room, with the room the tightest channel leaves.
open_name AS (
    SELECT resolved_name.name, resolved_name.path, min(free_slots.free) AS room
    FROM resolved_name
    JOIN pending_name ON pending_name.name = resolved_name.name
    CROSS JOIN LATERAL unnest(resolved_name.path) AS ancestor(id)
    JOIN free_slots ON free_slots.channel_id = ancestor.id
    GROUP BY resolved_name.name, resolved_name.path
    HAVING min(free_slots.free) > 0
),
-- 7. Each open name's best due jobs, no more than the batch: one probe of the claim
--    index per name. Jobs whose ETA is still ahead are never taken. (The limit is a
--    constant on purpose: a computed one leaves the planner guessing a tenth of the
--    table, which at a million rows buys seconds of JIT compilation. Step 8 holds each
--    channel to its room anyway.) When the transaction set job_worker.only_job_ids
--    (an array of ids: "run these jobs now"), only those jobs are taken.
candidate AS (
    SELECT job.id, job.priority, job.due, open_name.path
    FROM open_name
    CROSS JOIN LATERAL (
        SELECT queue_job.id, queue_job.priority, coalesce(eta, date_created) AS due
        FROM queue_job
        WHERE state = 'pending'
          AND channel = open_name.name
          AND coalesce(eta, date_created) <= (statement_timestamp() AT TIME ZONE 'UTC')
          AND (nullif(current_setting('job_worker.only_job_ids', true), '') IS NULL
               OR queue_job.id = ANY (
                   nullif(current_setting('job_worker.only_job_ids', true), '')::integer[]))
        ORDER BY priority, coalesce(eta, date_created), id
        LIMIT %(batch_size)s
        -- A row someone else holds (a form being saved, a bulk write) is skipped, not
        -- waited for: every claim in every process waits behind this one's root lock.
        FOR NO KEY UPDATE SKIP LOCKED
    ) AS job
),
-- 8. Admit in claim order: a job is admitted when, in every channel of its path, it
--    ranks within that channel's free slots. A job refused by one channel still holds
--    its rank in the others, so a batch may take fewer jobs than there is room for,
--    never more; the next claim takes the rest.
candidate_in_channel AS (
    SELECT candidate.id, candidate.priority, candidate.due, ancestor.id AS channel_id,
           row_number() OVER (
               PARTITION BY ancestor.id
               ORDER BY candidate.priority, candidate.due, candidate.id
           ) AS rank
    FROM candidate
    CROSS JOIN LATERAL unnest(candidate.path) AS ancestor(id)
),
ranked AS (
    SELECT ranked_in.id, ranked_in.priority, ranked_in.due,
           bool_and(ranked_in.rank <= free_slots.free) AS admitted
    FROM candidate_in_channel AS ranked_in
    JOIN free_slots ON free_slots.channel_id = ranked_in.channel_id
    GROUP BY ranked_in.id, ranked_in.priority, ranked_in.due
),
admitted AS (
    SELECT id FROM ranked
    WHERE admitted
    ORDER BY priority, due, id
    LIMIT %(batch_size)s
),
-- 9. Mark them started, owned by this connection's application_name, the attempt
--    counted. The state guard skips a row someone changed since step 7.
claimed AS (
    UPDATE queue_job AS job
    SET state = 'started',
        owner = current_setting('application_name'),
        retry = job.retry + 1,
        date_started = (statement_timestamp() AT TIME ZONE 'UTC'),
        heartbeat = (statement_timestamp() AT TIME ZONE 'UTC')
    FROM admitted
    WHERE job.id = admitted.id
      AND job.state = 'pending'
    RETURNING job.*
),
-- 10. Count the starts in every rate-limited channel of each claimed job's path.
counted_start AS (
    INSERT INTO queue_job_channel_start (channel_id, started_at)
    SELECT channel.id, (statement_timestamp() AT TIME ZONE 'UTC')
    FROM claimed
    JOIN resolved_name ON resolved_name.name = claimed.channel
    CROSS JOIN LATERAL unnest(resolved_name.path) AS ancestor(id)
    JOIN queue_job_channel AS channel ON channel.id = ancestor.id
    WHERE channel.rate_limit > 0
)
-- 11. Hand them over in claim order, with what running them needs.
SELECT claimed.id, claimed.uuid, claimed.model_name, claimed.method_name, claimed.records,
       claimed.args, claimed.kwargs, claimed.user_id, claimed.company_id, claimed.channel,
       claimed.retry, claimed.max_retries, claimed.owner,
       coalesce(nullif(claimed.timeout, 0), nullif(function.timeout, 0)) AS timeout,
       function.retry_pattern,
       -- how long it waited since it was due (greatest() skips a NULL eta), for events
       coalesce(extract(epoch FROM claimed.date_started
                                   - greatest(claimed.eta, claimed.date_created)), 0)::float8
           AS waited_s
FROM claimed
LEFT JOIN queue_job_function AS function ON function.id = claimed.job_function_id
ORDER BY claimed.priority, coalesce(claimed.eta, claimed.date_created), claimed.id
