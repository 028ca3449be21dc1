"""Parsing and formatting of durations, times and rates."""

from __future__ import annotations

import datetime as dt

import pytest

from gopher_cli.durations import format_duration, parse_duration, parse_rate, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1500ms", 1.5),
        ("1h30m", 5400.0),
        ("2.5s", 2.5),
        ("45", 45.0),
        (" 10S ", 10.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration_accepts_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "s", "-5s", "-3", "5m30", "1h 30m", "nan"])
def test_parse_duration_rejects_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "250ms"),
        (42, "42s"),
        (60, "1m"),
        (303, "5m 3s"),
        (7800, "2h 10m"),
        (3 * 86400 + 4 * 3600, "3d 4h"),
        (-5, "-5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_parse_time_with_offset_and_z() -> None:
    assert parse_time("2025-01-31T09:00:00Z") == dt.datetime(2025, 1, 31, 9, tzinfo=dt.UTC)
    parsed = parse_time("2025-01-31 09:00+02:00")
    assert parsed.astimezone(dt.UTC) == dt.datetime(2025, 1, 31, 7, tzinfo=dt.UTC)


def test_parse_time_without_offset_uses_the_local_zone() -> None:
    zone = dt.timezone(dt.timedelta(hours=-5))
    parsed = parse_time("2025-01-31T09:00", local_zone=zone)
    assert parsed.astimezone(dt.UTC) == dt.datetime(2025, 1, 31, 14, tzinfo=dt.UTC)
    assert parse_time("2025-01-31T09:00").tzinfo is not None


def test_parse_time_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("tomorrow")


@pytest.mark.parametrize(
    ("text", "per_s"),
    [("10", 10.0), ("10/s", 10.0), ("600/m", 10.0), ("7200/h", 2.0), ("86400/d", 1.0)],
)
def test_parse_rate(text: str, per_s: float) -> None:
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize("text", ["", "fast", "10/x", "-1/s", "/s"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid rate"):
        parse_rate(text)
