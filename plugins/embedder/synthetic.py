"""Realistic vectors for index tests and benchmarks: embeddings of a long seeded
regime-switching walk (numpy, fast), as float bar arrays."""

from __future__ import annotations

import numpy as np

from .artifact import EmbeddingModel
from .bars import BarArrays
from .batch import embed_series

__all__ = ["vectors", "walk"]

MIN = 60 * 10**9


def walk(n: int, seed: int, instrument: str = "SYN") -> BarArrays:
    """``n`` one-minute bars whose volatility and drift switch between three regimes
    (a Markov chain leaving its state with probability 0.015 per bar)."""
    rng = np.random.default_rng(seed)
    drift = np.array([0.0004, 0.0, -0.0008])
    vol = np.array([0.003, 0.008, 0.016])
    state = np.empty(n, dtype=np.int64)
    s = 0
    switches = rng.random(n) < 0.015
    jumps = rng.integers(1, 3, n)
    for i in range(n):
        if switches[i]:
            s = (s + jumps[i]) % 3
        state[i] = s
    ret = drift[state] + vol[state] * rng.standard_normal(n)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.standard_normal(n)) * vol[state] * close * 0.5
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.lognormal(3 + state * 0.3, 0.5)
    open_ts = 1_704_067_200_000_000_000 + np.arange(n, dtype=np.int64) * MIN
    return BarArrays(instrument, open_ts + MIN, open_, high, low, close, volume, open_ts)


def vectors(model: EmbeddingModel, n: int, seed: int) -> np.ndarray:
    """``n`` embeddings ``[n, dim]`` float32 of a walk (batched inference)."""
    _, out = embed_series(model, walk(n + model.spec.lookback - 1, seed), batch=512)
    return out[:n]
