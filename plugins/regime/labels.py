"""Stable, named regime labels across refits.

An HMM's likelihood does not change when its states are permuted, so every
fit returns them in an arbitrary order. After each fit:

1. the states are put in a canonical order: ascending volatility of the log
   return, ties by descending mean return (``canonical_order``);
2. if there is a previous model with the same states and features, they are
   matched to its states instead, with the Hungarian algorithm
   (``scipy.optimize.linear_sum_assignment``) on the symmetric Kullback-Leibler
   divergence between Gaussian emissions in raw feature space
   (``match_previous``), so label ``k`` means the same regime across refits;
3. each state is named from its emission statistics (``state_names``): its
   volatility rank (``LOW_VOL``...``HIGH_VOL``) and its drift relative to
   its volatility, when significant (``TRENDING_UP``, ``TRENDING_DOWN``,
   else ``RANGING``).

All functions work on raw-space emissions: ``means`` (K x D) and ``covars``
(K x D x D) of the features, un-standardised.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "TREND_Z",
    "VOL_NAMES",
    "canonical_order",
    "match_previous",
    "state_names",
    "stationary",
    "symmetric_kl",
]

Array = NDArray[np.float64]

#: Volatility names by rank, for each number of states.
VOL_NAMES: dict[int, tuple[str, ...]] = {
    2: ("LOW_VOL", "HIGH_VOL"),
    3: ("LOW_VOL", "MID_VOL", "HIGH_VOL"),
    4: ("LOW_VOL", "MID_LOW_VOL", "MID_HIGH_VOL", "HIGH_VOL"),
    5: ("LOW_VOL", "MID_LOW_VOL", "MID_VOL", "MID_HIGH_VOL", "HIGH_VOL"),
}


def canonical_order(means: Array, covars: Array, ret: int) -> list[int]:
    """Raw state indices sorted by volatility of feature ``ret``, ties by higher mean first."""
    vols = np.sqrt(covars[:, ret, ret])
    return sorted(range(len(means)), key=lambda k: (float(vols[k]), -float(means[k, ret]), k))


def symmetric_kl(m0: Array, s0: Array, m1: Array, s1: Array) -> float:
    """KL(N0 || N1) + KL(N1 || N0) between two Gaussians (invariant to affine rescaling)."""
    d = m1 - m0
    i0 = np.linalg.inv(s0)
    i1 = np.linalg.inv(s1)
    dim = len(m0)
    kl01 = np.trace(i1 @ s0) + d @ i1 @ d - dim
    kl10 = np.trace(i0 @ s1) + d @ i0 @ d - dim
    # The log-determinant terms cancel in the sum.
    return float(0.5 * (kl01 + kl10))


def match_previous(
    prev_means: Array, prev_covars: Array, means: Array, covars: Array
) -> list[int]:
    """``order`` such that new raw state ``order[k]`` is previous state ``k``.

    Minimises the total symmetric KL divergence between matched emissions.
    """
    k = len(means)
    cost = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            cost[i, j] = symmetric_kl(prev_means[i], prev_covars[i], means[j], covars[j])
    from scipy.optimize import linear_sum_assignment  # here: scipy takes ~1 s to import

    rows, cols = linear_sum_assignment(cost)
    order = [0] * k
    for i, j in zip(rows, cols, strict=True):
        order[int(i)] = int(j)
    return order


def stationary(transmat: Array) -> Array:
    """The stationary distribution ``pi = pi A`` of a transition matrix."""
    k = len(transmat)
    lhs = np.vstack([transmat.T - np.eye(k), np.ones(k)])
    rhs = np.concatenate([np.zeros(k), [1.0]])
    pi = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return np.asarray(pi / pi.sum(), dtype=np.float64)


#: A drift counts as a trend only this many standard errors from zero.
TREND_Z = 3.0


def state_names(means: Array, covars: Array, ret: int, trend_threshold: float,
                previous: list[str] | None = None, bars: Array | None = None) -> list[str]:
    """A name per state (in the given order): volatility rank, then trend.

    Trend: a state is ``TRENDING_UP`` (``TRENDING_DOWN``) when its drift per
    bar over its volatility, ``mean / vol`` of the log return, is above
    ``trend_threshold`` (below its negative) and, given ``bars`` (the bars
    the state holds in the training window), the drift is ``TREND_Z``
    standard errors from zero; otherwise ``RANGING``. With ``previous`` (the
    names of the matched states of the previous model) a trending state
    keeps its trend while its drift keeps its sign, and a ranging one needs
    twice the threshold, so estimation noise in a refit does not rename a
    regime. Volatility ranks make the names unique in a model.
    """
    k = len(means)
    vols = np.sqrt(covars[:, ret, ret])
    rank_of = {s: r for r, s in enumerate(canonical_order(means, covars, ret))}
    names = []
    for s in range(k):
        ratio = float(means[s, ret]) / float(vols[s]) if vols[s] > 0 else 0.0
        significant = bars is None or abs(ratio) * np.sqrt(max(float(bars[s]), 0.0)) > TREND_Z
        before = _trend_of(previous[s]) if previous is not None else None
        trend = _trend(ratio, trend_threshold, before, significant)
        names.append(f"{VOL_NAMES[k][rank_of[s]]}_{trend}")
    return names


_TRENDS = ("TRENDING_UP", "TRENDING_DOWN", "RANGING")


def _trend_of(name: str) -> str | None:
    return next((t for t in _TRENDS if name.endswith(t)), None)


def _trend(ratio: float, threshold: float, before: str | None, significant: bool) -> str:
    if before == "TRENDING_UP" and ratio > 0.0:
        return before
    if before == "TRENDING_DOWN" and ratio < 0.0:
        return before
    if not significant:
        return "RANGING"
    if before == "RANGING":
        threshold *= 2.0
    if ratio > threshold:
        return "TRENDING_UP"
    if ratio < -threshold:
        return "TRENDING_DOWN"
    return "RANGING"
