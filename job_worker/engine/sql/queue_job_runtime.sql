-- What the queue needs beyond the columns, applied on top of the table both by the Odoo
-- model's init() (on install and every upgrade) and by the engine's schema installer.
-- Every statement is idempotent.

-- Defaults, so that a job inserted by plain SQL (a migration, another service) is valid.
ALTER TABLE queue_job
    ALTER COLUMN uuid SET DEFAULT gen_random_uuid()::varchar,
    ALTER COLUMN state SET DEFAULT 'pending',
    ALTER COLUMN priority SET DEFAULT 10,
    ALTER COLUMN retry SET DEFAULT 0,
    ALTER COLUMN max_retries SET DEFAULT 5,
    ALTER COLUMN channel SET DEFAULT 'root',
    ALTER COLUMN date_created SET DEFAULT (now() AT TIME ZONE 'UTC');

CREATE UNIQUE INDEX IF NOT EXISTS queue_job_uuid_unique ON queue_job (uuid);

-- The claim index: only runnable rows, by channel then claim order (priority, then the
-- moment the job became due, then creation). Each channel's best jobs are one index
-- probe away, and finished rows never enter it, so it stays as small as the backlog.
CREATE INDEX IF NOT EXISTS queue_job_claim_index
    ON queue_job (channel, priority, (coalesce(eta, date_created)), id)
    WHERE state = 'pending';

