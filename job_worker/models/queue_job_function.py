"""The ``queue.job.function`` model: per ``model.method`` defaults for its jobs."""

import ast
import json
import re

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine.retry import RetryPatternError, parse_retry_pattern
from ..engine.schema import ROOT_CHANNEL

RELATED_ACTION_METHOD = re.compile(r"related_action_\w+")
"""Methods of ``queue.job`` a related action may call: OCA's ``related_action_*``."""
PLAIN_SCALARS = (str, int, float, bool, type(None))


def check_related_action(config):
    """Raise ValueError naming the bad value unless ``config`` names a public
    ``related_action_*`` method and gives it keyword arguments of plain data (strings,
    numbers, booleans, null, and lists and objects of those): a related action runs as
    whoever clicks it, so it must not be a way to call ``copy``, ``unlink`` or a private
    method of the job."""
    if not isinstance(config.get("enable", True), bool):
        raise ValueError(f"related action: enable {config['enable']!r} is not true or false")
    func_name = config.get("func_name")
    if func_name is not None and (
        not isinstance(func_name, str) or not RELATED_ACTION_METHOD.fullmatch(func_name)
    ):
        raise ValueError(
            f"related action: func_name {func_name!r} is refused: only public methods of "
            "queue.job named related_action_* may be called"
        )
    kwargs = config.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ValueError(f"related action: kwargs {kwargs!r} is not an object")
    for name, value in kwargs.items():
        _check_plain_data(value, f"kwargs[{name!r}]")


def _check_plain_data(value, path):
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain_data(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"related action: {path} has a key {key!r} that is not text")
            _check_plain_data(item, f"{path}[{key!r}]")
    elif not isinstance(value, PLAIN_SCALARS):
        raise ValueError(
            f"related action: {path} = {value!r} is refused: only plain data (text, "
            "numbers, booleans, null, lists and objects of those) may be passed"
        )


