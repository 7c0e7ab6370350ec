"""Preparing a job: a method call checked against its signature and encoded at once.

:func:`prepare_job` turns ``records.method(*args, **kwargs)`` into the values of a
``queue.job`` row, so that a call that could never run, or an argument that cannot be
stored, is refused before anything is written (the error names the argument).
:mod:`.store` then writes prepared jobs, alone or as a graph.
"""

import inspect
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from odoo import SUPERUSER_ID, fields
from odoo.exceptions import AccessError

from ..engine.codec import dumps, dumps_tree, to_json_tree
from ..engine.schema import ROOT_CHANNEL
from .argument_codec import codec_extensions
from .identity import JobDescription

DEFAULT_PRIORITY = 10
DEFAULT_MAX_RETRIES = 5


@dataclass(frozen=True)
class JobProperties:
    """What ``with_delay()`` and ``delayable()`` accept, validated."""

    priority: int | None = None
    eta: object = None
    max_retries: int | None = None
    description: str | None = None
    channel: str | None = None
    identity_key: object = None

    def __post_init__(self):
        key = self.identity_key
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError(
                f"identity_key must be a string or a callable, got {type(key).__name__}"
            )
        for name in ("priority", "max_retries"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be an integer, got {value!r}")
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 (no limit) or more, got {self.max_retries}")
        _eta_to_utc(self.eta)  # refuse a bad ETA now, not when the call is made

    def updated(self, **changes) -> "JobProperties":
        """These properties with ``changes`` (validated again)."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown job properties: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


@dataclass
class PreparedJob:
    """A checked, encoded call: the values of its ``queue.job`` row, and the call itself
    (for the no-delay switches and the test trap)."""

    records: object
    method_name: str
    args: tuple
    kwargs: dict
    values: dict = field(default_factory=dict)
    properties: JobProperties = field(default_factory=JobProperties)
    """The properties as the caller gave them (``eta=15``, ``identity_key=function``)."""

    def perform(self):
        """Run the call now, as the job would."""
        return getattr(self.records, self.method_name)(*self.args, **self.kwargs)


def check_delayable_method(records, name):
    """Raise ``AttributeError`` unless ``name`` is a method of the records' model."""
    if not callable(getattr(type(records), name, None)):
        raise AttributeError(
            f"cannot delay {records._name}.{name}: model {records._name!r} has no method {name!r}"
        )


def prepare_job(records, method_name, args, kwargs, properties: JobProperties) -> PreparedJob:
    """Check a call against the method's signature and encode it; raise if it could
    never run or an argument cannot be stored (the error names it)."""
    check_delayable_method(records, method_name)
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
    identity_key = properties.identity_key
    if callable(identity_key):
        identity_key = identity_key(
            JobDescription(records._name, method_name, records, tuple(args), dict(kwargs))
        )
    values = {
        "uuid": str(uuid.uuid4()),
        "name": properties.description or describe_method(method, func_name),
        "model_name": records._name,
        "method_name": method_name,
        "records": records_text,
        "args": args_text,
        "kwargs": kwargs_text,
        "func_string": _func_string(records, method_name, args, kwargs),
        "priority": DEFAULT_PRIORITY if properties.priority is None else properties.priority,
        "eta": _eta_to_utc(properties.eta),
        "max_retries": (
            DEFAULT_MAX_RETRIES if properties.max_retries is None else properties.max_retries
        ),
        "channel": properties.channel or job_function.channel or ROOT_CHANNEL,
        "job_function_id": job_function.id,
        "identity_key": identity_key or None,
        "user_id": env.uid,
        "company_id": job_company_id(env),
        "date_created": fields.Datetime.now(),
    }
    return PreparedJob(records, method_name, tuple(args), dict(kwargs), values, properties)


def job_company_id(env):
    """The company a job of ``env`` runs in: OCA's ``company_id`` context key when it
    names one of the delaying user's companies (any for the superuser itself), else the
    environment's company. A context is what an RPC caller sends: a company the user is
    not in is refused, never taken (``sudo()`` keeps the caller's context and user)."""
    company_id = env.context.get("company_id", env.company.id)
    if company_id and env.uid != SUPERUSER_ID:
        allowed = env.user.sudo().company_ids.ids
        if company_id not in allowed:
            raise AccessError(
                env._(
                    "A job cannot be delayed in company %(company)s: the user %(user)s is "
                    "not in it (the company_id context key).",
                    company=company_id,
                    user=env.user.login,
                )
            )
    return company_id


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


def describe_method(method, func_name):
    """The first line of the method's docstring, else ``model.method`` (OCA's)."""
    doc = inspect.getdoc(method)
    if doc and doc.strip():
        return doc.strip().splitlines()[0]
    return func_name


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
