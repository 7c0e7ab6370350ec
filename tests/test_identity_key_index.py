"""Identity keys: the unique index holds a key in exactly the engine's identity-key states."""

import re

import psycopg2.errors
import pytest
from conftest import insert_job

from job_worker.engine.states import IDENTITY_KEY_STATES, JobState


def test_the_identity_key_index_predicate_names_exactly_the_engine_s_states(db):
    with db.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_get_expr(index.indpred, index.indrelid)
            FROM pg_index AS index
            WHERE index.indexrelid = 'queue_job_identity_key_unique'::regclass
              AND index.indisunique
            """
        )
        (predicate,) = cursor.fetchone()

    assert "identity_key IS NOT NULL" in predicate
    assert sorted(re.findall(r"'([a-z_]+)'::", predicate)) == sorted(IDENTITY_KEY_STATES)


@pytest.mark.parametrize("state", [state.value for state in JobState])
def test_a_second_job_with_the_same_key_is_refused_only_in_an_identity_key_state(db, state):
    with db.cursor() as cursor:
        insert_job(cursor, identity_key="same key", state=state)
        try:
            insert_job(cursor, identity_key="same key", state=state)
            refused = False
        except psycopg2.errors.UniqueViolation:
            refused = True

    assert refused is (state in IDENTITY_KEY_STATES)
