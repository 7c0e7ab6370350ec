-- A channel a specification names, or one of its missing ancestors, under its parent
-- (NULL for root). Another transaction creating the same complete name at once makes
-- this insert wait for it, then fail on the unique index: that one stands.
INSERT INTO queue_job_channel (
    name, complete_name, parent_id,
    capacity, sequential, rate_limit, rate_period, paused, removal_interval,
    create_uid, create_date, write_uid, write_date
)
VALUES (
    %(name)s, %(complete_name)s, %(parent_id)s,
    %(capacity)s, %(sequential)s, %(rate_limit)s, %(rate_period)s, %(paused)s,
    %(removal_interval)s,
    %(user_id)s, (now() AT TIME ZONE 'UTC'), %(user_id)s, (now() AT TIME ZONE 'UTC')
)
RETURNING id
