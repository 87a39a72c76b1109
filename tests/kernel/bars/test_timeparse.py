"""Intervals and ISO-8601 timestamps to exact integer nanoseconds."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from kernel.bars import parse_interval, parse_timestamp

T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z


@pytest.mark.parametrize(("text", "ns"), [
    ("1m", 60_000_000_000), ("250ms", 250_000_000), ("1h", 3_600_000_000_000),
    ("1d", 86_400_000_000_000), ("15", 15), (" 5 s ", 5_000_000_000), (7, 7),
    ("2min", 120_000_000_000), ("3us", 3_000),
])
def test_parse_interval(text: str | int, ns: int) -> None:
    assert parse_interval(text) == ns


@pytest.mark.parametrize("text", ["0m", "1y", "m", "-1s", "1.5m", 0])
def test_bad_intervals(text: str | int) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_timestamps() -> None:
    assert parse_timestamp("2024-01-01T00:00:00Z", None) == T0
    assert parse_timestamp("2024-01-01T00:00:00.123456789+00:00", None) == T0 + 123_456_789
    assert parse_timestamp("2024-01-01 00:00:00.5", ZoneInfo("UTC")) == T0 + 500_000_000
    assert parse_timestamp("2023-12-31T19:00:00-05:00", None) == T0
    assert parse_timestamp("2024-01-01", ZoneInfo("UTC")) == T0
    # clocks go back in New York on 2024-11-03: 01:30 happens twice; the first is EDT
    assert parse_timestamp("2024-11-03T01:30:00", ZoneInfo("America/New_York")) == (
        parse_timestamp("2024-11-03T01:30:00-04:00", None))
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_timestamp("2024-01-01T00:00:00", None)
    with pytest.raises(ValueError, match="9 fractional"):
        parse_timestamp("2024-01-01T00:00:00.1234567891Z", None)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_timestamp("01/02/2024", None)


def test_format_helpers() -> None:
    from kernel.bars import format_duration, format_interval, format_iso

    assert format_interval(86_400_000_000_000) == "1d"
    assert format_interval(90_000_000_000) == "90s"
    assert format_interval(1_800_000_000_000) == "30m"
    assert format_duration(41 * 86_400_000_000_000 + 3_600_000_000_000) == "41 days 01:00:00"
    assert format_duration(1_500_000_000) == "00:00:01.5"
    assert format_iso(T0) == "2024-01-01T00:00:00+00:00"
    assert format_iso(T0 + 7, ZoneInfo("America/New_York")) == \
        "2023-12-31T19:00:00.000000007-05:00"
