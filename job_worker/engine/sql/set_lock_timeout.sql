-- Set lock_timeout for the rest of the transaction (or up to the enclosing savepoint's
-- rollback); return the setting it replaces, to be set back the same way. The
-- materialized CTE reads the setting before the outer select changes it.
WITH previous AS MATERIALIZED (
    SELECT current_setting('lock_timeout') AS lock_timeout
)
SELECT previous.lock_timeout, set_config('lock_timeout', %(lock_timeout)s, true)
FROM previous
