"""Per-bar features of the regime model, computed online, one bar at a time.

The same code computes the features the fit trains on and the ones the
filter reads, so training and inference never disagree. Only bars at or
before ``t`` enter the features at ``t``.

Features (``FEATURES``):

* ``log_return``: ``ln(close_t / close_{t-1})``.
* ``realized_vol``: the root mean square of the last ``rv_window`` log
  returns, ``sqrt(sum(r_i^2) / w)`` (the rolling realized volatility, per bar).

A bar yields a feature row once ``rv_window`` returns exist (``rv_window + 1``
bars), whatever features are chosen, so every feature set starts at the same bar.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["FEATURES", "FeatureState", "UnknownFeatureError"]

FEATURES = ("log_return", "realized_vol")

#: Recompute the running sum of squares exactly this often (bounds float drift).
_EXACT_EVERY = 256


class UnknownFeatureError(ValueError):
    """A feature name that ``FeatureState`` does not compute."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown feature {name!r}; known: {', '.join(FEATURES)}")


class FeatureState:
    """Rolling state of one instrument's features: ``update(close)`` -> row or ``None``."""

    __slots__ = ("_sq", "_steps", "_sumsq", "prev_close", "rv_window", "wanted")

    def __init__(self, features: tuple[str, ...], rv_window: int) -> None:
        for name in features:
            if name not in FEATURES:
                raise UnknownFeatureError(name)
        self.wanted = features
        self.rv_window = rv_window
        self.prev_close: float | None = None
        self._sq: deque[float] = deque(maxlen=rv_window)
        self._sumsq = 0.0
        self._steps = 0

    def update(self, close: float) -> tuple[float, ...] | None:
        """Fold in one bar's close; the feature row at this bar, or ``None`` while warming up."""
        prev, self.prev_close = self.prev_close, close
        if prev is None:
            return None
        r = math.log(close / prev)
        sq = self._sq
        r2 = r * r
        if len(sq) == self.rv_window:
            self._sumsq -= sq[0]
        sq.append(r2)
        self._steps += 1
        if self._steps % _EXACT_EVERY == 0:
            self._sumsq = math.fsum(sq)
        else:
            self._sumsq += r2
        if len(sq) < self.rv_window:
            return None
        rv = math.sqrt(max(self._sumsq, 0.0) / self.rv_window)
        if self.wanted == ("log_return",):
            return (r,)
        return tuple(r if name == "log_return" else rv for name in self.wanted)

    # snapshot support ---------------------------------------------------
    def state(self) -> tuple[float | None, list[float], float, int]:
        return (self.prev_close, list(self._sq), self._sumsq, self._steps)

    def load(self, state: tuple[float | None, list[float], float, int]) -> None:
        prev, sq, self._sumsq, self._steps = state
        self.prev_close = prev
        self._sq = deque(sq, maxlen=self.rv_window)
