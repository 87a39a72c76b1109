"""``pair_spread``: mean reversion of the log-price spread of two instruments.

For each time both instruments have a bar (the same ``open_ts``)::

    spread = ln(close_A) - hedge_ratio x ln(close_B)
    z      = (spread - mean) / stdev          over the last ``lookback`` spreads
                                              (sample standard deviation)

z > entry_z: the spread is rich: short A, long B; z < -entry_z: long A, short
B; |z| <= exit_z while in a trade: both legs back to flat. A z beyond the
other side's entry reverses both legs. Each leg is ``notional`` money at its
last close (or ``fraction`` of equity), in whole lots, traded with
``Strategy.target`` (so nothing unfilled is ever sold).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from decimal import Decimal
from typing import Any

from contracts import Bar
from kernel import Context

from .base import Strategy
from .config import PairSpreadConfig

__all__ = ["PairSpreadStrategy"]


class PairSpreadStrategy(Strategy):
    """Long or short the spread of ``instruments = [A, B]``, one leg each."""

    name = "pair_spread"
    version = "0.1.0"
    description = "pair trading: z-score mean reversion of ln(A) - h ln(B)"
    Config = PairSpreadConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: PairSpreadConfig = self.config
        self.a, self.b = self.instruments
        self.hedge = float(config.hedge_ratio)
        self.entry = float(config.entry_z)
        self.exit = float(config.exit_z)
        self.spreads: deque[float] = deque(maxlen=config.lookback)
        #: Closes of the bar time being assembled: open_ts -> {instrument: close}.
        self.pending: dict[int, dict[str, Decimal]] = {}
        #: +1 long the spread (long A, short B), -1 short it, 0 flat.
        self.side = 0
        self.last_z: float | None = None

    def on_bar(self, bar: Bar) -> None:
        closes = self.pending.setdefault(bar.open_ts, {})
        closes[bar.instrument] = bar.close
        if len(closes) < 2:
            return
        del self.pending[bar.open_ts]
        for stale in [t for t in self.pending if t < bar.open_ts]:
            del self.pending[stale]  # a time only one leg traded: skipped
        spread = math.log(closes[self.a]) - self.hedge * math.log(closes[self.b])
        self.spreads.append(spread)
        if len(self.spreads) < (self.spreads.maxlen or 0):
            return
        stdev = statistics.stdev(self.spreads)
        if stdev == 0:
            return
        z = (spread - statistics.fmean(self.spreads)) / stdev
        self.last_z = z
        if z > self.entry and self.side != -1:
            self._hold(-1)
        elif z < -self.entry and self.side != 1:
            self._hold(1)
        elif self.side and abs(z) <= self.exit:
            self._hold(0)

    def _hold(self, side: int) -> None:
        self.side = side
        config: PairSpreadConfig = self.config
        for leg, sign in ((self.a, side), (self.b, -side)):
            if config.notional > 0:
                self.target_notional(config.notional * sign, leg)
            else:
                self.target_fraction(config.fraction * sign, leg)

    def state(self) -> Any:
        return {"spreads": list(self.spreads), "side": self.side,
                "pending": {str(t): {i: str(c) for i, c in v.items()}
                            for t, v in self.pending.items()}}

    def load_state(self, state: Any) -> None:
        state = state or {}
        self.spreads.extend(state.get("spreads", []))
        self.side = state.get("side", 0)
        self.pending = {int(t): {i: Decimal(c) for i, c in v.items()}
                        for t, v in state.get("pending", {}).items()}
