"""``sma_cross``: SMA(fast) against SMA(slow) of closes; on a cross, close and reverse.

The signal, exactly (Decimal sums, no rounding)::

    fast_k = mean(close[k-fast+1 .. k]),  slow_k = mean(close[k-slow+1 .. k])
    cross up   at bar k: fast_{k-1} < slow_{k-1} and fast_k > slow_k
    cross down at bar k: fast_{k-1} > slow_{k-1} and fast_k < slow_k

(both averages defined on both bars). On a cross up it targets ``+fraction``
of its equity, on a cross down ``-fraction`` (or flat when ``allow_short`` is
false), in whole lots, in one order (``Strategy.target_fraction``): a long
becomes a short of the same equity in one sell. Equity and the size are taken
at the signal bar's close; with ``fill = "next_open"`` the order fills at the
next bar's open.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any

from contracts import Bar
from kernel import Context

from .base import Strategy
from .config import SmaCrossConfig

__all__ = ["Sma", "SmaCrossStrategy"]


class Sma:
    """Exact simple moving average of the last ``n`` values (``None`` until ``n`` seen)."""

    __slots__ = ("n", "total", "values")

    def __init__(self, n: int) -> None:
        self.n = n
        self.values: deque[Decimal] = deque()
        self.total = Decimal(0)

    def update(self, value: Decimal) -> Decimal | None:
        self.values.append(value)
        self.total += value
        if len(self.values) > self.n:
            self.total -= self.values.popleft()
        return self.total / self.n if len(self.values) == self.n else None


class SmaCrossStrategy(Strategy):
    """Always in the market after the first cross: long above, short below."""

    name = "sma_cross"
    version = "0.1.0"
    description = "SMA(fast)/SMA(slow) crossover on closes; close and reverse, sized by equity"
    Config = SmaCrossConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: SmaCrossConfig = self.config
        self.fraction = config.fraction
        self.allow_short = config.allow_short
        self.fast = {i: Sma(config.fast) for i in self.instruments}
        self.slow = {i: Sma(config.slow) for i in self.instruments}
        #: Previous bar's (fast - slow) per instrument, once both are defined.
        self.prev: dict[str, Decimal] = {}

    def on_bar(self, bar: Bar) -> None:
        inst = bar.instrument
        fast = self.fast[inst].update(bar.close)
        slow = self.slow[inst].update(bar.close)
        if fast is None or slow is None:
            return
        d = fast - slow
        prev = self.prev.get(inst)
        self.prev[inst] = d
        if prev is None:
            return
        if prev < 0 < d:
            self.target_fraction(self.fraction, inst)
        elif prev > 0 > d:
            if self.allow_short:
                self.target_fraction(-self.fraction, inst)
            else:
                self.flatten(inst, "cross down")

    def state(self) -> Any:
        return {"fast": {i: [str(v) for v in s.values] for i, s in self.fast.items()},
                "slow": {i: [str(v) for v in s.values] for i, s in self.slow.items()},
                "prev": {i: str(v) for i, v in self.prev.items()}}

    def load_state(self, state: Any) -> None:
        for key, smas in (("fast", self.fast), ("slow", self.slow)):
            for inst, values in (state or {}).get(key, {}).items():
                sma = smas[inst]
                sma.values = deque(Decimal(v) for v in values)
                sma.total = sum(sma.values, Decimal(0))
        self.prev = {i: Decimal(v) for i, v in (state or {}).get("prev", {}).items()}
