"""The data's calendar: the typical interval, and bars per year from its own sessions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kernel.bars import infer_interval, load_bars, measure_calendar

CASES = Path(__file__).resolve().parents[2] / "data" / "bars" / "cases"
DAY = 86_400_000_000_000
HOUR = 3_600_000_000_000
MONDAY = 1_704_067_200_000_000_000  # 2024-01-01, a Monday


def weekdays(n_days: int, start: int = MONDAY) -> np.ndarray:  # type: ignore[type-arg]
    days = [start + k * DAY for k in range(n_days * 7 // 5 + 7)
            if ((start + k * DAY) // DAY + 3) % 7 < 5]
    return np.array(days[:n_days], dtype=np.int64)


def test_case_daily_from_friday() -> None:
    """Case 16: 1-day bars (not 3-day), Monday's bar closes Tuesday, ~252 a year, stated."""
    bars = load_bars(CASES / "16-daily-from-friday.csv")
    d = bars.single()
    assert d.interval_ns == DAY
    monday = next(b for b in bars.events() if b.open_ts == 1_704_672_000_000_000_000)
    assert monday.ts == 1_704_758_400_000_000_000  # 2024-01-09T00:00Z
    assert bars.calendar.bars_per_year == 252
    assert "252" in bars.calendar.describe() and "interval 1d" in bars.calendar.describe()


def test_interval_is_the_most_frequent_gap_not_the_first() -> None:
    ts = weekdays(30, start=MONDAY + 4 * DAY)  # starts on a Friday
    assert infer_interval(ts)[0] == DAY  # type: ignore[index]
    assert infer_interval(ts[:1]) is None


def test_equities_over_years_count_their_holidays() -> None:
    ts = weekdays(3 * 261)
    ts = np.delete(ts, np.arange(0, ts.size, 29))  # ~9 holidays a year
    cal = measure_calendar(ts, DAY, zone="UTC")
    assert 245 < cal.bars_per_year < 255 and "measured" in cal.basis


def test_crypto_trades_every_day() -> None:
    ts = MONDAY + np.arange(400, dtype=np.int64) * DAY
    assert measure_calendar(ts, DAY).bars_per_year == pytest.approx(365.25, abs=0.5)
    short = MONDAY + np.arange(30, dtype=np.int64) * DAY
    assert measure_calendar(short, DAY).bars_per_year == pytest.approx(365.25, abs=0.5)


def test_intraday_bars_per_session_are_counted() -> None:
    """30-minute equity bars: 13 a session, ~252 x 13 a year (not 24/7's 17,532)."""
    session = np.arange(13, dtype=np.int64) * 1_800_000_000_000 + 14 * HOUR + HOUR // 2
    ts = (weekdays(60)[:, None] + session[None, :]).ravel()
    cal = measure_calendar(ts, 1_800_000_000_000)
    assert cal.bars_per_session == 13 and cal.bars_per_year == 252 * 13
    assert np.sqrt(17_532 / cal.bars_per_year) == pytest.approx(2.32, abs=0.01)
    year = (weekdays(300)[:, None] + session[None, :]).ravel()
    measured = measure_calendar(year, 1_800_000_000_000)
    assert measured.bars_per_year == pytest.approx(261 * 13, rel=0.02)


def test_fx_round_the_clock_weekdays() -> None:
    minutes = np.arange(1440, dtype=np.int64) * 60_000_000_000
    ts = (weekdays(20)[:, None] + minutes[None, :]).ravel()
    cal = measure_calendar(ts, 60_000_000_000)
    assert cal.bars_per_year == pytest.approx(5 * 365.25 / 7 * 1440)


def test_weekly_bars() -> None:
    ts = MONDAY + np.arange(10, dtype=np.int64) * 7 * DAY
    assert measure_calendar(ts, 7 * DAY).bars_per_year == pytest.approx(365.25 / 7)
