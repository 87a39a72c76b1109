"""``pair_spread``: mean reversion of the log-price spread of two instruments.

For each time both instruments have a bar (the same ``open_ts``)::

    spread = ln(close_A) - hedge_ratio x ln(close_B)
    z      = (spread - mean) / stdev          over the last ``lookback`` spreads
                                              (sample standard deviation)

z > entry_z: the spread is rich: short A, long B; z < -entry_z: long A, short
B; |z| <= exit_z while in a trade: both legs back to flat. A z beyond the
other side's entry reverses both legs. Each leg is ``notional`` money at its
last close (or ``fraction`` of equity), in whole lots, sized once at the
signal and traded with ``Strategy.target`` (so nothing unfilled is ever sold).

A leg that could not be traded at the signal (its previous order was still
working: bars of the two legs arrive one at a time, so one leg's order may
fill on the bar after the other's signal) is traded towards its goal at the
next bar time, once that order finished. A rejected leg is not retried: its
goal becomes what it holds, until the next signal.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from decimal import Decimal
from typing import Any

from contracts import Bar, OrderCancelled, OrderExpired, OrderRejected
from kernel import Context

from .base import Strategy
from .config import PairSpreadConfig

__all__ = ["PairSpreadStrategy"]


class PairSpreadStrategy(Strategy):
    """Long or short the spread of ``instruments = [A, B]``, one leg each."""

    name = "pair_spread"
    version = "0.2.0"
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
        #: Signed units each leg is to hold (sized at the last signal).
        self.goal: dict[str, Decimal] = {self.a: Decimal(0), self.b: Decimal(0)}
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
        side = self.side
        if len(self.spreads) == self.spreads.maxlen:
            stdev = statistics.stdev(self.spreads)
            if stdev != 0:
                z = (spread - statistics.fmean(self.spreads)) / stdev
                self.last_z = z
                if z > self.entry and side != -1:
                    side = -1
                elif z < -self.entry and side != 1:
                    side = 1
                elif side and abs(z) <= self.exit:
                    side = 0
        if side != self.side:
            self._size(side)
        for leg in (self.a, self.b):
            self.target(self.goal[leg], leg)  # nothing sent when the leg is there

    def _size(self, side: int) -> None:
        """Each leg's goal for ``side``: notional (or fraction of equity) at its last close."""
        self.side = side
        config: PairSpreadConfig = self.config
        for leg, sign in ((self.a, side), (self.b, -side)):
            units = self.size(leg, notional=config.notional) if config.notional > 0 \
                else self.size(leg, fraction=config.fraction)
            self.goal[leg] = units * sign

    def on_order_done(self, event: OrderRejected | OrderCancelled | OrderExpired) -> None:
        if isinstance(event, OrderRejected) and event.instrument in self.goal:
            self.goal[event.instrument] = self.intended(event.instrument)

    def state(self) -> Any:
        return {"spreads": list(self.spreads), "side": self.side,
                "goal": {leg: str(units) for leg, units in self.goal.items()},
                "pending": {str(t): {i: str(c) for i, c in v.items()}
                            for t, v in self.pending.items()}}

    def load_state(self, state: Any) -> None:
        state = state or {}
        self.spreads.extend(state.get("spreads", []))
        self.side = state.get("side", 0)
        self.goal.update({leg: Decimal(u) for leg, u in state.get("goal", {}).items()})
        self.pending = {int(t): {i: Decimal(c) for i, c in v.items()}
                        for t, v in state.get("pending", {}).items()}
