"""Per-bar features of a window, computed causally from raw bars.

For the window of ``n`` bars ending at bar ``t`` the features of bar ``i``
use bars ``<= i`` only:

* ``log_return``: ln(close_i / close_{i-1});
* ``range``: ln(high_i / low_i), the bar's log range;
* ``volume_z``: z-score of ln(1 + volume_i) against the trailing
  ``volume_window`` bars (0 when they do not vary, e.g. no volume data);
* ``realized_vol``: sqrt(mean(log_return^2)) over the trailing ``rv_window`` bars.

A window therefore needs ``lookback(n) = n + max(volume_window, rv_window + 1)``
raw bars. Every computation reduces along the last (contiguous) axis of
row-independent arrays, so a window's features are bitwise the same whether
it is computed alone (the live plugin) or in a batch (backfill); a test checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURES", "FeatureSpec", "features", "forward_targets", "sliding_raw"]

FEATURES = ("log_return", "range", "volume_z", "realized_vol")


@dataclass(frozen=True)
class FeatureSpec:
    """Window length and trailing-statistics windows (bars)."""

    window: int = 64
    volume_window: int = 50
    rv_window: int = 20

    @property
    def extra(self) -> int:
        return max(self.volume_window, self.rv_window + 1)

    @property
    def lookback(self) -> int:
        """Raw bars needed for one window."""
        return self.window + self.extra


def _rolling_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Mean of the trailing ``k`` values along the last axis; output starts at index k-1."""
    c = np.cumsum(x, axis=-1)
    out = c[..., k - 1:].copy()
    out[..., 1:] -= c[..., :-k]
    return out / k


def features(raw: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """``raw`` ``[B, lookback, 4]`` (high, low, close, volume) -> ``[B, 4, window]`` float64."""
    if raw.ndim != 3 or raw.shape[1] != spec.lookback or raw.shape[2] != 4:
        raise ValueError(f"raw bars must be [B, {spec.lookback}, 4], got {list(raw.shape)}")
    n = spec.window
    high = np.ascontiguousarray(raw[:, :, 0])
    low = np.ascontiguousarray(raw[:, :, 1])
    close = np.ascontiguousarray(raw[:, :, 2])
    volume = np.ascontiguousarray(raw[:, :, 3])
    ret = np.log(close[:, 1:] / close[:, :-1])  # [B, M-1], ret[j] is bar j+1
    rng = np.log(high / low)
    lv = np.log1p(np.maximum(volume, 0.0))
    mean = _rolling_mean(lv, spec.volume_window)
    var = np.maximum(_rolling_mean(lv * lv, spec.volume_window) - mean * mean, 0.0)
    std = np.sqrt(var)
    safe = np.where(std > 1e-9, std, 1.0)
    vz = np.where(std > 1e-9, (lv[:, spec.volume_window - 1:] - mean) / safe, 0.0)
    rv = np.sqrt(_rolling_mean(ret * ret, spec.rv_window))
    out = np.empty((raw.shape[0], 4, n), dtype=np.float64)
    out[:, 0] = ret[:, -n:]
    out[:, 1] = rng[:, -n:]
    out[:, 2] = vz[:, -n:]
    out[:, 3] = rv[:, -n:]
    return out


def sliding_raw(raw: np.ndarray, lookback: int, ends: np.ndarray) -> np.ndarray:
    """Windows of ``raw`` ``[n, 4]`` ending at indices ``ends``: ``[len(ends), lookback, 4]``."""
    idx = ends[:, None] + np.arange(-lookback + 1, 1)[None, :]
    return raw[idx]


def forward_targets(raw: np.ndarray, ends: np.ndarray, horizon: int) -> np.ndarray:
    """Training targets: log return and log range of the ``horizon`` bars after each end.

    ``[len(ends), 2, horizon]``; only used to train the TCN's forecast head
    (the future is the self-supervision signal, never an input).
    """
    idx = ends[:, None] + np.arange(0, horizon + 1)[None, :]
    close = raw[idx, 2]
    ret = np.log(close[:, 1:] / close[:, :-1])
    rng = np.log(raw[idx[:, 1:], 0] / raw[idx[:, 1:], 1])
    return np.stack([ret, rng], axis=1)
