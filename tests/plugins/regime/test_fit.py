"""Accuracy against an oracle: a fitted model's filtered regimes vs the true-parameter filter."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

from kernel.testing.regimes import THREE_REGIMES, oracle_filter, switching_bars
from plugins.regime.features import FeatureState
from plugins.regime.fit import FitError
from plugins.regime.forward import ForwardFilter

from .helpers import model_from

pytestmark = pytest.mark.timeout(240)

N, TRAIN = 30_000, 20_000


def _smoothed(model: Any, rows: np.ndarray) -> np.ndarray:
    """Forward-backward posteriors (look-ahead) of the same model, via hmmlearn."""
    from hmmlearn.hmm import GaussianHMM

    hmm = GaussianHMM(n_components=model.n_states, covariance_type="full")
    hmm.startprob_ = np.asarray(model.startprob)
    hmm.transmat_ = np.asarray(model.transmat)
    hmm.means_ = np.asarray(model.means)
    hmm.covars_ = np.asarray(model.covars)
    xs = (rows - np.asarray(model.feature_mean)) / np.asarray(model.feature_std)
    return np.asarray(hmm.predict_proba(xs))


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    return switching_bars(THREE_REGIMES, N, seed=7)


def _scores(series: Any, features: tuple[str, ...]) -> dict[str, float]:
    fs = FeatureState(features, 20)
    rows, bar_index = [], []
    for i, bar in enumerate(series.bars):
        row = fs.update(float(bar.close))
        if row is not None:
            rows.append(row)
            bar_index.append(i)
    x = np.array(rows)
    idx = np.array(bar_index)
    train, test = idx < TRAIN, idx >= TRAIN
    model = model_from(x[train], features=features, n_init=3)
    truth = np.array(series.states)
    filtered = np.argmax(ForwardFilter(model).run(x.tolist()), axis=1)
    oracle = np.argmax(oracle_filter(THREE_REGIMES, series.returns), axis=1)
    smoothed = np.argmax(_smoothed(model, x[test]), axis=1)
    return {
        "oracle": float(np.mean(oracle[TRAIN:] == truth[TRAIN:])),
        "filtered": float(np.mean(filtered[test] == truth[idx[test]])),
        "smoothed": float(np.mean(smoothed == truth[idx[test]])),
    }


def test_filtered_regimes_score_within_a_point_of_the_oracle(series) -> None:  # type: ignore[no-untyped-def]
    s = _scores(series, ("log_return",))
    print(f"\nregime accuracy, log_return (test span {N - TRAIN} bars): oracle "
          f"{s['oracle']:.4f}, fitted + filtered {s['filtered']:.4f}, smoothed (look-ahead) "
          f"{s['smoothed']:.4f}", file=sys.stderr)
    assert s["oracle"] > 0.9
    assert abs(s["filtered"] - s["oracle"]) <= 0.01
    # No causal filter beats the true-parameter filter by more than noise: a score
    # well above it means look-ahead, and this check catches it, as it would the
    # smoothed posteriors of the very same model.
    assert s["filtered"] <= s["oracle"] + 0.01
    assert s["smoothed"] > s["oracle"] + 0.01


def test_realized_vol_is_measured_not_assumed(series) -> None:  # type: ignore[no-untyped-def]
    """Rolling realized volatility re-counts past returns: on a Markov-switching series
    it lags each switch and scores below returns alone (why it is not a default)."""
    s = _scores(series, ("log_return", "realized_vol"))
    print(f"\nregime accuracy, log_return + realized_vol: oracle {s['oracle']:.4f}, "
          f"fitted + filtered {s['filtered']:.4f}, smoothed {s['smoothed']:.4f}",
          file=sys.stderr)
    assert s["filtered"] <= s["oracle"] + 0.01  # still no look-ahead
    assert s["filtered"] < s["oracle"] - 0.005


def test_labels_come_out_in_canonical_order(series) -> None:  # type: ignore[no-untyped-def]
    fs = FeatureState(("log_return",), 20)
    rows = [r for r in (fs.update(float(b.close)) for b in series.bars[:8000]) if r]
    model = model_from(rows, n_init=2)
    assert model.labels == ["LOW_VOL_TRENDING_UP", "MID_VOL_RANGING", "HIGH_VOL_TRENDING_DOWN"]
    vols = [np.sqrt(c[0][0]) * model.feature_std[0] for c in model.covars]
    assert vols == sorted(vols)
    assert sorted(model.permutation) == [0, 1, 2]
    np.testing.assert_allclose(np.sum(model.transmat, axis=1), 1.0)
    assert model.libraries["hmmlearn"] and model.n_init == 2 and model.train_bars == len(rows)


def test_a_fit_on_constant_prices_is_a_clear_error() -> None:
    with pytest.raises(FitError, match="constant"):
        model_from([[0.0]] * 500)
    with pytest.raises(FitError, match="at least 30"):
        model_from([[0.01], [0.02]])


def test_the_same_data_and_seed_give_the_same_model_bytes(series) -> None:  # type: ignore[no-untyped-def]
    from contracts import encode

    fs = FeatureState(("log_return",), 20)
    rows = [r for r in (fs.update(float(b.close)) for b in series.bars[:3000]) if r]
    assert encode(model_from(rows, seed=5)) == encode(model_from(rows, seed=5))
