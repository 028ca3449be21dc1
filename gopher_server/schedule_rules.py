"""Cron rules: parsing and next-tick computation (croniter for 5-field expressions)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from gopher_server.errors import InvalidArgument

_EVERY = re.compile(r"^@every\s+(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 1.0
MAX_ZONE_NAME = 64  # the longest IANA zone name is about 30 characters


def zone(name: str) -> ZoneInfo:
    """The IANA zone for `name` ('' means UTC)."""
    # ZoneInfo looks the name up as a file: a name longer than any zone's would fail
    # with an OSError (name too long) rather than "not found".
    try:
        if len(name) > MAX_ZONE_NAME:
            raise ValueError(name)
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        shown = name if len(name) <= MAX_ZONE_NAME else name[:MAX_ZONE_NAME] + "..."
        raise InvalidArgument(
            f"timezone {shown!r} is not an IANA time zone", "schedule.timezone"
        ) from None


def interval_s(rule: str) -> float | None:
    """Seconds of an "@every <n><unit>" rule, or None for a cron expression."""
    match = _EVERY.match(rule.strip())
    if not match:
        return None
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def validate(rule: str, tz: str) -> None:
    """Raise InvalidArgument unless `rule` is a 5-field cron or an @every interval."""
    zone(tz)
    every = interval_s(rule)
    if every is not None:
        if every < MIN_INTERVAL_S:
            raise InvalidArgument("an @every interval must be at least 1s", "schedule.cron")
        return
    if len(rule.split()) != 5 or not croniter.is_valid(rule):
        raise InvalidArgument(
            f"cron {rule!r} is not a 5-field cron expression or '@every <n>s|m|h|d'",
            "schedule.cron",
        )


def next_tick_ms(rule: str, tz: str, after_ms: int) -> int:
    """The first tick strictly after `after_ms` (Unix ms). Intervals tick on multiples
    of their length since the epoch, so every broker computes the same ticks."""
    every = interval_s(rule)
    if every is not None:
        step = int(every * 1000)
        return (after_ms // step + 1) * step
    start = dt.datetime.fromtimestamp(after_ms / 1000, tz=zone(tz))
    nxt: dt.datetime = croniter(rule, start).get_next(dt.datetime)
    return int(nxt.timestamp() * 1000)


def latest_tick_ms(rule: str, tz: str, at_ms: int) -> int:
    """The last tick at or before `at_ms` (Unix ms)."""
    every = interval_s(rule)
    if every is not None:
        step = int(every * 1000)
        return (at_ms // step) * step
    # get_prev is strictly before its start, so start just after `at_ms` to include it.
    start = dt.datetime.fromtimestamp((at_ms + 1) / 1000, tz=zone(tz))
    prev: dt.datetime = croniter(rule, start).get_prev(dt.datetime)
    return int(prev.timestamp() * 1000)