class QueueJobFunction(models.Model):
    """Defaults for the jobs of one method, named ``<model>.<method>`` as in OCA ``queue_job``.

    A job delayed without an explicit channel takes the channel of its function
    (``channel``, or ``channel_id`` as OCA data files set it).
    Records of the same name declared by several modules merge into one, as in OCA:
    creating one that exists updates it. ``retry_pattern`` and ``related_action`` may be
    given as dicts (as OCA data files do with ``eval``); they are stored as JSON.
    """

    _name = "queue.job.function"
    _description = "Job Function"
    _order = "name"

    name = fields.Char(compute="_compute_name", store=True, readonly=True, index=True)
    model_id = fields.Many2one("ir.model", string="Model", required=True, ondelete="cascade")
    method = fields.Char(required=True)
    channel = fields.Char(required=True, default=ROOT_CHANNEL)
    retry_pattern = fields.Text(
        help='When to try again, as JSON: {"<from attempt>": seconds or [min, max]}, e.g. '
        '{"1": 10, "5": 60, "10": [300, 900]}. Empty: 10 minutes.'
    )
    related_action = fields.Text(
        help='What "Related" does on its jobs, as JSON: {"enable": false} hides it; '
        '{"func_name": "related_action_<name>", "kwargs": {...}} calls that public method '
        "of the job, with plain data as keyword arguments. "
        "Empty: open the job's records."
    )
    channel_id = fields.Many2one(
        "queue.job.channel",
        string="Channel record",
        compute="_compute_channel_id",
        inverse="_inverse_channel_id",
        help="The configured channel named by Channel (OCA's field; setting it sets Channel).",
    )
    allow_commit = fields.Boolean(
        help="OCA queue_job's permission for job code to commit. Kept for data files written "
        "for queue_job: under job_worker a job may always commit (its work up to the commit "
        "stays; the job is still held as running).",
    )
    edit_retry_pattern = fields.Text(
        string="Retry pattern (Python)",
        compute="_compute_edit_retry_pattern",
        inverse="_inverse_edit_retry_pattern",
        help="The retry pattern as OCA's form edits it: {1: 10, 5: 60, 10: (300, 900)}.",
    )
    timeout = fields.Integer(
        string="Timeout (s)",
        help="Seconds a job may run before it is interrupted; 0: the default (1 hour).",
    )

    _name_unique = models.UniqueIndex("(name)", "A job function with this name already exists.")

    @api.constrains("retry_pattern")
    def _check_retry_pattern(self):
        for function in self:
            try:
                parse_retry_pattern(function.retry_pattern)
            except RetryPatternError as error:
                raise ValidationError(f"{function.name}: {error}") from None

    @api.constrains("related_action")
    def _check_related_action(self):
        if self.env.su and self.env.context.get("install_mode"):
            # A module's data files may name related actions of any method (OCA's test
            # addon does): loaded as written; the Related button refuses what it may
            # not run, saying why.
            return
        for function in self:
            try:
                function.related_action_config()
            except ValueError as error:
                raise ValidationError(f"{function.name}: {error}") from None

    def related_action_config(self):
        """The related action as a dict (``{}`` when unset); ValueError naming what is
        refused when malformed (see :func:`check_related_action`)."""
        if not self or not self.related_action:
            return {}
        try:
            config = json.loads(self.related_action)
        except ValueError:
            raise ValueError(f"related action {self.related_action!r} is not JSON") from None
        if not isinstance(config, dict) or set(config) - {"enable", "func_name", "kwargs"}:
            raise ValueError(
                f"related action {self.related_action!r} must be an object with only "
                '"enable", "func_name" and "kwargs"'
            )
        check_related_action(config)
        return config

    @api.model_create_multi
    def create(self, vals_list):
        """Create, or update the function of the same name that exists (OCA's merge);
        the records returned follow ``vals_list``, one per entry."""
        functions = self.browse()
        for vals in vals_list:
            vals = self._json_values(vals)
            existing = self._existing_for(vals)
            if existing:
                existing.write(vals)
                functions += existing
            else:
                functions += super().create([vals])
        return functions

    def write(self, vals):
        return super().write(self._json_values(vals))

    @api.model
    def _json_values(self, vals):
        values = dict(vals)
        for key in ("retry_pattern", "related_action"):
            if isinstance(values.get(key), dict):
                try:
                    values[key] = json.dumps(values[key])
                except (TypeError, ValueError) as error:
                    raise ValidationError(
                        f"{key} {values[key]!r} is not JSON data: {error}"
                    ) from None
        return values

    @api.model
    def _existing_for(self, vals):
        if not vals.get("model_id") or not vals.get("method"):
            return self.browse()
        model = self.env["ir.model"].browse(vals["model_id"]).model
        return self.search([("name", "=", f"{model}.{vals['method']}")], limit=1)

    @api.depends("channel")
    def _compute_channel_id(self):
        channels = self.env["queue.job.channel"].sudo().search([])
        by_name = {channel.complete_name: channel.id for channel in channels}
        for function in self:
            function.channel_id = by_name.get(function.channel, False)

    def _inverse_channel_id(self):
        for function in self.filtered("channel_id"):
            function.channel = function.channel_id.complete_name

    @api.depends("retry_pattern")
    def _compute_edit_retry_pattern(self):
        for function in self:
            try:
                pattern = parse_retry_pattern(function.retry_pattern)
            except RetryPatternError:
                # Stored before today's bounds, or in SQL: shown as stored, for fixing
                # (jobs use the default delay meanwhile).
                function.edit_retry_pattern = function.retry_pattern or ""
                continue
            function.edit_retry_pattern = str(
                {
                    attempt: tuple(_whole(bound) for bound in delay)
                    if isinstance(delay, tuple)
                    else _whole(delay)
                    for attempt, delay in sorted(pattern.items())
                }
            )

    def _inverse_edit_retry_pattern(self):
        for function in self:
            function.retry_pattern = json.dumps(_python_retry_pattern(function.edit_retry_pattern))

    @api.model
    def job_function_name(self, model_name, method_name):
        """The name of the job function of ``model_name.method_name`` (OCA's helper)."""
        return f"{model_name}.{method_name}"

    @api.depends("model_id.model", "method")
    def _compute_name(self):
        for function in self:
            function.name = f"{function.model_id.model}.{function.method}"

    @api.model
    def find_for(self, model_name, method_name):
        """The job function record of ``model_name.method_name``, or an empty recordset."""
        return self.sudo().search([("name", "=", f"{model_name}.{method_name}")], limit=1)


def _whole(seconds):
    """Seconds as an int when whole, as OCA's form shows them."""
    return int(seconds) if float(seconds).is_integer() else seconds


def _python_retry_pattern(text):
    """A retry pattern typed as a Python dict, as JSON-ready data; UserError when it is
    not one (the message names the bad entry)."""
    if not text or not text.strip():
        return {}
    try:
        pattern = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise UserError(
            f"Retry pattern {text!r} is not a dict such as {{1: 10, 5: 60, 10: (300, 900)}}"
        ) from None
    if not isinstance(pattern, dict):
        raise UserError(f"Retry pattern {text!r} must be a dict of attempt: seconds")
    data = {}
    for attempt, delay in pattern.items():
        if not isinstance(attempt, int) or isinstance(attempt, bool):
            raise UserError(f"Retry pattern key {attempt!r} is not an attempt number")
        if isinstance(delay, (tuple, list)):
            delay = list(delay)
        data[str(attempt)] = delay
    try:
        parse_retry_pattern(json.dumps(data))
    except RetryPatternError as error:
        raise UserError(f"Retry pattern {text!r}: {error}") from None
    return data
