"""JSON encoding of job arguments that gives back exactly what was stored. No pickle.

JSON alone would turn tuples into lists, dates into strings and integer keys into
strings. Such values are stored as tagged objects, ``{"_type": <tag>, ...}``, and
rebuilt on the way back. The tags OCA ``queue_job`` uses (``datetime_isoformat``,
``date_isoformat``, ``odoo_recordset``) keep their names and shapes, so jobs stored by it
decode here.

Values of other kinds (records of an ORM, HTML markup) are handled by
:class:`CodecExtension` objects supplied by the caller; the Odoo side supplies one for
recordsets. Anything else is refused at encoding time with an error naming where the
value sits, never silently stored as something else.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

TYPE_KEY = "_type"


class UnserializableValueError(TypeError):
    """A value cannot be stored in a job; ``path`` tells where it sits (``args[1]['when']``)."""

    def __init__(self, path: str, value: Any):
        self.path = path
        super().__init__(
            f"{path} cannot be stored in a job: values of type "
            f"{type(value).__module__}.{type(value).__qualname__} are not serializable "
            f"({_short_repr(value)})"
        )


class UnknownTypeTagError(ValueError):
    """Stored JSON holds a tagged object this codec (and its extensions) cannot rebuild."""


class CodecExtension(Protocol):
    """Encodes and decodes one kind of value the engine does not know by itself."""

    type_tag: str

    def handles(self, value: Any) -> bool:
        """Whether this extension encodes ``value``."""

    def encode(self, value: Any) -> dict[str, Any]:
        """The fields that describe ``value`` (without the type tag); their values are
        encoded in turn, so they may be anything the codec stores."""

    def decode(self, fields: dict[str, Any]) -> Any:
        """Rebuild the value from the stored object: the fields :meth:`encode` returned,
        already decoded, plus the ``_type`` key."""


def dumps(value: Any, extensions: Sequence[CodecExtension] = (), path: str = "value") -> str:
    """Encode ``value`` to JSON text; raise :class:`UnserializableValueError` if it cannot.

    ``path`` names the value in error messages.
    """
    return dumps_tree(to_json_tree(value, path, extensions))


def dumps_tree(tree: Any) -> str:
    """JSON text of a tree built by :func:`to_json_tree`."""
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))


def loads(text: str, extensions: Sequence[CodecExtension] = ()) -> Any:
    """Decode JSON text written by :func:`dumps` (or by OCA ``queue_job``)."""
    decoders = dict(_BUILTIN_DECODERS)
    decoders.update({extension.type_tag: extension.decode for extension in extensions})
    return json.loads(text, object_hook=lambda obj: _from_tagged(obj, decoders))


def to_json_tree(value: Any, path: str, extensions: Sequence[CodecExtension] = ()) -> Any:
    """``value`` as plain JSON data (tagged objects for the rest); ``path`` names it in errors.

    Scalars must be exactly ``bool``, ``int``, ``float`` or ``str``: a subclass (an
    ``IntEnum``, a ``StrEnum``) would come back as its base type, so it is refused unless
    an extension handles it. Subclasses of ``list`` and ``dict`` (``OrderedDict``, Odoo's
    ``frozendict``) are stored as plain lists and dicts.
    """
    for extension in extensions:
        if extension.handles(value):
            fields = extension.encode(value)
            return {
                TYPE_KEY: extension.type_tag,
                **{
                    name: to_json_tree(item, f"{path}.{name}", extensions)
                    for name, item in fields.items()
                },
            }
    if value is None or type(value) in _JSON_SCALARS:
        return value
    if isinstance(value, list):
        return [
            to_json_tree(item, f"{path}[{index}]", extensions) for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        if all(type(key) is str for key in value) and TYPE_KEY not in value:
            return {
                key: to_json_tree(item, f"{path}[{key!r}]", extensions)
                for key, item in value.items()
            }
        return {
            TYPE_KEY: "dict",
            "items": [
                [
                    to_json_tree(key, f"{path} key {key!r}", extensions),
                    to_json_tree(item, f"{path}[{key!r}]", extensions),
                ]
                for key, item in value.items()
            ],
        }
    for kind, tag in _COLLECTION_TAGS:
        if type(value) is kind:
            items = value if kind is tuple else _stable_order(value)
            return {
                TYPE_KEY: tag,
                "items": [
                    to_json_tree(item, f"{path}[{index}]", extensions)
                    for index, item in enumerate(items)
                ],
            }
    for kind, tag, encode in _SCALAR_ENCODERS:
        if type(value) is kind:
            return {TYPE_KEY: tag, "value": encode(value)}
    raise UnserializableValueError(path, value)


def _stable_order(items: Iterable[Any]) -> list[Any]:
    """Sets have no order; sort when possible so equal sets give equal JSON."""
    items = list(items)
    try:
        return sorted(items)
    except TypeError:
        return items


def _from_tagged(obj: dict[str, Any], decoders: dict[str, Callable[[dict], Any]]) -> Any:
    tag = obj.get(TYPE_KEY)
    if tag is None:
        return obj
    decoder = decoders.get(tag)
    if decoder is None:
        raise UnknownTypeTagError(f"stored job data holds an unknown value type {tag!r}")
    return decoder(obj)


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JSON_SCALARS = (bool, int, float, str)

_COLLECTION_TAGS: tuple[tuple[type, str], ...] = (
    (tuple, "tuple"),
    (set, "set"),
    (frozenset, "frozenset"),
)

# Exact types only: a subclass (pendulum's DateTime, an IntEnum) would not come back.
_SCALAR_ENCODERS: tuple[tuple[type, str, Callable[[Any], Any]], ...] = (
    (datetime.datetime, "datetime_isoformat", lambda value: value.isoformat()),
    (datetime.date, "date_isoformat", lambda value: value.isoformat()),
    (datetime.time, "time_isoformat", lambda value: value.isoformat()),
    (
        datetime.timedelta,
        "timedelta",
        lambda value: [value.days, value.seconds, value.microseconds],
    ),
    (decimal.Decimal, "decimal", str),
    (bytes, "bytes_base64", lambda value: base64.b64encode(value).decode("ascii")),
    (uuid.UUID, "uuid", str),
)

_BUILTIN_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "dict": lambda obj: dict(obj["items"]),
    "tuple": lambda obj: tuple(obj["items"]),
    "set": lambda obj: set(obj["items"]),
    "frozenset": lambda obj: frozenset(obj["items"]),
    "datetime_isoformat": lambda obj: datetime.datetime.fromisoformat(obj["value"]),
    "date_isoformat": lambda obj: datetime.date.fromisoformat(obj["value"]),
    "time_isoformat": lambda obj: datetime.time.fromisoformat(obj["value"]),
    "timedelta": lambda obj: datetime.timedelta(*obj["value"]),
    "decimal": lambda obj: decimal.Decimal(obj["value"]),
    "bytes_base64": lambda obj: base64.b64decode(obj["value"]),
    "uuid": lambda obj: uuid.UUID(obj["value"]),
}
