from __future__ import annotations

import math

import numpy as np
import pytest

from kernel.testing.regimes import THREE_REGIMES, oracle_filter, switching_bars


def test_series_is_seeded_and_its_returns_are_the_closes() -> None:
    a = switching_bars(THREE_REGIMES, 2000, seed=3)
    b = switching_bars(THREE_REGIMES, 2000, seed=3)
    assert a.bars == b.bars and a.states == b.states
    closes = [100.0] + [float(bar.close) for bar in a.bars]
    for t in (0, 1, 500, 1999):
        assert math.log(closes[t + 1] / closes[t]) == pytest.approx(a.returns[t], abs=1e-12)
    assert all(bar.high == max(bar.open, bar.close) and bar.low == min(bar.open, bar.close)
               for bar in a.bars)
    pairs = zip(a.bars, a.bars[1:], strict=False)
    assert all(later.open == earlier.close for earlier, later in pairs)


def test_states_follow_the_chain_and_each_state_its_gaussian() -> None:
    s = switching_bars(THREE_REGIMES, 60_000, seed=4)
    states = np.array(s.states)
    r = np.array(s.returns)
    stays = np.mean(states[1:] == states[:-1])
    assert 0.99 < stays < 0.997
    for k in range(3):
        assert abs(r[states == k].std() - THREE_REGIMES.vols[k]) < 0.1 * THREE_REGIMES.vols[k]


def test_oracle_filter_is_a_distribution_and_beats_chance() -> None:
    s = switching_bars(THREE_REGIMES, 5000, seed=5)
    post = np.array(oracle_filter(THREE_REGIMES, s.returns))
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    assert np.mean(post.argmax(axis=1) == np.array(s.states)) > 0.9
