-- The candidates of this database, smallest name (the leader) first, and the election
-- connections still joining (connected, not yet renamed: they may have started earlier
-- than a candidate that already took its name).
--
-- Filtered on datname: candidates of other databases hold their own elections on the
-- same server. Prefixes are compared with starts_with(), not LIKE, so the "_" of
-- "job_worker" is a plain character and not a wildcard: a connection named
-- "jobXworker:candidate:..." is not a candidate.
--
-- is_self: whether the row is this very connection under the name it took: false on
--          every row when a pooler rewrote the name, or serves this session from another
--          server connection, and then the election cannot be trusted.
SELECT application_name,
       pid = pg_backend_pid() AND application_name = current_setting('application_name')
           AS is_self,
       starts_with(application_name, %(joining_prefix)s) AS joining
  FROM pg_stat_activity
 WHERE datname = current_database()
   AND (starts_with(application_name, %(prefix)s)
        OR starts_with(application_name, %(joining_prefix)s))
 ORDER BY application_name COLLATE "C"
