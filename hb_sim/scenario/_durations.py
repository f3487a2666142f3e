"""Durations as scenarios write them: ``30s``, ``1m30s``, ``500ms``, ``2h``, or bare seconds."""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = ["format_duration", "parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART: Final = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)")
_NUMBER: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_duration(text: str) -> float:
    """Parse a duration into seconds.

    Args:
        text: a number of seconds (``"2.5"``) or one or more number-unit parts, largest unit
            first, with units ``h``, ``m``, ``s`` and ``ms`` (``"1h"``, ``"1m30s"``,
            ``"500ms"``). Surrounding white space is ignored.

    Returns:
        The duration in seconds (0 or more).

    Raises:
        ValueError: ``text`` is not a duration.
    """
    compact = text.strip()
    if _NUMBER.fullmatch(compact):
        return float(compact)
    total = 0.0
    pos = 0
    last_scale = math.inf
    for match in _PART.finditer(compact):
        scale = _UNITS[match.group(2)]
        if match.start() != pos or scale >= last_scale:
            break
        total += float(match.group(1)) * scale
        last_scale = scale
        pos = match.end()
    if pos != len(compact) or not compact:
        raise ValueError(f"not a duration: {text!r}")
    return total


def format_duration(seconds: float) -> str:
    """Write seconds back as a short duration (``90.0`` -> ``"1m30s"``), for messages."""
    if seconds < 1.0 and seconds != 0.0:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(minutes, 60.0)
    parts = []
    if hours:
        parts.append(f"{hours:g}h")
    if minutes:
        parts.append(f"{minutes:g}m")
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)
