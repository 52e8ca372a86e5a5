"""Durations written by people: ``48h``, ``3 days``, ``90 s``, ``1h30m`` or plain seconds."""

from __future__ import annotations

import re

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")


def parse_duration(value: str | int | float) -> float:
    """Seconds in a duration.

    Args:
        value: A number of seconds, or text of number+unit parts (s, m, h, d, w and
            their long names), e.g. ``"48h"``, ``"3 days"``, ``"1h30m"``.

    Raises:
        ValueError: The text is not a duration, or it is negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos or match.group(2).lower() not in _UNITS:
            raise ValueError(f"not a duration: {value!r} (use e.g. 48h, 3 days, 90s)")
        total += float(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {value!r} (use e.g. 48h, 3 days, 90s)")
    return total
