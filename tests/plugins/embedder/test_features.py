from __future__ import annotations

import numpy as np
import pytest

from plugins.embedder.bars import BarArrays
from plugins.embedder.features import FeatureSpec, features, sliding_raw

SPEC = FeatureSpec(window=16, volume_window=10, rv_window=5)


def test_a_window_alone_equals_the_same_window_in_a_batch(arrays: BarArrays) -> None:
    raw = arrays.raw()
    ends = np.arange(SPEC.lookback - 1, 400)
    batch = features(sliding_raw(raw, SPEC.lookback, ends), SPEC)
    for i in (0, 7, 200, len(ends) - 1):
        alone = features(sliding_raw(raw, SPEC.lookback, ends[i:i + 1]), SPEC)
        assert alone[0].tobytes() == batch[i].tobytes()


def test_features_are_the_definitions(arrays: BarArrays) -> None:
    raw = arrays.raw()
    end = 100
    f = features(sliding_raw(raw, SPEC.lookback, np.array([end])), SPEC)[0]
    close, high, low = arrays.close, arrays.high, arrays.low
    assert f[0, -1] == pytest.approx(np.log(close[end] / close[end - 1]))
    assert f[1, -1] == pytest.approx(np.log(high[end] / low[end]))
    rets = np.log(close[end - 4:end + 1] / close[end - 5:end])
    assert f[3, -1] == pytest.approx(np.sqrt(np.mean(rets**2)))
    lv = np.log1p(arrays.volume[end - 9:end + 1])
    expected = (lv[-1] - lv.mean()) / lv.std() if lv.std() > 1e-9 else 0.0
    assert f[2, -1] == pytest.approx(expected, abs=1e-9)


def test_bars_after_the_window_do_not_change_its_features(arrays: BarArrays) -> None:
    raw = arrays.raw().copy()
    end = np.array([300])
    before = features(sliding_raw(raw, SPEC.lookback, end), SPEC)
    raw[301:] *= 1.7
    after = features(sliding_raw(raw, SPEC.lookback, end), SPEC)
    assert before.tobytes() == after.tobytes()


def test_wrong_shape_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"\[B, 26, 4\]"):
        features(np.ones((1, 10, 4)), SPEC)
