-- The settings of a channel that differ from its specification; a NULL parameter keeps
-- the column as it is, so only what differs is written.
UPDATE queue_job_channel
SET capacity = coalesce(%(capacity)s, capacity),
    sequential = coalesce(%(sequential)s, sequential),
    rate_limit = coalesce(%(rate_limit)s, rate_limit),
    rate_period = coalesce(%(rate_period)s, rate_period),
    paused = coalesce(%(paused)s, paused),
    removal_interval = coalesce(%(removal_interval)s, removal_interval),
    write_uid = %(user_id)s,
    write_date = (now() AT TIME ZONE 'UTC')
WHERE id = %(id)s
