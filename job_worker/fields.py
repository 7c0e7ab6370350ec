"""The field type that stores job arguments as JSON through the engine's codec."""

from odoo import fields

from .engine.codec import dumps, loads
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
