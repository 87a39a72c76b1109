from __future__ import annotations

import math

import numpy as np
import pytest

from plugins.regime.features import FeatureState, UnknownFeatureError


def test_log_return_and_realized_vol_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    fs = FeatureState(("log_return", "realized_vol"), 20)
    rows = [fs.update(float(c)) for c in closes]
    r = np.diff(np.log(closes))
    # Warm-up: a row once 20 returns exist (bar 21).
    assert rows[:20] == [None] * 20 and rows[20] is not None
    for t in range(20, 2000):
        ret, rv = rows[t]  # type: ignore[misc]
        assert ret == pytest.approx(r[t - 1], rel=1e-12, abs=1e-15)
        assert rv == pytest.approx(math.sqrt(np.mean(r[t - 20:t] ** 2)), rel=1e-9)


def test_feature_order_follows_the_config_and_a_row_uses_only_past_closes() -> None:
    a = FeatureState(("realized_vol", "log_return"), 3)
    b = FeatureState(("log_return",), 3)
    out_a = [a.update(c) for c in (1.0, 1.1, 1.0, 1.2, 1.3)]
    out_b = [b.update(c) for c in (1.0, 1.1, 1.0, 1.2, 1.3)]
    assert out_a[4] is not None and out_b[4] is not None
    assert out_a[4][1] == out_b[4][0] == math.log(1.3 / 1.2)
    # Changing a later close leaves every earlier row as it was.
    c = FeatureState(("realized_vol", "log_return"), 3)
    assert [c.update(x) for x in (1.0, 1.1, 1.0, 1.2, 9.9)][:4] == out_a[:4]


def test_state_round_trips() -> None:
    a = FeatureState(("log_return", "realized_vol"), 5)
    for c in (1.0, 1.01, 1.02, 0.99, 1.0, 1.05, 1.04):
        a.update(c)
    b = FeatureState(("log_return", "realized_vol"), 5)
    b.load(a.state())
    assert a.update(1.1) == b.update(1.1)


def test_unknown_feature_is_named() -> None:
    with pytest.raises(UnknownFeatureError, match="'vwap'"):
        FeatureState(("log_return", "vwap"), 5)
