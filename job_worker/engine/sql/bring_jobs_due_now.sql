-- "Run now" on selected jobs: those pending with an ETA still ahead become due now, on
-- the database's clock (naive UTC, as the column is), so that the claim that follows
-- may take them. The pending-on-runnable trigger notifies their channels. Jobs due
-- already, or not pending (running, finished, waiting for their parents), are left as
-- they are.
UPDATE queue_job
SET eta = (now() AT TIME ZONE 'UTC')
WHERE id = ANY(%(job_ids)s)
  AND state = 'pending'
  AND eta > (now() AT TIME ZONE 'UTC')
RETURNING id
