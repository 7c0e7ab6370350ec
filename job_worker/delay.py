"""``records.with_delay().method(*args, **kwargs)``: turning a method call into a stored job."""

import inspect
import logging
import uuid
from datetime import datetime, timedelta, timezone

from odoo import fields

from .engine.codec import dumps, dumps_tree, to_json_tree
from .engine.schema import ROOT_CHANNEL
from .engine.states import JobState
from .serialization import codec_extensions

_logger = logging.getLogger(__name__)

DEFAULT_PRIORITY = 10
DEFAULT_MAX_RETRIES = 5


class DelayableRecordset:
    """Stands for a recordset whose method calls become jobs instead of running now.

    Returned by ``records.with_delay(...)``. Looking up a method that the model does not
    have raises ``AttributeError`` at once; calling it stores the job and returns the
    ``queue.job`` record.
    """

    def __init__(
        self,
        records,
        *,
        priority=None,
        eta=None,
        max_retries=None,
        description=None,
        channel=None,
        identity_key=None,
    ):
        if identity_key is not None and not isinstance(identity_key, str):
            raise TypeError(f"identity_key must be a string, got {type(identity_key).__name__}")
        for name, value in (("priority", priority), ("max_retries", max_retries)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if max_retries is not None and max_retries < 0:
            raise ValueError(f"max_retries must be 0 (no limit) or more, got {max_retries}")
        self.records = records
        self.priority = priority
        self.eta = eta
        self.max_retries = max_retries
        self.description = description
        self.channel = channel
        self.identity_key = identity_key

    def __getattr__(self, name):
        method = getattr(type(self.records), name, None)
        if not callable(method):
            raise AttributeError(
                f"cannot delay {self.records._name}.{name}: model {self.records._name!r} "
                f"has no method {name!r}"
            )

        def delay(*args, **kwargs):
            return enqueue_job(self, name, args, kwargs)

        delay.__name__ = name
        return delay

    def __repr__(self):
        return f"DelayableRecordset({self.records!r})"


def enqueue_job(delayable, method_name, args, kwargs):
    """Store a job that calls ``method_name`` on the delayable's records; return it.

    Arguments are checked against the method's signature and encoded now, so a call
    that could never run, or an argument that cannot be stored, raises here and stores
    nothing.
    """
    records = delayable.records
    env = records.env
    func_name = f"{records._name}.{method_name}"
    method = getattr(records, method_name)
    parameter_names = _bind_arguments(method, func_name, args, kwargs)
    extensions = codec_extensions(env)
    args_text = dumps_tree(
        [
            to_json_tree(value, f"{func_name}() argument {name!r}", extensions)
            for name, value in zip(parameter_names, args, strict=True)
        ]
    )
    kwargs_text = dumps_tree(
        {
            key: to_json_tree(value, f"{func_name}() argument {key!r}", extensions)
            for key, value in kwargs.items()
        }
    )
    records_text = dumps(records, extensions, path=f"{func_name}() records")

    job_function = env["queue.job.function"].find_for(records._name, method_name)
    values = {
        "uuid": str(uuid.uuid4()),
        "name": delayable.description or _describe(method, func_name),
        "model_name": records._name,
        "method_name": method_name,
        "records": records_text,
        "args": args_text,
        "kwargs": kwargs_text,
        "func_string": _func_string(records, method_name, args, kwargs),
        "state": JobState.PENDING.value,
        "priority": DEFAULT_PRIORITY if delayable.priority is None else delayable.priority,
        "eta": _eta_to_utc(delayable.eta),
        "max_retries": (
            DEFAULT_MAX_RETRIES if delayable.max_retries is None else delayable.max_retries
        ),
        "channel": delayable.channel or job_function.channel or ROOT_CHANNEL,
        "job_function_id": job_function.id,
        "identity_key": delayable.identity_key,
        "user_id": env.uid,
        "company_id": env.company.id,
        "date_created": fields.Datetime.now(),
    }
    job = (
        env["queue.job"]
        .sudo()
        .with_context(mail_create_nolog=True, mail_create_nosubscribe=True, tracking_disable=True)
        .create(values)
    )
    job._schedule_processing_at([values["eta"] or values["date_created"]])
    return job


def _bind_arguments(method, func_name, args, kwargs):
    """Names of the positional arguments; raise TypeError if the call could never run."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # no signature to check against (a builtin)
        return [f"#{index}" for index in range(len(args))]
    try:
        signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"cannot delay {func_name}(): {error}") from None
    names = []
    for parameter in signature.parameters.values():
        if len(names) >= len(args):
            break
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            names += [f"*{parameter.name}[{index}]" for index in range(len(args) - len(names))]
        elif parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            names.append(parameter.name)
    return names


def _describe(method, func_name):
    """The first line of the method's docstring, else ``Function model.method``."""
    doc = inspect.getdoc(method)
    if doc and doc.strip():
        return doc.strip().splitlines()[0]
    return f"Function {func_name}"


def _func_string(records, method_name, args, kwargs):
    arguments = [repr(value) for value in args]
    arguments += [f"{key}={value!r}" for key, value in kwargs.items()]
    return f"{records!r}.{method_name}({', '.join(arguments)})"


def _eta_to_utc(eta):
    """An ETA as the naive UTC datetime Odoo stores: from seconds, a timedelta or a datetime."""
    if eta is None or eta is False:
        return None
    if isinstance(eta, bool):
        raise TypeError("eta must be a datetime, a timedelta or a number of seconds, not a bool")
    if isinstance(eta, (int, float)):
        eta = timedelta(seconds=eta)
    if isinstance(eta, timedelta):
        return fields.Datetime.now() + eta
    if isinstance(eta, datetime):
        if eta.tzinfo is not None:
            eta = eta.astimezone(timezone.utc).replace(tzinfo=None)
        return eta
    raise TypeError(
        f"eta must be a datetime, a timedelta or a number of seconds, got {type(eta).__name__}"
    )
