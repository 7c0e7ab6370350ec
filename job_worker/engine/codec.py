"""JSON encoding of job arguments that gives back exactly what was stored. No pickle.

JSON alone would turn tuples into lists, dates into strings and integer keys into
strings. Such values are stored as tagged objects, ``{"_type": <tag>, ...}``, and
rebuilt on the way back. The tags OCA ``queue_job`` uses (``datetime_isoformat``,
``date_isoformat``, ``odoo_recordset``) keep their names and shapes, so jobs stored by it
decode here.

Values of other kinds (records of an ORM, HTML markup) are handled by
:class:`CodecExtension` objects supplied by the caller; the Odoo side supplies one for
recordsets. Anything else is refused at encoding time with an error naming where the
value sits, never silently stored as something else. Stored text that cannot be decoded
(not JSON, an unknown tag, a tagged value out of range) is refused the same way, with an
:class:`UndecodableValueError` naming where it sits.
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


class UndecodableValueError(ValueError):
    """Stored text cannot be decoded; ``path`` tells where (``args[1]['when']``)."""

    def __init__(self, path: str, reason: str):
        self.path = path
        super().__init__(f"{path}: {reason}")


class UnknownTypeTagError(UndecodableValueError):
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
        already decoded, plus the ``_type`` key. Fields that cannot be rebuilt: raise a
        ``ValueError`` or ``LookupError`` saying why (it reaches the caller as it is);
        any other exception is reported as an :class:`UndecodableValueError`."""


def dumps(value: Any, extensions: Sequence[CodecExtension] = (), path: str = "value") -> str:
    """Encode ``value`` to JSON text; raise :class:`UnserializableValueError` if it cannot.

    ``path`` names the value in error messages.
    """
    return dumps_tree(to_json_tree(value, path, extensions))


def dumps_tree(tree: Any) -> str:
    """JSON text of a tree built by :func:`to_json_tree`."""
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))


def loads(text: str, extensions: Sequence[CodecExtension] = (), path: str = "value") -> Any:
    """Decode JSON text written by :func:`dumps` (or by OCA ``queue_job``).

    Raise :class:`UndecodableValueError` naming where the text cannot be decoded, its
    ``path`` starting with ``path`` (see :meth:`CodecExtension.decode` for the errors of
    extensions).
    """
    try:
        tree = json.loads(text)
    except RecursionError:
        raise UndecodableValueError(path, "nested too deeply") from None
    except (ValueError, TypeError) as error:
        raise UndecodableValueError(path, f"not JSON ({error})") from None
    extension_decoders = {extension.type_tag: extension.decode for extension in extensions}
    try:
        return _from_json_tree(tree, path, extension_decoders)
    except RecursionError:
        raise UndecodableValueError(path, "nested too deeply") from None


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


def _from_json_tree(node: Any, path: str, extension_decoders: dict[str, Callable]) -> Any:
    """``node`` with its tagged objects rebuilt, innermost first; ``path`` names it."""
    if isinstance(node, list):
        return [
            _from_json_tree(item, f"{path}[{index}]", extension_decoders)
            for index, item in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node
    tag = node.get(TYPE_KEY)
    if tag is None:
        return {
            key: _from_json_tree(item, f"{path}[{key!r}]", extension_decoders)
            for key, item in node.items()
        }
    fields = {
        name: item
        if name == TYPE_KEY
        else _from_json_tree(item, f"{path}.{name}", extension_decoders)
        for name, item in node.items()
    }
    return _rebuild(tag, fields, path, extension_decoders)


def _rebuild(tag: Any, fields: dict[str, Any], path: str, extension_decoders) -> Any:
    """The value a tagged object stands for; every failure named at ``path``."""
    if not isinstance(tag, str):
        raise UnknownTypeTagError(path, f"the value type {tag!r} is not a name")
    extension_decoder = extension_decoders.get(tag)
    if extension_decoder is not None:
        try:
            return extension_decoder(fields)
        except (ValueError, LookupError):
            raise  # the extension's own refusal, saying why
        except Exception as error:
            raise UndecodableValueError(path, _unusable(tag, fields, error)) from error
    decoder = _BUILTIN_DECODERS.get(tag)
    if decoder is None:
        raise UnknownTypeTagError(path, f"stored job data holds an unknown value type {tag!r}")
    try:
        return decoder(fields)
    except Exception as error:
        # A timedelta out of range (OverflowError), a decimal that is not a number
        # (InvalidOperation), a field missing (KeyError), items of the wrong kind...
        raise UndecodableValueError(path, _unusable(tag, fields, error)) from error


def _unusable(tag: str, fields: dict[str, Any], error: Exception) -> str:
    stored = {name: item for name, item in fields.items() if name != TYPE_KEY}
    return (
        f"a stored {tag!r} value {_short_repr(stored)} cannot be rebuilt "
        f"({type(error).__name__}: {_short_text(error)})"
    )


def _short_repr(value: Any, limit: int = 80) -> str:
    return _shortened(repr(value), limit)


def _short_text(value: Any, limit: int = 80) -> str:
    return _shortened(str(value), limit)


def _shortened(text: str, limit: int) -> str:
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
