"""When a job is tried again: retry patterns with OCA ``queue_job``'s semantics."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

DEFAULT_RETRY_DELAY_S = 600
"""Wait before another attempt when no pattern or explicit delay says otherwise (OCA's)."""

RetryPattern = Mapping[int, "float | tuple[float, float]"]


class RetryPatternError(ValueError):
    """A retry pattern that cannot be used; the message names the bad entry."""


def parse_retry_pattern(text: str | None) -> dict[int, float | tuple[float, float]]:
    """Parse a stored pattern: a JSON object ``{"<from attempt>": seconds | [min, max]}``."""
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
        pattern[attempt] = _parse_delay(key, value)
    return pattern


def _parse_delay(key: str, value) -> float | tuple[float, float]:
    if isinstance(value, bool):
        raise RetryPatternError(f"retry pattern delay for {key!r} is a boolean")
    if isinstance(value, (int, float)) and value >= 0:
        return float(value)
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(bound, (int, float)) and not isinstance(bound, bool) for bound in value)
        and 0 <= value[0] <= value[1]
    ):
        return (float(value[0]), float(value[1]))
    raise RetryPatternError(
        f"retry pattern delay for {key!r} must be seconds or [min, max], got {value!r}"
    )


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
