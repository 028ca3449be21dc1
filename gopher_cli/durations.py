"""Parsing of the human-friendly values operators type: durations, times and rates."""

from __future__ import annotations

import datetime as dt
import re

# Seconds per unit. Weeks are included because DLQ retention is often counted in them.
_UNIT_S: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_RATE_UNIT_S: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_HINT = "use a number with a unit, e.g. 1500ms, 30s, 5m, 2h, 1d or 1h30m"


def parse_duration(text: str) -> float:
    """Parse "30s", "5m", "2h", "1d", "1500ms", "1h30m" or a bare number of seconds.

    Returns seconds as a float. Raises ValueError with a hint for anything else,
    including negative or empty values.
    """
    value = text.strip().lower()
    if not value:
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds < 0 or seconds != seconds:  # NaN is not a duration either
            raise ValueError(f"invalid duration {text!r}: must not be negative")
        return seconds
    position = 0
    total_s = 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total_s += float(match.group(1)) * _UNIT_S[match.group(2)]
        position = match.end()
    if position != len(value):
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    return total_s


def format_duration(seconds: float) -> str:
    """Render seconds compactly for tables: "850ms", "42s", "5m 3s", "2h 10m", "3d 4h"."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def parse_time(text: str, local_zone: dt.tzinfo | None = None) -> dt.datetime:
    """Parse an ISO 8601 time ("2025-01-31T09:00:00Z", "2025-01-31 09:00+02:00").

    A time without an offset is read in `local_zone` (None: this machine's zone), as a
    person typing it would expect. Returns an aware datetime. Raises ValueError.
    """
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use ISO 8601, e.g. 2025-01-31T09:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        if local_zone is None:
            return parsed.astimezone()  # interprets the naive time as local
        parsed = parsed.replace(tzinfo=local_zone)
    return parsed


def parse_rate(text: str) -> float:
    """Parse a rate as events per second: "10", "10/s", "600/m", "1000/h", "5000/d".

    Raises ValueError for negative or malformed rates.
    """
    value = text.strip().lower()
    number, _, unit = value.partition("/")
    unit_s = _RATE_UNIT_S.get(unit or "s")
    try:
        count = float(number)
    except ValueError:
        count = -1.0
    if unit_s is None or count < 0 or count != count:
        raise ValueError(f"invalid rate {text!r}: use a number per unit, e.g. 10/s, 600/m, 1000/h")
    return count / unit_s
