"""Methods that delay themselves: OCA ``queue_job``'s ``_patch_job_auto_delay``.

An addon patches a method in its model's ``_register_hook``; calling the method then
stores a job instead (and returns the :class:`~odoo.addons.job_worker.job.Job`), except
when the call comes from the job itself (its context has ``job_uuid``), or when a
context key is named and not set in the caller's context. A ``<method>_job_options``
method of the model, if any, gives the job's properties (``with_delay()``'s parameters)
from the call's arguments.
"""


def auto_delay_wrapper(model_class, method_name, context_key=None):
    """A replacement of ``model_class.method_name`` that delays the call (see the module)."""
    original = getattr(model_class, method_name)

    def delay_instead(records, *args, **kwargs):
        context = records.env.context
        if context.get("job_uuid") or (context_key and not context.get(context_key)):
            return original(records, *args, **kwargs)
        options_method = getattr(records, f"{method_name}_job_options", None)
        options = options_method(*args, **kwargs) if callable(options_method) else {}
        return getattr(records.with_delay(**options), method_name)(*args, **kwargs)

    delay_instead.origin = original
    return delay_instead
