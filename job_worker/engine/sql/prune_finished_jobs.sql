-- Delete up to batch_size done or cancelled jobs older than their channel's removal
-- interval (days), oldest first; return how many. Small batches keep each transaction
-- short and let autovacuum keep up.
WITH RECURSIVE channel_tree AS (
    SELECT id, complete_name, removal_interval
    FROM queue_job_channel
    WHERE parent_id IS NULL
    UNION ALL
    SELECT child.id, child.complete_name, child.removal_interval
    FROM queue_job_channel AS child
    JOIN channel_tree AS tree ON child.parent_id = tree.id
),
expired AS (
    SELECT job.id
    FROM queue_job AS job
    CROSS JOIN LATERAL (
        SELECT tree.removal_interval
        FROM channel_tree AS tree
        WHERE job.channel = tree.complete_name
           OR starts_with(job.channel, tree.complete_name || '.')
           OR tree.complete_name = 'root'
        ORDER BY job.channel = tree.complete_name DESC, length(tree.complete_name) DESC
        LIMIT 1
    ) AS channel
    WHERE job.state IN ('done', 'cancelled')
      AND coalesce(job.date_done, job.date_cancelled)
          < (now() AT TIME ZONE 'UTC') - make_interval(days => channel.removal_interval)
    ORDER BY coalesce(job.date_done, job.date_cancelled)
    LIMIT %(batch_size)s
    FOR UPDATE OF job SKIP LOCKED
)
DELETE FROM queue_job
USING expired
WHERE queue_job.id = expired.id
