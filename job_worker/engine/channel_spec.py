"""Channel specifications in OCA ``queue_job``'s syntax, parsed into typed channels.

A specification such as ``root:4,root.sale:2:throttle=2,root.edi:1:sequential`` (from
``ODOO_QUEUE_JOB_CHANNELS`` or a ``channels`` key of the configuration file) lists
channels separated by commas or line breaks, each ``name:capacity[:option[=value]]...``.
As in OCA ``queue_job``:

- whitespace around every part is ignored, and so are empty entries (trailing commas,
  blank lines);
- a name without the ``root.`` prefix is a child of root (``sale`` is ``root.sale``);
- a channel without a capacity has a capacity of 1 (``sale`` is ``sale:1``);
- ``throttle=<seconds>`` lets at most one job of the channel start every ``<seconds>``
  (here: a rate limit of 1 start per ``<seconds>``);
- a sequential channel must have a capacity of 1;
- ``paused`` pauses the channel and its sub-channels.

Beyond OCA: ``rate=<starts>/<seconds>`` (several starts per period) and
``removal_interval=<days>``. Where OCA ignores a mistake (an unknown option, the same
channel twice) or reads it loosely (``sequential=0`` is sequential there), this parser
refuses the whole specification with a :class:`ChannelSpecError` naming the bad entry
and the reason: a specification is used entirely or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .schema import ROOT_CHANNEL

MAX_SETTING = 2_147_483_647
"""The largest capacity, rate or interval a channel stores (a PostgreSQL ``integer``)."""
DEFAULT_CAPACITY = 1
"""OCA's capacity for an entry that gives none (``sale`` is ``sale:1``)."""

_WHOLE_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_ENTRY_SEPARATOR = re.compile(r"[,\n]")
_OPTIONS_HELP = (
    "sequential, paused, throttle=<seconds>, rate=<starts>/<seconds>, removal_interval=<days>"
)


class ChannelSpecError(ValueError):
    """A channel specification that cannot be used, with the entry at fault and why.

    ``str()`` reads ``channel specification '<spec>': '<entry>': <reason>``.
    """

    def __init__(self, specification: str, token: str, reason: str):
        self.specification = specification
        self.token = token
        self.reason = reason
        super().__init__(f"channel specification {specification!r}: {token!r}: {reason}")


@dataclass(frozen=True)
class ChannelSpec:
    """One configured channel: its complete name and the settings the entry gives it.

    ``capacity`` 0 means no limit of its own (its ancestors' still apply), as for a
    ``queue.job.channel`` record. ``rate_limit`` 0 means no rate limit, and then
    ``rate_period`` is not configured. ``paused`` only ever pauses (see
    :meth:`configured_values`); ``removal_interval`` ``None`` leaves it as it is.
    """

    complete_name: str
    capacity: int = DEFAULT_CAPACITY
    sequential: bool = False
    rate_limit: int = 0
    rate_period: int = 1
    paused: bool = False
    removal_interval: int | None = None
    token: str = field(default="", compare=False)
    """The entry of the specification this channel comes from, for messages."""

    @property
    def name(self) -> str:
        """The last part of the complete name (``eu`` for ``root.sale.eu``)."""
        return self.complete_name.rpartition(".")[2]

    @property
    def parent_name(self) -> str | None:
        """The complete name of the parent channel; ``None`` for root."""
        return self.complete_name.rpartition(".")[0] or None

    @property
    def ancestor_names(self) -> list[str]:
        """Complete names of the ancestors, root first (``[]`` for root)."""
        parts = self.complete_name.split(".")
        return [".".join(parts[:depth]) for depth in range(1, len(parts))]

    def configured_values(self) -> dict[str, object]:
        """The ``queue.job.channel`` fields this entry sets.

        Capacity, sequential and the rate limit are always set (an option left out is
        off, as in OCA). ``paused`` is set only when given: the specification pauses a
        channel but never resumes one, so that a pause made by an operator is not undone
        by the next worker start. ``removal_interval`` is set only when given.
        """
        values: dict[str, object] = {
            "capacity": self.capacity,
            "sequential": self.sequential,
            "rate_limit": self.rate_limit,
        }
        if self.rate_limit:
            values["rate_period"] = self.rate_period
        if self.paused:
            values["paused"] = True
        if self.removal_interval is not None:
            values["removal_interval"] = self.removal_interval
        return values


