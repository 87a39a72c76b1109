"""Seeded Markov-switching bar series with their TRUE hidden states, for regime tests.

Each bar's log return is drawn from the Gaussian of its hidden state,
``r_t ~ N(mean[z_t], vol[z_t]^2)``, and the state follows a Markov chain
with transition matrix ``transmat``. A bar's open is the previous close and
its high/low are max/min of open and close, so the close carries everything
the series says about the states: a filter on returns with the true
parameters (``oracle_filter``) is then the best any causal method can do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from contracts import Bar

__all__ = [
    "FAST_REGIMES",
    "THREE_REGIMES",
    "RegimeSpec",
    "SwitchingSeries",
    "oracle_filter",
    "switching_bars",
]


@dataclass(frozen=True)
class RegimeSpec:
    """The true generating parameters: per-state mean and volatility of the log return."""

    means: tuple[float, ...]
    vols: tuple[float, ...]
    transmat: tuple[tuple[float, ...], ...]

    @property
    def n_states(self) -> int:
        return len(self.means)


#: Three sticky regimes differing in mean and volatility: calm up-trend,
#: middling flat, volatile down-trend (in ascending volatility).
THREE_REGIMES = RegimeSpec(
    means=(0.0005, 0.0, -0.001),
    vols=(0.005, 0.01, 0.02),
    transmat=((0.995, 0.003, 0.002), (0.003, 0.994, 0.003), (0.002, 0.004, 0.994)),
)


#: Three well-separated regimes that switch often (expected stays of 50 bars),
#: so a few thousand bars hold many episodes of each: for walk-forward tests.
FAST_REGIMES = RegimeSpec(
    means=(0.001, 0.0, -0.004),
    vols=(0.004, 0.01, 0.025),
    transmat=((0.98, 0.01, 0.01), (0.01, 0.98, 0.01), (0.01, 0.01, 0.98)),
)


@dataclass(frozen=True)
class SwitchingSeries:
    bars: list[Bar]
    states: list[int]
    returns: list[float]


def switching_bars(
    spec: RegimeSpec,
    n: int,
    *,
    seed: int,
    instrument: str = "SYN",
    start_ns: int = 1_704_067_200_000_000_000,
    interval_ns: int = 60_000_000_000,
    start_price: float = 100.0,
    producer: str = "synthetic",
) -> SwitchingSeries:
    """``n`` bars of a seeded Markov-switching walk and the state behind each bar."""
    rng = np.random.default_rng(seed)
    a = np.asarray(spec.transmat, dtype=np.float64)
    k = spec.n_states
    states = np.empty(n, dtype=np.int64)
    state = int(rng.integers(k))
    uniforms = rng.random(n)
    cum = np.cumsum(a, axis=1)
    for t in range(n):
        if t:
            state = min(int(np.searchsorted(cum[state], uniforms[t], side="right")), k - 1)
        states[t] = state
    means = np.asarray(spec.means)[states]
    vols = np.asarray(spec.vols)[states]
    returns = means + vols * rng.standard_normal(n)
    bars = []
    level = start_price
    close = Decimal(repr(level))
    for t in range(n):
        level = level * math.exp(float(returns[t]))
        open_, close = close, Decimal(repr(level))
        open_ts = start_ns + t * interval_ns
        bars.append(Bar(
            id=f"{producer}-{instrument}-{t}", ts=open_ts + interval_ns, producer=producer,
            instrument=instrument, open_ts=open_ts, interval_ns=interval_ns, open=open_,
            high=max(open_, close), low=min(open_, close), close=close, volume=Decimal(1)))
    return SwitchingSeries(bars=bars, states=[int(s) for s in states],
                           returns=[float(r) for r in returns])


def oracle_filter(spec: RegimeSpec, returns: Sequence[float]) -> list[list[float]]:
    """The filtered posterior of each bar under the TRUE parameters (uniform start)."""
    k = spec.n_states
    a = np.asarray(spec.transmat, dtype=np.float64)
    mu = np.asarray(spec.means)
    sd = np.asarray(spec.vols)
    alpha = np.full(k, 1.0 / k)
    out = []
    for t, r in enumerate(returns):
        pred = alpha if t == 0 else alpha @ a
        logb = -0.5 * ((r - mu) / sd) ** 2 - np.log(sd)
        post = pred * np.exp(logb - logb.max())
        alpha = post / post.sum()
        out.append([float(p) for p in alpha])
    return out
