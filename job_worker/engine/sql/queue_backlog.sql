-- How much work waits: pending jobs, those of them due now, and how long the oldest due
-- one has waited. Pending rows only, so the scan stays on the claim index's rows.
WITH clock AS (
    SELECT statement_timestamp() AT TIME ZONE 'UTC' AS now
)
SELECT count(job.id) AS pending,
       count(*) FILTER (WHERE coalesce(job.eta, job.date_created) <= clock.now) AS due,
       extract(epoch FROM clock.now - min(coalesce(job.eta, job.date_created))
           FILTER (WHERE coalesce(job.eta, job.date_created) <= clock.now)) AS oldest_due_age_s
  FROM clock
  LEFT JOIN queue_job AS job ON job.state = 'pending'
 GROUP BY clock.now
