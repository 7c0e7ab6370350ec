-- Forget job starts older than their channel's rate window: they no longer count.
DELETE FROM queue_job_channel_start AS start
USING queue_job_channel AS channel
WHERE start.channel_id = channel.id
  AND start.started_at < (now() AT TIME ZONE 'UTC')
      - make_interval(secs => coalesce(channel.rate_period, 1))
