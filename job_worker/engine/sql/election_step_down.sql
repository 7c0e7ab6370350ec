-- A leader stopping gracefully leaves the election at once, while its connection is
-- still open to say so: it stops matching the candidate prefix, then wakes the other
-- candidates so the next in line takes over without waiting for its next check.
-- (The connection is in autocommit mode: the notification is sent at once.)
SELECT set_config('application_name', %(leaving_name)s, false);
SELECT pg_notify(%(channel)s, %(leaving_name)s);
