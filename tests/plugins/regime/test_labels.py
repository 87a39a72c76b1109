from __future__ import annotations

import itertools

import numpy as np

from plugins.regime.labels import canonical_order, match_previous, state_names, symmetric_kl


def _emissions(order: list[int]):  # type: ignore[no-untyped-def]
    means = np.array([[0.001, 0.004], [0.0, 0.01], [-0.002, 0.02]])[order]
    covars = np.array([np.diag([s * s, 1e-6]) for s in (0.005, 0.01, 0.02)])[order]
    return means, covars


def test_canonical_order_is_by_volatility_then_higher_mean() -> None:
    means, covars = _emissions([2, 0, 1])
    assert canonical_order(means, covars, 0) == [1, 2, 0]
    tied_means = np.array([[0.0], [0.002], [-0.001]])
    tied = np.array([[[1e-4]], [[1e-4]], [[1e-4]]])
    assert canonical_order(tied_means, tied, 0) == [1, 0, 2]


def test_hungarian_matching_undoes_any_permutation() -> None:
    prev_means, prev_covars = _emissions([0, 1, 2])
    for perm in itertools.permutations(range(3)):
        means, covars = _emissions(list(perm))
        # Slightly perturbed refit: the same regimes, other numbers.
        means = means * 1.05
        order = match_previous(prev_means, prev_covars, means, covars)
        np.testing.assert_allclose(means[order] / 1.05, prev_means)


def test_symmetric_kl_is_zero_for_equal_and_invariant_to_rescaling() -> None:
    m, s = np.array([0.1, 2.0]), np.array([[1.0, 0.2], [0.2, 3.0]])
    assert symmetric_kl(m, s, m, s) == 0.0
    m2, s2 = np.array([0.3, 1.0]), np.array([[2.0, 0.0], [0.0, 1.0]])
    scale = np.diag([10.0, 0.1])
    a = symmetric_kl(m, s, m2, s2)
    b = symmetric_kl(scale @ m, scale @ s @ scale, scale @ m2, scale @ s2 @ scale)
    assert abs(a - b) < 1e-9 * a


def test_names_from_volatility_rank_and_drift() -> None:
    means, covars = _emissions([0, 1, 2])
    assert state_names(means, covars, 0, 0.05) == [
        "LOW_VOL_TRENDING_UP", "MID_VOL_RANGING", "HIGH_VOL_TRENDING_DOWN"]
    means2, covars2 = _emissions([2, 0])  # two states, high vol first
    assert state_names(means2, covars2, 0, 0.05) == [
        "HIGH_VOL_TRENDING_DOWN", "LOW_VOL_TRENDING_UP"]
    k5 = np.array([[0.0]] * 5)
    c5 = np.array([[[v]] for v in (5.0, 1.0, 4.0, 2.0, 3.0)])
    assert [n.removesuffix("_RANGING") for n in state_names(k5, c5, 0, 0.05)] == [
        "HIGH_VOL", "LOW_VOL", "MID_HIGH_VOL", "MID_LOW_VOL", "MID_VOL"]


def test_hysteresis_keeps_a_trend_until_it_clearly_changes() -> None:
    covars = np.array([[[1.0]]] * 2)
    def names(mean: float, before: str | None) -> str:
        means = np.array([[mean], [0.0]])
        prev = None if before is None else [before, "HIGH_VOL_RANGING"]
        return state_names(means, covars * np.array([[[1.0]], [[4.0]]]), 0, 0.05, prev)[0]
    assert names(0.07, None) == "LOW_VOL_TRENDING_UP"
    assert names(0.07, "LOW_VOL_RANGING") == "LOW_VOL_RANGING"  # needs 2x the threshold
    assert names(0.11, "LOW_VOL_RANGING") == "LOW_VOL_TRENDING_UP"
    assert names(0.01, "LOW_VOL_TRENDING_UP") == "LOW_VOL_TRENDING_UP"  # until it crosses 0
    assert names(-0.01, "LOW_VOL_TRENDING_UP") == "LOW_VOL_RANGING"
    assert names(-0.2, "LOW_VOL_TRENDING_UP") == "LOW_VOL_TRENDING_DOWN"
