-- The election connections of this database: the candidates, smallest name (the leader)
-- first, and the connections still joining (connected, not yet renamed: they may have
-- started earlier than a candidate that already took its name). Each row also carries
-- the connection's pid and backend_start, so the caller can check that a candidate name
-- tells the truth about the connection that carries it.
--
-- 1. This connection's own row: its role and its start (always visible to itself).
-- 2. Only connections that logged in as the same role take part. PostgreSQL lets any
--    role connect to a database (unless CONNECT is revoked from PUBLIC) and name its
--    connection as it likes, so a name alone proves nothing; usesysid, the role a
--    connection logged in as, is shown for every row to every role, cannot be changed
--    by the connection (SET ROLE leaves it), and only those who can log in as the
--    runner's role can have it. (Other roles' rows also hide backend_start, so their
--    names could not be checked anyway.)
-- 3. Filtered on datname: candidates of other databases hold their own elections on the
--    same server. Prefixes are compared with starts_with(), not LIKE, so the "_" of
--    "job_worker" is a plain character and not a wildcard: a connection named
--    "jobXworker:candidate:..." is not a candidate.
-- 4. A joining connection matters only if it connected before this one: one that
--    connected later takes a later name and can never come first, however long it
--    stays (or keeps renaming itself) "joining".
--
-- is_self: whether the row is this very connection under the name it took: false on
--          every row when a pooler rewrote the name, or serves this session from another
--          server connection, and then the election cannot be trusted.
WITH own AS (
    SELECT usesysid, backend_start
      FROM pg_stat_activity
     WHERE pid = pg_backend_pid()
)
SELECT activity.application_name,
       activity.pid,
       activity.backend_start,
       activity.pid = pg_backend_pid()
           AND activity.application_name = current_setting('application_name') AS is_self,
       starts_with(activity.application_name, %(joining_prefix)s) AS joining
  FROM pg_stat_activity AS activity
  JOIN own ON activity.usesysid = own.usesysid
 WHERE activity.datname = current_database()
   AND (starts_with(activity.application_name, %(prefix)s)
        OR (starts_with(activity.application_name, %(joining_prefix)s)
            AND activity.backend_start <= own.backend_start))
 ORDER BY activity.application_name COLLATE "C"
