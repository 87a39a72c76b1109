"""Online inference: the scaled forward recursion, one bar at a time, by hand.

For a Gaussian HMM with start distribution ``pi``, transition matrix ``A``
and emission densities ``b_j(x)``, the filtered posterior
``alpha_t(j) = p(z_t = j | x_1..t)`` is (Rabiner 1989, section V.A, the
scaled forward variable; Hamilton 1989's filter)::

    alpha_1(j) ∝ pi_j b_j(x_1)
    alpha_t(j) ∝ (sum_i alpha_{t-1}(i) A_ij) b_j(x_t)       normalised to sum 1

It uses only ``x_1..x_t``: no smoothing, no Viterbi, nothing from after ``t``
(hmmlearn's ``predict``/``predict_proba`` use the whole sequence). Emission
log-densities are shifted by their maximum before ``exp`` so an outlier
cannot underflow every state. Written in plain Python floats, specialised
for one and two features: a step costs about a microsecond for K = 3.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import numpy as np

from contracts import RegimeModelFitted

__all__ = ["ForwardFilter"]

_LOG_2PI = math.log(2.0 * math.pi)


class ForwardFilter:
    """The filter of one model; ``step(alpha_prev, x)`` returns ``alpha_t``.

    ``x`` is the raw (un-standardised) feature row; the model's training
    standardisation is folded into the emission parameters.
    """

    __slots__ = ("k", "startprob", "step", "transmat")

    def __init__(self, model: RegimeModelFitted, *, unrolled: bool = True) -> None:
        k = model.n_states
        fm = np.asarray(model.feature_mean, dtype=np.float64)
        fs = np.asarray(model.feature_std, dtype=np.float64)
        means = [fm + fs * np.asarray(m, dtype=np.float64) for m in model.means]
        covs = [np.outer(fs, fs) * np.asarray(c, dtype=np.float64) for c in model.covars]
        precisions = [np.linalg.inv(c) for c in covs]
        dim = len(fm)
        lognorm = [
            -0.5 * (dim * _LOG_2PI + float(np.linalg.slogdet(c)[1])) for c in covs
        ]
        self.k = k
        self.startprob = [float(p) for p in model.startprob]
        self.transmat = [[float(p) for p in row] for row in model.transmat]
        logb = _emissions(dim, [[float(v) for v in m] for m in means],
                          [[[float(v) for v in row] for row in p] for p in precisions], lognorm)
        if not unrolled:  # the generic loops (tests compare the two)
            self.step = _stepper(k, self.startprob, self.transmat, logb, unrolled=False)
        elif k == 3 and dim == 1:
            self.step = _stepper3_1(self.startprob, self.transmat, [float(m[0]) for m in means],
                                    [float(p[0][0]) for p in precisions], lognorm)
        else:
            self.step = _stepper(k, self.startprob, self.transmat, logb)

    def run(self, rows: Sequence[Sequence[float]],
            alpha: list[float] | None = None) -> list[list[float]]:
        """Filter a whole sequence (tests, reports): the posterior after each row."""
        out = []
        step = self.step
        for x in rows:
            alpha = step(alpha, x)
            out.append(alpha)
        return out


LogB = Callable[[Sequence[float]], list[float]]


def _emissions(dim: int, means: list[list[float]], precisions: list[list[list[float]]],
               lognorm: list[float]) -> LogB:
    """``x -> [log b_j(x)]`` for each state, unrolled for one or two features."""
    if dim == 1:
        params1 = [(m[0], p[0][0] * 0.5, c)
                   for m, p, c in zip(means, precisions, lognorm, strict=True)]

        def logb1(x: Sequence[float]) -> list[float]:
            x0 = x[0]
            return [c - h * (x0 - m) * (x0 - m) for m, h, c in params1]

        return logb1
    if dim == 2:
        params2 = [(m[0], m[1], p[0][0] * 0.5, p[0][1], p[1][1] * 0.5, c)
                   for m, p, c in zip(means, precisions, lognorm, strict=True)]

        def logb2(x: Sequence[float]) -> list[float]:
            x0, x1 = x[0], x[1]
            out = []
            for m0, m1, h00, p01, h11, c in params2:
                d0 = x0 - m0
                d1 = x1 - m1
                out.append(c - (h00 * d0 * d0 + p01 * d0 * d1 + h11 * d1 * d1))
            return out

        return logb2

    def logbn(x: Sequence[float]) -> list[float]:
        out = []
        for m, p, c in zip(means, precisions, lognorm, strict=True):
            d = [x[i] - m[i] for i in range(dim)]
            q = sum(d[i] * sum(p[i][j] * d[j] for j in range(dim)) for i in range(dim))
            out.append(c - 0.5 * q)
        return out

    return logbn


def _stepper(k: int, startprob: list[float], transmat: list[list[float]], logb: LogB,
             *, unrolled: bool = True,
             ) -> Callable[[list[float] | None, Sequence[float]], list[float]]:
    if k == 3 and unrolled:
        return _stepper3(startprob, transmat, logb)
    exp = math.exp
    mul = operator.mul
    columns = [tuple(transmat[i][j] for i in range(k)) for j in range(k)]

    def step(alpha: list[float] | None, x: Sequence[float]) -> list[float]:
        lb = logb(x)
        top = max(lb)
        if alpha is None:
            pred: Sequence[float] = startprob
        else:
            pred = [sum(map(mul, alpha, col)) for col in columns]
        a = [p * exp(v - top) for p, v in zip(pred, lb)]  # noqa: B905 (equal lengths)
        total = sum(a)
        if not total > 0.0:
            return _restart(lb, top)
        inv = 1.0 / total
        return [v * inv for v in a]

    return step


def _stepper3(startprob: list[float], transmat: list[list[float]],
              logb: LogB) -> Callable[[list[float] | None, Sequence[float]], list[float]]:
    """The same recursion unrolled for three states (the default; the benchmark's case)."""
    exp = math.exp
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = transmat
    s0, s1, s2 = startprob

    def step(alpha: list[float] | None, x: Sequence[float]) -> list[float]:
        lb = logb(x)
        l0, l1, l2 = lb
        top = l0 if l0 >= l1 else l1
        if l2 > top:
            top = l2
        if alpha is None:
            p0, p1, p2 = s0, s1, s2
        else:
            q0, q1, q2 = alpha
            p0 = q0 * a00 + q1 * a10 + q2 * a20
            p1 = q0 * a01 + q1 * a11 + q2 * a21
            p2 = q0 * a02 + q1 * a12 + q2 * a22
        p0 *= exp(l0 - top)
        p1 *= exp(l1 - top)
        p2 *= exp(l2 - top)
        total = p0 + p1 + p2
        if not total > 0.0:
            return _restart(lb, top)
        inv = 1.0 / total
        return [p0 * inv, p1 * inv, p2 * inv]

    return step


def _stepper3_1(startprob: list[float], transmat: list[list[float]], means: list[float],
                precisions: list[float], lognorm: list[float],
                ) -> Callable[[list[float] | None, Sequence[float]], list[float]]:
    """Three states, one feature: emissions inlined too."""
    exp = math.exp
    (a00, a01, a02), (a10, a11, a12), (a20, a21, a22) = transmat
    s0, s1, s2 = startprob
    m0, m1, m2 = means
    h0, h1, h2 = (0.5 * p for p in precisions)
    c0, c1, c2 = lognorm

    def step(alpha: list[float] | None, x: Sequence[float]) -> list[float]:
        x0 = x[0]
        d = x0 - m0
        l0 = c0 - h0 * d * d
        d = x0 - m1
        l1 = c1 - h1 * d * d
        d = x0 - m2
        l2 = c2 - h2 * d * d
        top = l0 if l0 >= l1 else l1
        if l2 > top:
            top = l2
        if alpha is None:
            p0, p1, p2 = s0, s1, s2
        else:
            q0, q1, q2 = alpha
            p0 = q0 * a00 + q1 * a10 + q2 * a20
            p1 = q0 * a01 + q1 * a11 + q2 * a21
            p2 = q0 * a02 + q1 * a12 + q2 * a22
        p0 *= exp(l0 - top)
        p1 *= exp(l1 - top)
        p2 *= exp(l2 - top)
        total = p0 + p1 + p2
        if not total > 0.0:
            return _restart([l0, l1, l2], top)
        inv = 1.0 / total
        return [p0 * inv, p1 * inv, p2 * inv]

    return step


def _restart(lb: list[float], top: float) -> list[float]:
    """Every predicted state has zero probability of this row (a transition
    matrix with exact zeros): restart from the emissions alone."""
    a = [math.exp(v - top) for v in lb]
    total = sum(a)
    return [v / total for v in a]
