"""The field type that stores job arguments as JSON through the engine's codec, and
OCA ``queue_job``'s ``JobEncoder`` and ``JobDecoder`` over the same codec."""

import json

from odoo import fields

from .engine.codec import dumps, loads, to_json_tree
from .enqueue.argument_codec import codec_extensions


class JobSerialized(fields.Field):
    """A text column holding a value encoded by the engine's codec.

    In the cache the value is its JSON text; on a record it is the decoded value
    (recordsets are rebuilt in the record's environment). ``read()`` returns the text.
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
        return loads(value, codec_extensions(record.env))

    def convert_to_read(self, value, record, use_display_name=True):
        if value is None:
            return False
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
