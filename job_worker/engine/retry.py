"""When a job is tried again: retry patterns with OCA ``queue_job``'s semantics."""

from __future__ import annotations

import json
import numbers
import random
from collections.abc import Mapping

DEFAULT_RETRY_DELAY_S = 600
"""Wait before another attempt when no pattern or explicit delay says otherwise (OCA's)."""
MAX_RETRY_DELAY_S = 30 * 24 * 3600
"""The longest wait before another attempt (30 days). A pattern asking for more is
refused; a longer delay asked for at run time (``RetryableJobError(seconds=...)``) is
cut to this. Unbounded, a delay such as ``1e308`` or ``Infinity`` cannot be stored as an
ETA, and the job could never be settled."""
MAX_RETRY_ATTEMPT = 2**31 - 1
"""The largest attempt number a pattern key may name: what the job's ``retry`` counter
(a PostgreSQL ``integer``) can reach."""

RetryPattern = Mapping[int, "float | tuple[float, float]"]


class RetryPatternError(ValueError):
    """A retry pattern that cannot be used; the message names the bad entry."""


def parse_retry_pattern(text: str | None) -> dict[int, float | tuple[float, float]]:
    """Parse a stored pattern: a JSON object ``{"<from attempt>": seconds | [min, max]}``.

    Attempts run from 0 to :data:`MAX_RETRY_ATTEMPT`, delays from 0 to
    :data:`MAX_RETRY_DELAY_S`; anything else (``Infinity``, ``NaN``, ``1e308``) is refused
    with a :class:`RetryPatternError` naming the entry.
    """
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise RetryPatternError(f"retry pattern is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise RetryPatternError(f"retry pattern must be an object, got {type(raw).__name__}")
    pattern: dict[int, float | tuple[float, float]] = {}
    for key, value in raw.items():
        try:
            attempt = int(key)
        except ValueError:
            raise RetryPatternError(f"retry pattern key {key!r} is not an attempt number") from None
        if attempt < 0:
            raise RetryPatternError(f"retry pattern key {key!r} is negative")
        if attempt > MAX_RETRY_ATTEMPT:
            raise RetryPatternError(
                f"retry pattern key {key!r} is above {MAX_RETRY_ATTEMPT}, "
                "the most attempts a job can count"
            )
        pattern[attempt] = _parse_delay(key, value)
    return pattern


def _parse_delay(key: str, value) -> float | tuple[float, float]:
    if isinstance(value, bool):
        raise RetryPatternError(f"retry pattern delay for {key!r} is a boolean")
    if isinstance(value, (int, float)):
        return _seconds(key, value)
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(bound, (int, float)) and not isinstance(bound, bool) for bound in value)
    ):
        low, high = (_seconds(key, bound) for bound in value)
        if low <= high:
            return (low, high)
    raise RetryPatternError(
        f"retry pattern delay for {key!r} must be seconds or [min, max], got {value!r}"
    )


def _seconds(key: str, value: float) -> float:
    # Compared before any conversion: float() of a huge JSON integer would overflow, and
    # NaN fails both comparisons.
    if not 0 <= value <= MAX_RETRY_DELAY_S:
        raise RetryPatternError(
            f"retry pattern delay for {key!r} must be from 0 to {MAX_RETRY_DELAY_S} seconds "
            f"(30 days), got {value!r}"
        )
    return float(value)


def retry_delay_s(pattern: RetryPattern, attempt: int) -> float:
    """Seconds before the next attempt after ``attempt`` attempts.

    The delay is the one of the highest pattern key not above ``attempt``; a
    ``(min, max)`` pair draws uniformly between its bounds. Nothing applies:
    :data:`DEFAULT_RETRY_DELAY_S`.
    """
    applicable = [key for key in pattern if key <= attempt]
    if not applicable:
        return DEFAULT_RETRY_DELAY_S
    delay = pattern[max(applicable)]
    if isinstance(delay, tuple):
        return random.uniform(*delay)
    return delay


def bounded_retry_delay_s(seconds: object) -> float:
    """``seconds`` as a delay the database can store: cut to the range 0 to
    :data:`MAX_RETRY_DELAY_S`; what is not a real number (``NaN``, a string) gives
    :data:`DEFAULT_RETRY_DELAY_S`."""
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or seconds != seconds:
        return float(DEFAULT_RETRY_DELAY_S)
    return float(min(max(seconds, 0), MAX_RETRY_DELAY_S))
