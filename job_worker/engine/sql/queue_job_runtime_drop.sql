-- Undo queue_job_runtime.sql: what the engine added to the tables Odoo owns, and what it
-- created beside them (the module's uninstall, before Odoo drops its own tables). Rows
-- stay (the root channel): they are Odoo's, and go with its tables. Every statement is
-- idempotent, and a table already gone is no error.

-- The functions, and with them (CASCADE) the triggers that call them.
DROP FUNCTION IF EXISTS queue_job_notify_runnable() CASCADE;
DROP FUNCTION IF EXISTS queue_job_channel_notify_changed() CASCADE;
DROP FUNCTION IF EXISTS queue_job_follow_dependencies() CASCADE;
DROP FUNCTION IF EXISTS queue_job_wait_for_parents() CASCADE;

-- The engine's own bookkeeping table (no Odoo model owns it).
DROP TABLE IF EXISTS queue_job_channel_start;

-- The indexes on Odoo's tables, so that the runtime schema leaves nothing behind even
-- where those tables stay.
DROP INDEX IF EXISTS queue_job_uuid_unique;
DROP INDEX IF EXISTS queue_job_claim_index;
DROP INDEX IF EXISTS queue_job_due_index;
DROP INDEX IF EXISTS queue_job_started_index;
DROP INDEX IF EXISTS queue_job_failed_index;
DROP INDEX IF EXISTS queue_job_finished_index;
DROP INDEX IF EXISTS queue_job_identity_key_unique;
DROP INDEX IF EXISTS queue_job_waiting_index;

-- The column defaults.
ALTER TABLE IF EXISTS queue_job
    ALTER COLUMN uuid DROP DEFAULT,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN priority DROP DEFAULT,
    ALTER COLUMN retry DROP DEFAULT,
    ALTER COLUMN max_retries DROP DEFAULT,
    ALTER COLUMN channel DROP DEFAULT,
    ALTER COLUMN date_created DROP DEFAULT;
