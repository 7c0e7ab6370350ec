-- Who this connection is, on the database's clock: the two things its candidate name is
-- made of. Its own row of pg_stat_activity is always fully visible to it, whatever role
-- it connects as (other roles' rows hide backend_start, hence the name carries it).
--
-- started: backend_start in UTC as a fixed-width string, so that names compare as
--          their start times do (microseconds; the pids break any tie).
-- backend_pid: the server process, unique among the connections alive at once.
SELECT to_char(backend_start AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS.US') AS started,
       pid AS backend_pid
  FROM pg_stat_activity
 WHERE pid = pg_backend_pid()
