-- The queue_job table and the dependency relation, column for column as the Odoo model
-- `queue.job` creates them (foreign keys aside: Odoo adds those to res_users,
-- res_company and queue_job_function). Odoo creates these tables from the model's fields;
-- this file creates them where there is no Odoo: the engine's own tests and benchmarks.
-- The Odoo test `test_schema_matches_engine` compares both column by column, so the two
-- cannot drift apart unnoticed.
CREATE TABLE IF NOT EXISTS queue_job (
    id               serial PRIMARY KEY,
    uuid             varchar NOT NULL,
    graph_uuid       varchar,
    user_id          integer,
    company_id       integer,
    name             varchar,
    model_name       varchar NOT NULL,
    method_name      varchar NOT NULL,
    records          text,
    args             text,
    kwargs           text,
    func_string      varchar,
    state            varchar NOT NULL,
    priority         integer NOT NULL,
    eta              timestamp,
    retry            integer NOT NULL,
    max_retries      integer NOT NULL,
    channel          varchar NOT NULL,
    job_function_id  integer,
    identity_key     varchar,
    date_created     timestamp NOT NULL,
    date_enqueued    timestamp,
    date_started     timestamp,
    date_done        timestamp,
    date_cancelled   timestamp,
    exec_time        double precision,
    exc_name         varchar,
    exc_message      text,
    exc_info         text,
    result           text,
    owner            varchar,
    heartbeat        timestamp,
    timeout          integer
);

-- Parents a job waits for (`dependency_ids` on the model): the job runs once all are done.
CREATE TABLE IF NOT EXISTS queue_job_dependency_rel (
    job_id     integer NOT NULL REFERENCES queue_job (id) ON DELETE CASCADE,
    parent_id  integer NOT NULL REFERENCES queue_job (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, parent_id)
);
CREATE INDEX IF NOT EXISTS queue_job_dependency_rel_parent_id_job_id_idx
    ON queue_job_dependency_rel (parent_id, job_id);

-- Channels (`queue.job.channel`): a tree under `root`, named by complete_name
-- ('root.sale.eu'). A job's `channel` runs in the configured channel of that name, or
-- else in its nearest configured ancestor.
CREATE TABLE IF NOT EXISTS queue_job_channel (
    id                serial PRIMARY KEY,
    name              varchar NOT NULL,
    complete_name     varchar,
    parent_id         integer REFERENCES queue_job_channel (id) ON DELETE CASCADE,
    capacity          integer,
    sequential        boolean,
    rate_limit        integer,
    rate_period       integer,
    paused            boolean,
    removal_interval  integer NOT NULL,
    create_uid        integer,
    create_date       timestamp,
    write_uid         integer,
    write_date        timestamp
);
-- The model's unique complete name (Odoo names it after `_complete_name_unique`): two
-- processes creating the same channel at once cannot both succeed.
CREATE UNIQUE INDEX IF NOT EXISTS queue_job_channel_complete_name_unique
    ON queue_job_channel (complete_name);

-- Job functions (`queue.job.function`): defaults per `model.method`.
CREATE TABLE IF NOT EXISTS queue_job_function (
    id             serial PRIMARY KEY,
    name           varchar,
    model_id       integer NOT NULL,
    method         varchar NOT NULL,
    channel        varchar NOT NULL,
    allow_commit   boolean,
    retry_pattern  text,
    related_action text,
    timeout        integer,
    create_uid     integer,
    create_date    timestamp,
    write_uid      integer,
    write_date     timestamp
);
