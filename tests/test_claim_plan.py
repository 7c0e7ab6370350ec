"""The claim stays an index walk on a large table: checked with EXPLAIN, not a stopwatch."""

import json

import pytest
from conftest import add_channel, connect, set_root_channel

from job_worker.engine import claim
from job_worker.engine.sql import load_query

PENDING_ROWS = 1_000_000


@pytest.fixture(scope="module")
def million_pending_jobs(database):
    """A connection to the test database holding 1,000,000 pending jobs over three
    channels and 20 priorities, analysed; built once for this module."""
    db = connect(database)
    db.autocommit = True
    with db.cursor() as cursor:
        cursor.execute("TRUNCATE queue_job, queue_job_dependency_rel, queue_job_channel_start")
        cursor.execute("DELETE FROM queue_job_channel WHERE parent_id IS NOT NULL")
        set_root_channel(cursor, capacity=8)
        add_channel(cursor, "root.sale", capacity=2)
        add_channel(cursor, "root.edi", sequential=True)
        cursor.execute(
            """
            INSERT INTO queue_job (model_name, method_name, channel, priority, date_created)
            SELECT 'test.model', 'run',
                   (ARRAY['root', 'root.sale', 'root.edi'])[1 + n %% 3],
                   n %% 20,
                   (now() AT TIME ZONE 'UTC') - make_interval(secs => n %% 100000)
            FROM generate_series(1, %(rows)s) AS n
            """,
            {"rows": PENDING_ROWS},
        )
        cursor.execute("ANALYZE queue_job")
    yield db
    with db.cursor() as cursor:
        cursor.execute("TRUNCATE queue_job, queue_job_dependency_rel")
        cursor.execute("DELETE FROM queue_job_channel WHERE parent_id IS NOT NULL")
    db.close()


def plan_of_claim(db, batch_size):
    """The plan the engine runs: the prepared claim statement's generic plan."""
    with db.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
        name = claim.prepare_claim_statement(cursor, batch_size)
        cursor.execute("BEGIN")
        cursor.execute("SET LOCAL plan_cache_mode TO force_generic_plan")
        cursor.execute(load_query("lock_claims"))
        cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE {name}")
        (plan,) = cursor.fetchone()
        cursor.execute("ROLLBACK")
    return json.dumps(plan)


def nodes(plan_text, **conditions):
    """Plan nodes whose fields have the given values."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if all(node.get(key) == value for key, value in conditions.items()):
                found.append(node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(json.loads(plan_text))
    return found


@pytest.mark.parametrize("batch_size", [1, 10, 100])
def test_the_claim_reads_a_million_pending_jobs_through_the_claim_index(
    million_pending_jobs, batch_size
):
    plan = plan_of_claim(million_pending_jobs, batch_size)

    assert nodes(plan, **{"Index Name": "queue_job_claim_index"}), plan
    assert not nodes(plan, **{"Node Type": "Seq Scan", "Relation Name": "queue_job"}), plan


def test_the_claims_cost_estimate_stays_below_the_jit_threshold(million_pending_jobs):
    """A claim estimated above jit_above_cost would spend up to seconds compiling itself
    on a server that keeps JIT on (PostgreSQL's default)."""
    plan = json.loads(plan_of_claim(million_pending_jobs, 10))
    with million_pending_jobs.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit_above_cost')::float")
        (jit_above_cost,) = cursor.fetchone()

    assert plan[0]["Plan"]["Total Cost"] < jit_above_cost


def test_recovery_reads_started_jobs_through_the_started_index(million_pending_jobs):
    """Recovery runs every few seconds in every leader: it must read only the few started
    jobs (through their partial index), never the million pending ones."""
    with million_pending_jobs.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (FORMAT JSON) " + load_query("recover_orphaned_jobs"),
            {"grace_s": 2.0, "in_flight": [1, 2, 3]},
        )
        (plan,) = cursor.fetchone()
    plan_text = json.dumps(plan)

    assert nodes(plan_text, **{"Index Name": "queue_job_started_index"}), plan_text
    assert not nodes(plan_text, **{"Node Type": "Seq Scan", "Relation Name": "queue_job"}), (
        plan_text
    )
