"""EMA crossover signal (pure): the exact arithmetic ``ema_cross`` trades on.

In float64, with ``alpha = 2 / (n + 1)``::

    bar 1:   fast = slow = close; d = 0          (no signal: there is no previous d)
    bar k:   fast = alpha_f * close + (1 - alpha_f) * fast
             slow = alpha_s * close + (1 - alpha_s) * slow
             d = fast - slow
             +1 (cross up)   if previous d <= 0 < d
             -1 (cross down) if previous d >= 0 > d
              0 otherwise
"""

from __future__ import annotations

__all__ = ["CROSS_DOWN", "CROSS_UP", "EmaCross"]

CROSS_UP = 1
CROSS_DOWN = -1


class EmaCross:
    """Per-instrument state of the crossover; ``update(close)`` returns +1, -1 or 0."""

    __slots__ = ("a_fast", "a_slow", "b_fast", "b_slow", "d", "fast", "slow")

    def __init__(self, fast: int, slow: int) -> None:
        self.a_fast = 2.0 / (fast + 1)
        self.a_slow = 2.0 / (slow + 1)
        self.b_fast = 1.0 - self.a_fast
        self.b_slow = 1.0 - self.a_slow
        self.fast: float | None = None
        self.slow = 0.0
        self.d = 0.0

    def update(self, close: float) -> int:
        fast = self.fast
        if fast is None:
            self.fast = self.slow = close
            self.d = 0.0
            return 0
        fast = self.a_fast * close + self.b_fast * fast
        slow = self.a_slow * close + self.b_slow * self.slow
        self.fast = fast
        self.slow = slow
        prev = self.d
        d = self.d = fast - slow
        if prev <= 0.0 < d:
            return CROSS_UP
        if prev >= 0.0 > d:
            return CROSS_DOWN
        return 0

    def state(self) -> tuple[float | None, float, float]:
        return (self.fast, self.slow, self.d)

    def load(self, state: tuple[float | None, float, float]) -> None:
        self.fast, self.slow, self.d = state
