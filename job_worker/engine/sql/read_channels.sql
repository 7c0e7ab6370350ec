-- The channels a specification names (and their ancestors), by complete name, with the
-- settings it may change. No lock: a row that another transaction changes meanwhile
-- makes the write that follows wait for it, then fail or see it (see channel_store.py).
SELECT id, complete_name, capacity, sequential, rate_limit, rate_period, paused, removal_interval
FROM queue_job_channel
WHERE complete_name = ANY(%(names)s)
