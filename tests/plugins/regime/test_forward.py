"""The hand-written filter against a numpy reference of the same recursion."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from plugins.regime.forward import ForwardFilter

from .helpers import hand_model


def _random_model(k: int, d: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    means = rng.normal(0, 1, (k, d)).tolist()
    covars = []
    for _ in range(k):
        a = rng.normal(0, 0.5, (d, d))
        covars.append((a @ a.T + 0.3 * np.eye(d)).tolist())
    t = rng.random((k, k)) + np.eye(k) * 5
    t /= t.sum(axis=1, keepdims=True)
    start = rng.random(k)
    return hand_model(means, covars, t.tolist(), (start / start.sum()).tolist(),
                      features=("log_return", "realized_vol", "x")[:d])


def _reference(model, xs):  # type: ignore[no-untyped-def]
    a_mat = np.asarray(model.transmat)
    out, alpha = [], None
    for x in xs:
        b = np.array([multivariate_normal(m, c).pdf(x)
                      for m, c in zip(model.means, model.covars, strict=True)])
        pred = np.asarray(model.startprob) if alpha is None else alpha @ a_mat
        alpha = pred * b / (pred * b).sum()
        out.append(alpha)
    return np.array(out)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_filter_equals_the_reference_recursion(k: int, d: int) -> None:
    rng = np.random.default_rng(10 * k + d)
    model = _random_model(k, d, rng)
    xs = rng.normal(0, 1.5, (200, d))
    got = np.array(ForwardFilter(model).run(xs.tolist()))
    np.testing.assert_allclose(got, _reference(model, xs), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)


def test_unrolled_three_state_paths_equal_the_generic_one() -> None:
    rng = np.random.default_rng(3)
    for d in (1, 2, 3):
        model = _random_model(3, d, rng)
        xs = rng.normal(0, 1, (300, d)).tolist()
        fast = np.array(ForwardFilter(model).run(xs))
        slow = np.array(ForwardFilter(model, unrolled=False).run(xs))
        np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-300)


def test_an_outlier_does_not_underflow_and_standardisation_is_folded_in() -> None:
    model = hand_model([[0.0], [0.0]], [[[1.0]], [[4.0]]], [[0.9, 0.1], [0.1, 0.9]])
    model = type(model)(**{**{f: getattr(model, f) for f in model.__struct_fields__},
                           "feature_mean": [0.001], "feature_std": [0.01]})
    filt = ForwardFilter(model)
    alpha = filt.step(None, [0.001 + 0.01 * 1e3])  # 1000 standard deviations out
    assert alpha[1] == pytest.approx(1.0) and np.isfinite(alpha).all()
    # x = mean is most likely under the narrow state
    alpha = filt.step(None, [0.001])
    assert alpha[0] > alpha[1]
