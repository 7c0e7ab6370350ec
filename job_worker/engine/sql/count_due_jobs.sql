-- Pending jobs whose due moment has come, counted up to a bound: a processor only needs
-- to know whether (and roughly how much) work remains, and counting a backlog of
-- millions after every batch would cost more than the batch. Same "due" as the claim:
-- coalesce(eta, date_created) reached, on the statement's clock, in UTC.
SELECT count(*)
  FROM (
      SELECT 1
        FROM queue_job
       WHERE state = 'pending'
         AND coalesce(eta, date_created) <= (statement_timestamp() AT TIME ZONE 'UTC')
       LIMIT %(at_most)s
  ) AS due_job
