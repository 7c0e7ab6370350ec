-- How many request processors of this database started before this connection, among
-- the connections named with %(prefix)s (each holds its name for as long as it
-- processes). A processor counts itself out, then compares the count with the limit:
-- of two that start at once, both see each other, and only the older one (earlier
-- backend_start, then lower pid) may go on. Never more than the limit at once, at worst
-- one turned away that could have run.
--
-- Filtered on datname (each database has its own limit) and on the role of this very
-- connection: a connection of another PostgreSQL role that takes such a name cannot
-- turn requests away. Prefixes are compared with starts_with(), not LIKE ("_" is a
-- plain character).
SELECT count(*)
  FROM pg_stat_activity AS other,
       (SELECT backend_start, pid FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS self
 WHERE other.datname = current_database()
   AND other.usename = current_user
   AND starts_with(other.application_name, %(prefix)s)
   AND other.pid != self.pid
   AND (other.backend_start, other.pid) < (self.backend_start, self.pid)
