"""The codec gives back exactly what was stored: same values, same types, all the way down."""

import collections
import datetime
import decimal
import enum
import json
import threading
import uuid
from dataclasses import dataclass

import pytest

from job_worker.engine.codec import (
    UnknownTypeTagError,
    UnserializableValueError,
    dumps,
    loads,
)

UTC_PLUS_5_30 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
UTC_MINUS_3 = datetime.timezone(datetime.timedelta(hours=-3))


def assert_identical(decoded, original, where="value"):
    """``decoded`` equals ``original`` with the same type at every level, not merely ``==``.

    ``==`` alone would let ``(1, 2)`` pass for ``[1, 2]``, ``1`` for ``True`` or ``1.0``,
    and a datetime in another time zone for the same instant.
    """
    assert type(decoded) is type(original), f"{where}: {type(decoded)} is not {type(original)}"
    if isinstance(original, (list, tuple)):
        assert len(decoded) == len(original), where
        for index, (got, expected) in enumerate(zip(decoded, original, strict=True)):
            assert_identical(got, expected, f"{where}[{index}]")
    elif isinstance(original, dict):
        assert typed(decoded) == typed(original), f"{where}: keys differ"
        for key, expected in original.items():
            assert_identical(decoded[key], expected, f"{where}[{key!r}]")
    elif isinstance(original, (set, frozenset)):
        assert typed(decoded) == typed(original), where
    else:
        # repr tells apart what == does not: Decimal("1.10") and Decimal("1.1"),
        # 12:00+02:00 and 10:00+00:00, -0.0 and 0.0.
        assert repr(decoded) == repr(original), where


def typed(items):
    """The items with their types, so that ``{1}`` and ``{True}`` differ."""
    return {(type(item), item) for item in items}


def round_trip(value, **options):
    return loads(dumps(value, **options), **options)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**70,
        0.0,
        -0.0,
        1.0,
        3.14159,
        "",
        "plain",
        "accents é, quotes \" and ', emoji ✓",
        [True, 1, 1.0, "1", None],
        {"name": "Azure", "tags": ["a", "b"], "nested": {"deep": [1, {"x": None}]}},
        [],
        {},
    ],
    ids=repr,
)
def test_json_values_come_back_identical(value):
    assert_identical(round_trip(value), value)


@pytest.mark.parametrize(
    "value",
    [
        (1, "two", 3.0),
        (),
        ((1, 2), (3, (4,))),
        [(1, 2), [(3,), ("a", "b")]],
        {"pair": (1, 2), "list of pairs": [(3, 4)]},
    ],
    ids=repr,
)
def test_tuples_come_back_as_tuples_at_any_depth(value):
    assert_identical(round_trip(value), value)


@pytest.mark.parametrize(
    "value",
    [
        {1, 2, 3},
        set(),
        {"a", (1, 2)},
        {1, "mixed", None},
        frozenset({1, 2}),
        frozenset(),
        {frozenset({1}), frozenset({2, 3})},
        [{1}, frozenset({"x"})],
    ],
    ids=repr,
)
def test_sets_and_frozensets_come_back_as_such(value):
    assert_identical(round_trip(value), value)


def test_equal_sets_encode_to_equal_json():
    assert dumps({3, 1, 2}) == dumps({1, 2, 3}) == dumps({2, 3, 1})


@pytest.mark.parametrize(
    "value",
    [
        {1: "one", 2: "two"},
        {1: "int key", "1": "str key"},
        {(1, 2): "tuple key", None: "none key", 1.5: "float key"},
        {"outer": {7: [8, 9]}},
        [{1: {2: {3: "deep"}}}],
        {True: "bool key", "x": "str key"},
    ],
    ids=repr,
)
def test_dicts_with_keys_that_are_not_strings_keep_their_keys(value):
    assert_identical(round_trip(value), value)


