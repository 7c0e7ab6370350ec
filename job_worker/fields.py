"""The field type that stores job arguments as JSON through the engine's codec, and
OCA ``queue_job``'s ``JobEncoder`` and ``JobDecoder`` over the same codec."""

import json

from odoo import fields

from .engine.codec import UndecodableValueError, dumps, loads, to_json_tree
from .engine.errors import CorruptJobDataError
from .enqueue.argument_codec import codec_extensions

DECODING_ERRORS = (ValueError, LookupError, CorruptJobDataError)
"""What an extension of the codec raises for stored data it cannot rebuild (a model that
no longer exists); the codec itself raises ``UndecodableValueError``."""


class UndecodableJobValue:
    """What a job's field reads as when its stored value cannot be decoded.

    The web client shows :attr:`problem` instead of failing to open the job; code that
    uses the value (its attributes, items, iteration) gets a
    :class:`~.engine.errors.CorruptJobDataError` naming the field and the problem.
    """

    __slots__ = ("field_name", "problem")

    def __init__(self, field_name: str, problem: str):
        self.field_name = field_name
        self.problem = problem

    def __repr__(self):
        return f"<undecodable {self.field_name}: {self.problem}>"

    def _refuse(self, *_args):
        raise CorruptJobDataError(
            f"the stored {self.field_name} of this job cannot be decoded: {self.problem}"
        )

    def __getattr__(self, name):
        if name.startswith("__"):  # protocol probes (copy, markupsafe's __html__)
            raise AttributeError(name)
        self._refuse()

    __iter__ = __getitem__ = __call__ = _refuse


class JobSerialized(fields.Field):
    """A text column holding a value encoded by the engine's codec.

    In the cache the value is its JSON text; on a record it is the decoded value
    (recordsets are rebuilt in the record's environment), or an
    :class:`UndecodableJobValue` when the text cannot be decoded. ``read()`` returns the
    text, or a placeholder naming the problem.
    """

    type = "job_serialized"
    _column_type = ("text", "text")

    def convert_to_cache(self, value, record, validate=True):
        if value is None or value is False:
            return None
        if isinstance(value, str):
            return value
        return dumps(value, codec_extensions(record.env), path=self.name)

    def convert_to_record(self, value, record):
        if value is None:
            return None
        try:
            return loads(value, codec_extensions(record.env), path=self.name)
        except UndecodableValueError as error:  # names where, and why
            return UndecodableJobValue(self.name, str(error))
        except DECODING_ERRORS as error:  # an extension's own refusal
            return UndecodableJobValue(self.name, f"{type(error).__name__}: {error}")

    def convert_to_read(self, value, record, use_display_name=True):
        if value is None:
            return False
        if isinstance(value, UndecodableJobValue):
            return f"(cannot be decoded: {value.problem})"
        return dumps(value, codec_extensions(record.env), path=self.name)

    def convert_to_export(self, value, record):
        return self.convert_to_read(value, record) or ""


class JobEncoder(json.JSONEncoder):
    """``json.dumps(value, cls=JobEncoder)`` encodes recordsets, dates and the other
    values a job argument may hold as jobs store them (OCA's encoder). A recordset keeps
    its model, ids, user, superuser flag and the context keys a job keeps."""

    def default(self, o):
        env = getattr(o, "env", None)
        return to_json_tree(o, "value", codec_extensions(env) if env is not None else ())


class JobDecoder(json.JSONDecoder):
    """``json.loads(text, cls=JobDecoder, env=env)`` decodes what :class:`JobEncoder`
    (or OCA's) wrote; recordsets are rebuilt in ``env``."""

    def __init__(self, *args, env=None, **kwargs):
        self.env = env
        super().__init__(*args, **kwargs)

    def decode(self, s, *args, **kwargs):
        return loads(s, codec_extensions(self.env) if self.env is not None else ())
