"""The hand-written filter against a numpy reference of the same recursion."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from contracts import RegimeModelFitted
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


# -- a K = 2 model checked by hand ----------------------------------------------------------
# Two unit-variance states at 0 and 2: b_0(x) / b_1(x) = exp(2 - 2x), so x = 1 says
# nothing and x = 0 favours state 0 by e^2. A = [[0.9, 0.1], [0.2, 0.8]].
A2 = [[0.9, 0.1], [0.2, 0.8]]


def test_two_state_filter_by_hand() -> None:
    filt = ForwardFilter(hand_model([[0.0], [2.0]], [[[1.0]], [[1.0]]], A2))
    a1 = filt.step(None, [1.0])
    assert a1 == pytest.approx([0.5, 0.5], abs=1e-15)  # the start, untouched
    a2 = filt.step(a1, [1.0])
    assert a2 == pytest.approx([0.55, 0.45], abs=1e-15)  # one step of A
    a3 = filt.step(a2, [0.0])
    # predicted [0.585, 0.415], then weighted e^2 : 1
    p0 = 0.585 * math.exp(2.0) / (0.585 * math.exp(2.0) + 0.415)
    assert a3 == pytest.approx([p0, 1.0 - p0], rel=1e-13)
    assert a3[0] == pytest.approx(0.9124029, abs=1e-7)  # 4.3225978 / 4.7375978
    a4 = filt.step(a3, [3.0])
    q0 = a3[0] * 0.9 + a3[1] * 0.2
    r0 = q0 * math.exp(-4.0) / (q0 * math.exp(-4.0) + (1.0 - q0))
    assert a4 == pytest.approx([r0, 1.0 - r0], rel=1e-13)
    np.testing.assert_allclose(filt.run([[1.0], [1.0], [0.0], [3.0]]), [a1, a2, a3, a4],
                               rtol=1e-15)
    np.testing.assert_allclose(filt.run([[0.0]], alpha=a2), [a3], rtol=1e-15)


def test_two_states_with_different_variances_weigh_the_density_norm() -> None:
    # at x = 2: b_0 / b_1 = (e^-2 / 1) / (e^-0.5 / 2) = 2 e^-1.5
    filt = ForwardFilter(hand_model([[0.0], [0.0]], [[[1.0]], [[4.0]]], A2, [0.5, 0.5]))
    w = 2.0 * math.exp(-1.5)
    assert filt.step(None, [2.0]) == pytest.approx([w / (w + 1.0), 1.0 / (w + 1.0)],
                                                   rel=1e-13)


def test_standardisation_is_folded_into_the_emissions() -> None:
    unit = ForwardFilter(hand_model([[0.0], [2.0]], [[[1.0]], [[1.0]]], A2))
    model = hand_model([[0.0], [2.0]], [[[1.0]], [[1.0]]], A2)
    scaled = ForwardFilter(type(model)(**{
        **{f: getattr(model, f) for f in model.__struct_fields__},
        "feature_mean": [0.001], "feature_std": [0.01]}))
    zs = [[1.0], [0.0], [3.0], [-1.0]]
    raw = [[0.001 + 0.01 * z[0]] for z in zs]
    np.testing.assert_allclose(scaled.run(raw), unit.run(zs), rtol=1e-9)


def test_two_correlated_features_use_the_cross_term() -> None:
    # both covariances [[1, .5], [.5, 1]]: precision 4/3 on the diagonal, -2/3 off it
    cov = [[1.0, 0.5], [0.5, 1.0]]
    model = hand_model([[0.0, 0.0], [1.0, 1.0]], [cov, cov], A2, [0.25, 0.75],
                       features=("log_return", "realized_vol"))
    filt = ForwardFilter(model)
    # x = (1, -1): quadratic forms 4 (state 0) and 16/3 (state 1): b0 / b1 = e^(2/3)
    w = 0.25 * math.exp(2.0 / 3.0)
    assert filt.step(None, [1.0, -1.0]) == pytest.approx([w / (w + 0.75), 0.75 / (w + 0.75)],
                                                         rel=1e-13)
    # x = (1, 1): forms 4/3 and 0: b0 / b1 = e^(-2/3)
    w = 0.25 * math.exp(-2.0 / 3.0)
    assert filt.step(None, [1.0, 1.0]) == pytest.approx([w / (w + 0.75), 0.75 / (w + 0.75)],
                                                        rel=1e-13)
    generic = ForwardFilter(model, unrolled=False)
    assert generic.step(None, [1.0, 1.0]) == pytest.approx(filt.step(None, [1.0, 1.0]),
                                                           rel=1e-15)


def test_a_row_impossible_under_every_predicted_state_restarts_from_the_emissions() -> None:
    # Identity transitions from state 0; x = 100 is 950 nats likelier under state 1
    # (exp underflows to 0): the filter restarts instead of dividing by zero.
    filt = ForwardFilter(hand_model([[0.0], [10.0]], [[[1.0]], [[1.0]]],
                                    [[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0]))
    assert filt.step(None, [100.0]) == [0.0, 1.0]
    assert filt.step(None, [0.0]) == [1.0, 0.0]


# -- the unrolled three-state paths at their numeric edges ----------------------------------
def _three(d: int, means: list[float], transmat: list[list[float]] | None = None,
           start: list[float] | None = None) -> RegimeModelFitted:
    eye = [[1.0 if i == j else 0.0 for j in range(d)] for i in range(d)]
    return hand_model([[m] * d for m in means], [eye, eye, eye],
                      transmat or [[1 / 3] * 3] * 3, start,
                      features=("log_return", "realized_vol", "x")[:d])


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("unrolled", [True, False])
def test_three_states_restart_when_every_predicted_state_is_impossible(d: int,
                                                                      unrolled: bool) -> None:
    # stuck in state 0 (identity transitions); x is ~950 d nats likelier under the two
    # equal states 1 and 2: the restart splits the posterior between them
    eye3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    filt = ForwardFilter(_three(d, [0.0, 10.0, 10.0], eye3, [1.0, 0.0, 0.0]), unrolled=unrolled)
    assert filt.k == 3
    assert filt.step(None, [100.0] * d) == [0.0, 0.5, 0.5]


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("x", [0.0, 50.0, 100.0])
def test_three_states_far_apart_neither_overflow_nor_underflow(d: int, x: float) -> None:
    # log-densities 1250 d nats apart: only the shift by the largest keeps exp finite
    filt = ForwardFilter(_three(d, [0.0, 50.0, 100.0]))
    alpha = filt.step(None, [x] * d)
    assert alpha == [1.0 if m == x else 0.0 for m in (0.0, 50.0, 100.0)]
    assert filt.step(alpha, [x] * d) == alpha


def test_an_outlier_after_the_first_step_keeps_the_prediction() -> None:
    filt = ForwardFilter(hand_model([[0.0], [2.0]], [[[1.0]], [[1.0]]], A2))
    a2 = [0.55, 0.45]
    # x = 40: b_0 / b_1 = exp(2 - 80) = e^-78, weighted by the prediction [0.585, 0.415]
    w = 0.585 * math.exp(-78.0)
    got = filt.step(a2, [40.0])
    assert got == pytest.approx([w / (w + 0.415), 0.415 / (w + 0.415)], rel=1e-12, abs=0)
    assert 1e-34 < got[0] < 1e-33  # tiny, not zero: still the filtered posterior