@pytest.mark.parametrize(
    "value",
    [
        {"_type": "datetime_isoformat", "value": "2024-01-02T03:04:05"},
        {"_type": "no_such_type"},
        {"_type": None},
        {"outer": {"_type": "tuple", "items": [1, 2]}},
    ],
    ids=repr,
)
def test_a_dict_holding_a_type_key_comes_back_as_that_dict(value):
    assert_identical(round_trip(value), value)


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        datetime.datetime(2024, 1, 2, 3, 4, 5, 678901),
        datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        datetime.datetime(2024, 7, 1, 12, 0, tzinfo=UTC_PLUS_5_30),
        datetime.datetime(2024, 7, 1, 12, 0, 0, 5, tzinfo=UTC_MINUS_3),
        datetime.date(2024, 2, 29),
        datetime.time(3, 4, 5),
        datetime.time(23, 59, 59, 999999),
        datetime.time(12, 0, tzinfo=UTC_PLUS_5_30),
        datetime.timedelta(days=2, seconds=3, microseconds=4),
        datetime.timedelta(0),
        datetime.timedelta(seconds=-1),
        decimal.Decimal("1.10"),
        decimal.Decimal("-0.000001"),
        decimal.Decimal("12345678901234567890.123456789"),
        b"",
        b"\x00\xffbinary\n",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ],
    ids=repr,
)
def test_dates_times_decimals_bytes_and_uuids_come_back_identical(value):
    assert_identical(round_trip(value), value)


def test_an_aware_datetime_keeps_its_utc_offset():
    value = datetime.datetime(2024, 7, 1, 12, 0, tzinfo=UTC_PLUS_5_30)

    decoded = round_trip(value)

    assert decoded.utcoffset() == datetime.timedelta(hours=5, minutes=30)
    assert decoded.hour == 12


def test_a_date_is_not_confused_with_a_datetime():
    value = [datetime.date(2024, 1, 2), datetime.datetime(2024, 1, 2)]

    assert_identical(round_trip(value), value)


def test_special_values_nested_in_containers_come_back_identical():
    value = {
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC_MINUS_3),
        "amounts": [decimal.Decimal("9.99"), (decimal.Decimal("0.10"), b"raw")],
        "ids": {uuid.UUID(int=1), uuid.UUID(int=2)},
        5: {"delay": datetime.timedelta(minutes=5), "day": datetime.date(2024, 1, 2)},
    }

    assert_identical(round_trip(value), value)


def test_a_datetime_stored_by_oca_queue_job_decodes_to_a_datetime():
    stored = '{"_type": "datetime_isoformat", "value": "2024-01-02T03:04:05"}'

    assert_identical(loads(stored), datetime.datetime(2024, 1, 2, 3, 4, 5))


def test_a_date_stored_by_oca_queue_job_decodes_to_a_date():
    stored = '{"_type": "date_isoformat", "value": "2024-01-02"}'

    assert_identical(loads(stored), datetime.date(2024, 1, 2))


def test_oca_queue_job_arguments_decode_with_their_dates():
    stored = (
        '[1, "a", {"since": {"_type": "date_isoformat", "value": "2024-01-02"}, '
        '"at": {"_type": "datetime_isoformat", "value": "2024-01-02T03:04:05.000006"}}]'
    )

    assert_identical(
        loads(stored),
        [
            1,
            "a",
            {
                "since": datetime.date(2024, 1, 2),
                "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
            },
        ],
    )


def test_dates_are_stored_in_the_shape_oca_queue_job_reads():
    stored = json.loads(dumps([datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2024, 1, 2)]))

    assert stored == [
        {"_type": "datetime_isoformat", "value": "2024-01-02T03:04:05"},
        {"_type": "date_isoformat", "value": "2024-01-02"},
    ]


@pytest.mark.parametrize(
    ("value", "path", "type_name"),
    [
        (threading.Lock(), "value", "_thread.lock"),
        (object(), "value", "builtins.object"),
        (lambda: None, "value", "builtins.function"),
        ([1, {"when": threading.Lock()}], "value[1]['when']", "_thread.lock"),
        ({"a": [0, 1, object()]}, "value['a'][2]", "builtins.object"),
        ((1, (2, lambda: None)), "value[1][1]", "builtins.function"),
        ({7: object()}, "value[7]", "builtins.object"),
        ([{"_type": "x", "payload": object()}], "value[0]['payload']", "builtins.object"),
    ],
    ids=[
        "lock",
        "object",
        "lambda",
        "lock in dict in list",
        "in list in dict",
        "in tuple",
        "under int key",
        "in dict with type key",
    ],
)
def test_a_value_that_cannot_be_stored_is_refused_naming_where_it_sits_and_its_type(
    value, path, type_name
):
    with pytest.raises(UnserializableValueError) as raised:
        dumps(value)

    assert raised.value.path == path
    assert str(raised.value).startswith(f"{path} cannot be stored in a job")
    assert type_name in str(raised.value)


