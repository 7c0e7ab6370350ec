-- When the next pending job that is not due yet becomes due (naive UTC), or NULL.
SELECT min(coalesce(eta, date_created))
FROM queue_job
WHERE state = 'pending'
  AND coalesce(eta, date_created) > (now() AT TIME ZONE 'UTC')