def parse_channel_specification(specification: str) -> list[ChannelSpec]:
    """The channels of ``specification``, in its order; all of them, or an error.

    :raises ChannelSpecError: naming the first entry that cannot be used and why.
    """
    channels: list[ChannelSpec] = []
    entries_by_name: dict[str, str] = {}
    for raw_entry in _ENTRY_SEPARATOR.split(specification):
        entry = raw_entry.strip()
        if not entry:
            continue
        try:
            channel = _parse_entry(entry)
        except ValueError as error:
            raise ChannelSpecError(specification, entry, str(error)) from None
        if channel.complete_name in entries_by_name:
            raise ChannelSpecError(
                specification,
                entry,
                f"channel {channel.complete_name} is already configured by "
                f"{entries_by_name[channel.complete_name]!r}",
            )
        entries_by_name[channel.complete_name] = entry
        channels.append(channel)
    return channels


def _parse_entry(entry: str) -> ChannelSpec:
    """One ``name[:capacity[:option[=value]]...]`` entry; ``ValueError`` says what is wrong."""
    name_text, *settings = (part.strip() for part in entry.split(":"))
    complete_name = _complete_name(name_text)
    if not settings:
        return ChannelSpec(complete_name, token=entry)
    capacity = _whole_number("capacity", settings[0])
    values = _parse_options(settings[1:])
    if values.get("sequential") and capacity != 1:
        raise ValueError(
            f"a sequential channel runs one job at a time: its capacity must be 1, "
            f"not {capacity} (write {complete_name}:1:sequential)"
        )
    return ChannelSpec(complete_name, capacity, token=entry, **values)


def _complete_name(text: str) -> str:
    """The complete name of a channel entry's name: root-based, without empty parts."""
    if not text:
        raise ValueError("the channel name is empty")
    if text.startswith("."):
        raise ValueError(
            f"channel name {text!r} starts with a dot: name root or a sub-channel "
            f"(root.sale, or sale for root.sale)"
        )
    complete_name = text if text.split(".")[0] == ROOT_CHANNEL else f"{ROOT_CHANNEL}.{text}"
    parts = complete_name.split(".")
    if any(not part.strip() for part in parts):
        raise ValueError(f"channel name {text!r} has an empty part between dots")
    if any(part != part.strip() for part in parts):
        raise ValueError(f"channel name {text!r} has spaces around a dot")
    return complete_name


def _parse_options(options: list[str]) -> dict[str, object]:
    """The ``ChannelSpec`` fields an entry's options set."""
    values: dict[str, object] = {}
    seen: list[str] = []
    for option in options:
        key, has_value, value = (part.strip() for part in option.partition("="))
        if key in seen:
            raise ValueError(f"option {key!r} is given twice")
        if key in ("sequential", "paused"):
            if has_value:
                raise ValueError(f"option {key!r} takes no value, got {option!r}")
            values[key] = True
        elif key in ("throttle", "rate"):
            if {"throttle", "rate"} & set(seen):
                raise ValueError("throttle and rate both set the rate limit: keep one")
            values.update(_rate_limit(key, value, has_value))
        elif key == "removal_interval":
            values[key] = _whole_number(key, value, has_value, unit="days")
        elif not key:
            raise ValueError(f"an option is empty (expected {_OPTIONS_HELP})")
        else:
            raise ValueError(f"unknown option {key!r} (expected {_OPTIONS_HELP})")
        seen.append(key)
    return values


def _rate_limit(key: str, value: str, has_value: bool) -> dict[str, int]:
    """``throttle=<seconds>`` (OCA: one start every ``seconds``; 0: none) or
    ``rate=<starts>/<seconds>`` (at most ``starts`` starts per sliding window)."""
    if key == "throttle":
        seconds = _whole_number("throttle", value, has_value, unit="seconds")
        return {"rate_limit": 1, "rate_period": seconds} if seconds else {"rate_limit": 0}
    starts, slash, seconds = value.partition("/")
    if not has_value or not slash:
        raise ValueError(f"rate {value!r} is not <starts>/<seconds> (for example rate=10/60)")
    return {
        "rate_limit": _whole_number("rate starts", starts.strip(), minimum=1),
        "rate_period": _whole_number("rate period", seconds.strip(), unit="seconds", minimum=1),
    }


def _whole_number(
    what: str, text: str, has_value: bool = True, unit: str = "", minimum: int = 0
) -> int:
    """``text`` as a whole number from ``minimum`` to :data:`MAX_SETTING`."""
    if not has_value or not text:
        raise ValueError(f"{what} is missing")
    if not _WHOLE_NUMBER.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not a whole number" + (f" of {unit}" if unit else ""))
    number = int(text)
    if not minimum <= number <= MAX_SETTING:
        raise ValueError(f"{what} {text!r} is out of range ({minimum} to {MAX_SETTING})")
    return number