def test_an_unserializable_value_error_is_a_type_error():
    with pytest.raises(TypeError):
        dumps([object()])


def test_the_path_in_errors_starts_with_the_name_the_caller_gives():
    with pytest.raises(UnserializableValueError) as raised:
        dumps((1, {"callback": print}), path="args")

    assert raised.value.path == "args[1]['callback']"
    assert "builtin_function_or_method" in str(raised.value)


def test_an_unserializable_dict_key_is_refused_naming_the_key():
    key = object()

    with pytest.raises(UnserializableValueError) as raised:
        dumps({key: 1})

    assert raised.value.path == f"value key {key!r}"


def test_stored_data_with_an_unknown_type_tag_is_refused_naming_the_tag():
    with pytest.raises(UnknownTypeTagError, match="'no_such_type'"):
        loads('[1, {"_type": "no_such_type", "value": 2}]')


def test_a_recordset_stored_by_oca_queue_job_needs_the_odoo_extension():
    stored = '{"_type": "odoo_recordset", "model": "res.partner", "ids": [1], "uid": 2}'

    with pytest.raises(UnknownTypeTagError, match="'odoo_recordset'"):
        loads(stored)


@dataclass(frozen=True)
class Money:
    """A value the codec knows nothing about by itself."""

    amount: decimal.Decimal
    currency: str


class MoneyExtension:
    """A :class:`~job_worker.engine.codec.CodecExtension` for :class:`Money`."""

    type_tag = "test_money"

    def handles(self, value):
        return isinstance(value, Money)

    def encode(self, value):
        return {"amount": str(value.amount), "currency": value.currency}

    def decode(self, fields):
        return Money(decimal.Decimal(fields["amount"]), fields["currency"])


def test_an_extension_encodes_and_decodes_the_values_it_handles():
    value = [
        Money(decimal.Decimal("9.90"), "EUR"),
        {"total": (Money(decimal.Decimal("1"), "USD"),)},
    ]

    text = dumps(value, extensions=[MoneyExtension()])

    assert json.loads(text)[0] == {"_type": "test_money", "amount": "9.90", "currency": "EUR"}
    assert_identical(loads(text, extensions=[MoneyExtension()]), value)


def test_without_its_extension_a_value_is_refused_and_its_tag_unknown():
    value = Money(decimal.Decimal("9.90"), "EUR")
    text = dumps([value], extensions=[MoneyExtension()])

    with pytest.raises(UnserializableValueError) as raised:
        dumps([value])
    assert raised.value.path == "value[0]"
    assert "Money" in str(raised.value)

    with pytest.raises(UnknownTypeTagError, match="'test_money'"):
        loads(text)


class Colour(enum.IntEnum):
    RED = 1


class Flavour(str, enum.Enum):
    VANILLA = "vanilla"


@pytest.mark.parametrize("value", [Colour.RED, Flavour.VANILLA], ids=["IntEnum", "str Enum"])
def test_a_subclass_of_a_json_scalar_is_refused_rather_than_stored_as_its_base(value):
    with pytest.raises(UnserializableValueError, match=type(value).__qualname__):
        dumps({"choice": value})


def test_dict_and_list_subclasses_are_stored_as_plain_dicts_and_lists():
    value = collections.OrderedDict(b=collections.UserList([1]).data, a=[2])

    decoded = round_trip(value)

    assert type(decoded) is dict
    assert decoded == {"b": [1], "a": [2]}
    assert list(decoded) == ["b", "a"], "key order is kept"


def test_fields_an_extension_returns_are_encoded_in_turn():
    class PreciseMoneyExtension(MoneyExtension):
        def encode(self, value):
            return {"amount": value.amount, "currency": value.currency}

        def decode(self, fields):
            assert fields["_type"] == "test_money"
            return Money(fields["amount"], fields["currency"])

    value = Money(decimal.Decimal("0.10"), "EUR")

    assert_identical(round_trip(value, extensions=[PreciseMoneyExtension()]).amount, value.amount)
