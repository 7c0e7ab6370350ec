-- The next moment a claim may find something that no notification will announce, and
-- the seconds until then from this statement's timestamp; NULLs if there is none:
--   * the next pending job that is not due yet becomes due;
--   * the oldest start in a rate-limited channel's window leaves it.
-- (Jobs becoming pending, slots freeing up and channel changes are notified.)
-- Both on the database's clock (naive UTC, as the columns are): the moment is a job's
-- ETA to the microsecond, whatever the clocks of the processes that read it.
WITH moment AS (
    SELECT (statement_timestamp() AT TIME ZONE 'UTC') AS now
),
wakeup AS (
    SELECT least(
        (
            SELECT min(coalesce(eta, date_created))
            FROM queue_job
            CROSS JOIN moment
            WHERE state = 'pending'
              AND coalesce(eta, date_created) > moment.now
        ),
        (
            SELECT min(start.started_at + make_interval(secs => coalesce(channel.rate_period, 1)))
            FROM queue_job_channel_start AS start
            JOIN queue_job_channel AS channel ON channel.id = start.channel_id
            CROSS JOIN moment
            WHERE channel.rate_limit > 0
              AND start.started_at > moment.now - make_interval(secs => coalesce(channel.rate_period, 1))
        )
    ) AS at
)
SELECT wakeup.at, extract(epoch FROM wakeup.at - moment.now)
FROM wakeup
CROSS JOIN moment