-- When the next pending job becomes due (the runner's timer).
CREATE INDEX IF NOT EXISTS queue_job_due_index
    ON queue_job ((coalesce(eta, date_created)))
    WHERE state = 'pending';

-- Started jobs: counted against channel capacities, checked by recovery. Few rows.
CREATE INDEX IF NOT EXISTS queue_job_started_index
    ON queue_job (channel, owner)
    WHERE state = 'started';

-- Failed jobs hold their sequential channel until they are requeued or cancelled.
CREATE INDEX IF NOT EXISTS queue_job_failed_index
    ON queue_job (channel)
    WHERE state = 'failed';

-- Pruning finished jobs by age.
CREATE INDEX IF NOT EXISTS queue_job_finished_index
    ON queue_job ((coalesce(date_done, date_cancelled)))
    WHERE state IN ('done', 'cancelled');

-- The root channel always exists: every claim locks it (see lock_claims.sql).
INSERT INTO queue_job_channel (name, complete_name, capacity, removal_interval)
SELECT 'root', 'root', 1, 30
WHERE NOT EXISTS (SELECT 1 FROM queue_job_channel WHERE parent_id IS NULL AND name = 'root');

-- Starts of jobs in rate-limited channels, for the sliding-window count. Engine-only
-- bookkeeping (no Odoo model); pruned by housekeeping.
CREATE TABLE IF NOT EXISTS queue_job_channel_start (
    channel_id  integer NOT NULL REFERENCES queue_job_channel (id) ON DELETE CASCADE,
    started_at  timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_job_channel_start_index
    ON queue_job_channel_start (channel_id, started_at);

-- Wake the runners from the database itself, so a job inserted or made runnable by any
-- means (ORM, SQL, another service) is seen at once, and so is room that opens up: a job
-- leaving `started` frees a slot of its channel, a failed one leaving `failed` frees its
-- sequential channel, a channel changed may have more room. The payload is the job's
-- channel; PostgreSQL folds identical notifications of one transaction into one, so
-- enqueuing 10,000 jobs in one transaction sends one notification per channel.
CREATE OR REPLACE FUNCTION queue_job_notify_runnable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('job_worker', OLD.channel);
    ELSE
        PERFORM pg_notify('job_worker', NEW.channel);
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS queue_job_notify_on_insert ON queue_job;
CREATE TRIGGER queue_job_notify_on_insert
    AFTER INSERT ON queue_job
    FOR EACH ROW WHEN (NEW.state = 'pending')
    EXECUTE FUNCTION queue_job_notify_runnable();

DROP TRIGGER IF EXISTS queue_job_notify_on_room ON queue_job;
CREATE TRIGGER queue_job_notify_on_room
    AFTER UPDATE OF state ON queue_job
    FOR EACH ROW WHEN (
        OLD.state IN ('started', 'failed') AND NEW.state IS DISTINCT FROM OLD.state
        AND NEW.state <> 'pending'  -- becoming pending is notified below
    )
    EXECUTE FUNCTION queue_job_notify_runnable();

DROP TRIGGER IF EXISTS queue_job_notify_on_delete ON queue_job;
CREATE TRIGGER queue_job_notify_on_delete
    AFTER DELETE ON queue_job
    FOR EACH ROW WHEN (OLD.state IN ('started', 'failed'))
    EXECUTE FUNCTION queue_job_notify_runnable();

CREATE OR REPLACE FUNCTION queue_job_channel_notify_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('job_worker', 'channels');
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS queue_job_channel_notify_on_change ON queue_job_channel;
CREATE TRIGGER queue_job_channel_notify_on_change
    AFTER INSERT OR UPDATE OR DELETE ON queue_job_channel
    FOR EACH STATEMENT
    EXECUTE FUNCTION queue_job_channel_notify_changed();

DROP TRIGGER IF EXISTS queue_job_notify_on_runnable ON queue_job;
CREATE TRIGGER queue_job_notify_on_runnable
    AFTER UPDATE OF state, eta ON queue_job
    FOR EACH ROW WHEN (
        NEW.state = 'pending'
        AND (OLD.state IS DISTINCT FROM NEW.state OR OLD.eta IS DISTINCT FROM NEW.eta)
    )
    EXECUTE FUNCTION queue_job_notify_runnable();

-- Identity keys: at most one job per key among the jobs still waiting to run (waiting
-- for dependencies, pending, enqueued), enforced by the database, so that two
-- transactions enqueuing the same key at once cannot both succeed. A started job no
-- longer counts: what is enqueued while it runs is new work (OCA queue_job's meaning).
CREATE UNIQUE INDEX IF NOT EXISTS queue_job_identity_key_unique
    ON queue_job (identity_key)
    WHERE identity_key IS NOT NULL
      AND state IN ('wait_dependencies', 'pending', 'enqueued');

-- Jobs waiting for dependencies, for the graph trigger below and the views.
CREATE INDEX IF NOT EXISTS queue_job_waiting_index
    ON queue_job (id)
    WHERE state = 'wait_dependencies';

-- Dependency graphs follow their jobs' states, whatever writes them (the engine, the
-- Set to done and Cancel buttons, plain SQL). The jobs of a graph share a graph_uuid
-- (delayable() sets it; a job inserted in SQL with dependents must have one too), so
-- that settling a job outside any graph costs no trigger call:
-- - a job done: each dependent waiting for it becomes pending once all its parents are
--   done. Two parents of one job may finish at the same moment, each in a transaction
--   that cannot see the other done. So each dependent is locked first, then written
--   whether it changes or not: under READ COMMITTED the later transaction waits for the
--   lock, and its next statement (a new snapshot) sees both parents done; under
--   REPEATABLE READ (Odoo's jobs) it fails with a serialization error, and the engine
--   runs its job again in a fresh transaction, which sees both;
-- - a job cancelled: its waiting dependents are cancelled, and theirs in turn;
-- - a job failed: its dependents keep waiting; they run if it is requeued and done, or
--   are cancelled with it.
CREATE OR REPLACE FUNCTION queue_job_follow_dependencies() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    dependent_id integer;
BEGIN
    IF NEW.state = 'done' THEN
        FOR dependent_id IN
            SELECT child.id
              FROM queue_job_dependency_rel AS rel
              JOIN queue_job AS child ON child.id = rel.job_id
             WHERE rel.parent_id = NEW.id
               AND child.state = 'wait_dependencies'
             ORDER BY child.id
               FOR NO KEY UPDATE OF child
        LOOP
            UPDATE queue_job AS child
               SET state = CASE
                       WHEN EXISTS (
                           SELECT 1
                             FROM queue_job_dependency_rel AS other
                             JOIN queue_job AS parent ON parent.id = other.parent_id
                            WHERE other.job_id = child.id AND parent.state <> 'done'
                       ) THEN 'wait_dependencies'
                       ELSE 'pending'
                   END
             WHERE child.id = dependent_id
               AND child.state = 'wait_dependencies';
        END LOOP;
    ELSE
        -- The parent's cancellation time and OCA's words, so the cascade reads as one.
        UPDATE queue_job AS child
           SET state = 'cancelled',
               date_cancelled = coalesce(NEW.date_cancelled, now() AT TIME ZONE 'UTC'),
               result = 'Cancelled because a job it depends on was cancelled'
          FROM queue_job_dependency_rel AS rel
         WHERE rel.parent_id = NEW.id
           AND child.id = rel.job_id
           AND child.state = 'wait_dependencies';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS queue_job_follow_dependencies ON queue_job;
CREATE TRIGGER queue_job_follow_dependencies
    AFTER UPDATE OF state ON queue_job
    FOR EACH ROW
    WHEN (
        NEW.graph_uuid IS NOT NULL  -- only jobs of a graph have dependents: no call for others
        AND NEW.state IN ('done', 'cancelled')
        AND OLD.state IS DISTINCT FROM NEW.state
    )
    EXECUTE FUNCTION queue_job_follow_dependencies();

-- A job of a graph may become pending only once all its parents are done, whatever
-- writes its state (Requeue on a failed parent and its waiting child, the ORM, plain
-- SQL): otherwise the child would be claimable and run before, or without, its parents.
-- Such a write leaves it waiting instead; the trigger above releases it when its last
-- parent is done. Jobs outside any graph have no parents and cost no call.
CREATE OR REPLACE FUNCTION queue_job_wait_for_parents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1
          FROM queue_job_dependency_rel AS rel
          JOIN queue_job AS parent ON parent.id = rel.parent_id
         WHERE rel.job_id = NEW.id AND parent.state <> 'done'
    ) THEN
        NEW.state := 'wait_dependencies';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS queue_job_wait_for_parents ON queue_job;
CREATE TRIGGER queue_job_wait_for_parents
    BEFORE UPDATE OF state ON queue_job
    FOR EACH ROW
    WHEN (
        NEW.graph_uuid IS NOT NULL
        AND NEW.state = 'pending'
        AND OLD.state IS DISTINCT FROM NEW.state
    )
    EXECUTE FUNCTION queue_job_wait_for_parents();
