"""Odoo values in job arguments: recordsets and HTML markup, as extensions of the codec.

A recordset is stored with its model, ids, the user and superuser flag of its
environment, and the context keys a job should keep (as OCA ``queue_job`` does), so the
job runs as the user who enqueued it, in their companies and language.
"""

from markupsafe import Markup
from odoo import models

from ..engine.codec import CodecExtension

CONTEXT_KEYS_KEPT = ("tz", "lang", "allowed_company_ids", "force_company", "active_test")
"""Context keys a recordset keeps when stored in a job (OCA's allow-list), unless its
model's ``_job_prepare_context_before_enqueue_keys()`` names others."""


class RecordsetExtension:
    """Stores a recordset as its model, ids, uid, superuser flag and kept context keys."""

    type_tag = "odoo_recordset"

    def __init__(self, env):
        self.env = env

    def handles(self, value):
        return isinstance(value, models.BaseModel)

    def encode(self, value):
        unsaved = [record_id for record_id in value._ids if not isinstance(record_id, int)]
        if unsaved:
            raise TypeError(
                f"{value._name} records that are not saved yet (new ids {unsaved!r}) "
                "cannot be stored in a job"
            )
        # The model's hook names the keys kept (OCA's; CONTEXT_KEYS_KEPT by default).
        kept = value._job_prepare_context_before_enqueue_keys()
        context = {key: value.env.context[key] for key in kept if key in value.env.context}
        return {
            "model": value._name,
            "ids": list(value._ids),
            "uid": value.env.uid,
            "su": value.env.su,
            "context": context,
        }

    def decode(self, fields):
        model_name = fields["model"]
        if model_name not in self.env.registry:
            raise LookupError(f"model {model_name!r} of a stored recordset does not exist")
        env = self.env(
            user=fields.get("uid", self.env.uid),
            su=fields.get("su", False),
            context=fields.get("context", {}),
        )
        return env[model_name].browse(fields["ids"])


class MarkupExtension:
    """Keeps ``Markup`` (safe HTML) as markup: as a plain string it would be escaped."""

    type_tag = "markup"

    def handles(self, value):
        return isinstance(value, Markup)

    def encode(self, value):
        return {"value": str(value)}

    def decode(self, fields):
        return Markup(fields["value"])


def codec_extensions(env) -> tuple[CodecExtension, ...]:
    """The codec extensions for values of ``env``'s database."""
    return (RecordsetExtension(env), MarkupExtension())
