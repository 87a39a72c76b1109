"""Seeded synthetic series: determinism, OHLC consistency, true regimes."""

from __future__ import annotations

import itertools
import math
import statistics
from decimal import Decimal as D

import pytest

from plugins.marketdata import (
    DEFAULT_START_NS,
    Regime,
    iter_random_walk,
    random_walk,
    regime_switching,
)

MIN = 60_000_000_000


def test_random_walk_is_deterministic_for_a_seed() -> None:
    assert random_walk(7, 200) == random_walk(7, 200)
    assert random_walk(7, 200) != random_walk(8, 200)
    assert list(iter_random_walk(7, 50)) == random_walk(7, 50)


def test_random_walk_shape_and_precision() -> None:
    bars = random_walk(1, 500, start_price=D("50"), vol=0.02, interval="5m",
                       instrument="ABC", start_ns=1_000, precision=D("0.05"))
    assert len(bars) == 500
    assert bars[0].open == D("50.00")
    for i, b in enumerate(bars):
        assert b.instrument == "ABC"
        assert b.open_ts == 1_000 + i * 5 * MIN and b.ts == b.open_ts + 5 * MIN
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.low >= D("0.05")
        for p in (b.open, b.high, b.low, b.close):
            assert p % D("0.05") == 0
        assert b.volume > 0
    for prev, cur in itertools.pairwise(bars):
        assert cur.open == prev.close
    assert len({b.id for b in bars}) == 500


def test_random_walk_vol_is_what_was_asked() -> None:
    bars = random_walk(3, 4000, vol=0.01, precision=D("0.0001"))
    rets = [math.log(float(b.close) / float(b.open)) for b in bars]
    assert statistics.stdev(rets) == pytest.approx(0.01, rel=0.05)


def test_regime_switching_returns_true_regimes() -> None:
    series = regime_switching(11, 3000, stay=0.99)
    assert series.labels == ("bull", "bear")
    assert len(series.bars) == len(series.regimes) == 3000
    assert series.regimes[0] == 0
    assert set(series.regimes) == {0, 1}
    switches = sum(a != b for a, b in zip(series.regimes, series.regimes[1:], strict=False))
    assert 10 <= switches <= 60  # ~ 3000 * 0.01
    by_regime: dict[int, list[float]] = {0: [], 1: []}
    for bar, r in zip(series.bars, series.regimes, strict=True):
        by_regime[r].append(math.log(float(bar.close) / float(bar.open)))
    assert statistics.stdev(by_regime[1]) > 2 * statistics.stdev(by_regime[0])
    assert regime_switching(11, 3000, stay=0.99) == series


def test_regime_switching_custom_chain() -> None:
    regimes = (Regime("a", 0.0, 0.001), Regime("b", 0.0, 0.001), Regime("c", 0.0, 0.001))
    stuck = regime_switching(5, 100, regimes=regimes, stay=1.0, start_regime=2)
    assert stuck.regimes == [2] * 100
    cycle = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    s = regime_switching(5, 7, regimes=regimes, transition=cycle)
    assert s.regimes == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="summing to 1"):
        regime_switching(5, 7, regimes=regimes, transition=[[0.5, 0.4, 0.0]] * 3)
    with pytest.raises(ValueError, match="3x3"):
        regime_switching(5, 7, regimes=regimes, transition=[[1.0]])


def test_defaults() -> None:
    (bar,) = random_walk(0, 1)
    assert bar.open_ts == DEFAULT_START_NS and bar.interval_ns == MIN
    assert bar.instrument == "SYN" and bar.open == D("100.00")
    with pytest.raises(ValueError):
        random_walk(0, 1, start_price=D(0))
