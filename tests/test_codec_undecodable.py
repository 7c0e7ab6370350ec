"""Stored job data that cannot be decoded is refused with one error naming where it sits,
whatever broke (a timedelta out of range, a decimal that is not a number, a missing field,
text that is not JSON); its job then fails once, clearly, and is never tried again."""

import decimal
from dataclasses import dataclass

import pytest
from conftest import insert_job
from dispatcher_processes import dispatcher_transaction_factory

from job_worker.engine.claim import claim_due_jobs
from job_worker.engine.codec import UndecodableValueError, UnknownTypeTagError, dumps, loads
from job_worker.engine.connection import connect_engine
from job_worker.engine.execution import JobResult, execute_claimed_job
from job_worker.engine.recovery import recover_orphaned_jobs


@pytest.mark.parametrize(
    ("stored", "where", "what"),
    [
        (
            '{"when": {"_type": "timedelta", "value": [1000000000, 0, 0]}}',
            "args['when']",
            "'timedelta' value {'value': [1000000000, 0, 0]} cannot be rebuilt (OverflowError: ",
        ),
        (
            '[1, {"_type": "decimal", "value": "twelve"}]',
            "args[1]",
            "'decimal' value {'value': 'twelve'} cannot be rebuilt (InvalidOperation: ",
        ),
        (
            '[{"_type": "datetime_isoformat", "value": "yesterday"}]',
            "args[0]",
            "'datetime_isoformat' value {'value': 'yesterday'} cannot be rebuilt (ValueError: ",
        ),
        ('[{"_type": "uuid"}]', "args[0]", "'uuid' value {} cannot be rebuilt (KeyError: "),
        (
            '[{"_type": "dict", "items": [[[1], 2]]}]',
            "args[0]",
            "'dict' value {'items': [[[1], 2]]} cannot be rebuilt (TypeError: ",
        ),
        (
            '[{"_type": "tuple", "items": [0, {"_type": "decimal", "value": "x"}]}]',
            "args[0].items[1]",
            "'decimal' value {'value': 'x'} cannot be rebuilt (InvalidOperation: ",
        ),
    ],
    ids=[
        "huge timedelta",
        "not a decimal",
        "not a datetime",
        "missing field",
        "unhashable key",
        "nested",
    ],
)
def test_a_tagged_value_that_cannot_be_rebuilt_is_refused_naming_where_it_sits(stored, where, what):
    with pytest.raises(UndecodableValueError) as refused:
        loads(stored, path="args")

    assert refused.value.path == where
    assert str(refused.value).startswith(f"{where}: a stored {what}")


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("{not json", "args: not JSON (Expecting property name"),
        ("[" * 100_000 + "]" * 100_000, "args: nested too deeply"),
    ],
    ids=["not JSON", "nested too deeply"],
)
def test_text_that_is_not_decodable_json_is_refused_naming_the_field(stored, reason):
    with pytest.raises(UndecodableValueError) as refused:
        loads(stored, path="args")

    assert str(refused.value).startswith(reason)


def test_an_unknown_type_tag_is_refused_naming_where_it_sits():
    with pytest.raises(UnknownTypeTagError) as refused:
        loads('[1, {"_type": "no_such_type"}]', path="kwargs")

    assert refused.value.path == "kwargs[1]"
    assert isinstance(refused.value, UndecodableValueError)


def test_a_decoding_error_is_a_value_error_as_drivers_expect():
    assert issubclass(UndecodableValueError, ValueError)


@dataclass(frozen=True)
class Money:
    amount: decimal.Decimal


class MoneyExtension:
    type_tag = "test_money"

    def handles(self, value):
        return isinstance(value, Money)

    def encode(self, value):
        return {"amount": str(value.amount)}

    def decode(self, fields):
        if fields["amount"] == "refused":
            raise LookupError("no such amount")
        return Money(decimal.Decimal(fields["amount"]))


def test_an_extension_that_breaks_is_reported_naming_where_and_its_own_refusals_pass_as_they_are():
    broken = '[{"_type": "test_money", "amount": "lots"}]'
    refused = '[{"_type": "test_money", "amount": "refused"}]'

    with pytest.raises(UndecodableValueError) as raised:
        loads(broken, [MoneyExtension()], path="args")
    assert raised.value.path == "args[0]"
    assert "'test_money' value {'amount': 'lots'} cannot be rebuilt (InvalidOperation" in str(
        raised.value
    )
    with pytest.raises(LookupError, match="no such amount"):
        loads(refused, [MoneyExtension()], path="args")
    assert loads(dumps([Money(decimal.Decimal("1.5"))], [MoneyExtension()]), [MoneyExtension()])


# -- the job -----------------------------------------------------------------------------


def never_runs(job, cursor, *args):
    raise AssertionError("a job whose arguments cannot be decoded must not run")


@pytest.fixture
def processor(database, db):
    connection = connect_engine({"dbname": database}, "job_worker:test-processor")
    yield connection
    connection.close()


@pytest.mark.parametrize(
    "stored",
    [
        '[{"_type": "timedelta", "value": [1000000000, 0, 0]}]',
        '[{"_type": "decimal", "value": "twelve"}]',
    ],
    ids=["huge timedelta", "not a decimal"],
)
def test_a_job_whose_arguments_cannot_be_decoded_fails_once_naming_the_job_and_the_field(
    database, db, processor, stored
):
    with db.cursor() as cursor:
        job_id = insert_job(cursor, method_name="never_runs", args=stored, max_retries=5)
    open_transaction = dispatcher_transaction_factory(database, {"never_runs": never_runs})

    [job] = claim_due_jobs(processor, 10)
    outcome = execute_claimed_job(job, open_transaction)

    assert outcome.result is JobResult.FAILED
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT state, retry, exc_name, exc_message FROM queue_job WHERE id = %s", [job_id]
        )
        state, retry, exc_name, exc_message = cursor.fetchone()
    assert (state, retry, exc_name) == ("failed", 1, "job_worker.engine.errors.CorruptJobDataError")
    assert exc_message.startswith(
        f"the stored args of job {job_id} cannot be decoded: args[0]: a stored "
    )
    # Nothing takes it back or claims it again: no retry loop.
    assert recover_orphaned_jobs(processor, grace_s=0) == []
    assert claim_due_jobs(processor, 10) == []
