"""``ema_cross`` and ``regime_ema``: long/flat EMA crossover strategies."""

from __future__ import annotations

from typing import Any

from contracts import Bar, RegimeInferred
from kernel import Context

from .base import Strategy
from .config import EmaCrossConfig, RegimeEmaConfig
from .ema import CROSS_DOWN, CROSS_UP, EmaCross

__all__ = ["EmaCrossStrategy", "RegimeEmaStrategy"]


class EmaCrossStrategy(Strategy):
    """Buy ``qty`` on a cross up while flat; sell to flat on a cross down while long.

    "Flat" and "long" are judged on the *intended* position (fills plus orders
    in flight), so a signal while an order is still working never doubles it;
    a rejected or cancelled order gives its quantity back.
    """

    name = "ema_cross"
    version = "0.1.0"
    description = "EMA(fast)/EMA(slow) crossover on closes, long/flat"
    Config = EmaCrossConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: EmaCrossConfig = self.config
        self.qty = config.qty
        self.signals = {i: EmaCross(config.fast, config.slow) for i in self.instruments}

    def may_open(self, instrument: str) -> bool:
        """Whether a cross up may open a position now (a filter for subclasses)."""
        return True

    def on_bar(self, bar: Bar) -> None:
        signal = self.signals[bar.instrument].update(float(bar.close))
        if signal == CROSS_UP:
            if self.book.intended(bar.instrument) == 0 and self.may_open(bar.instrument):
                self.buy(self.qty, bar.instrument)
        elif signal == CROSS_DOWN:
            held = self.book.intended(bar.instrument)
            if held > 0:
                self.sell(held, bar.instrument)

    def state(self) -> Any:
        return {i: s.state() for i, s in self.signals.items()}

    def load_state(self, state: Any) -> None:
        for instrument, values in (state or {}).items():
            self.signals[instrument].load(tuple(values))


class RegimeEmaStrategy(EmaCrossStrategy):
    """``ema_cross`` that opens only while the latest regime is allowed.

    Before the first ``RegimeInferred`` of an instrument nothing opens. When a
    regime outside the allowed set arrives while long, it sells to flat at
    once; crosses down still exit in any regime.
    """

    name = "regime_ema"
    description = "EMA crossover that trades only in allowed regimes"
    Config = RegimeEmaConfig
    wants_regimes = True

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: RegimeEmaConfig = self.config
        self.allowed_regimes = frozenset(config.allowed_regimes)
        self.allowed_labels = frozenset(config.allowed_labels)

    def allowed(self, regime: RegimeInferred) -> bool:
        return regime.regime in self.allowed_regimes or regime.label in self.allowed_labels

    def may_open(self, instrument: str) -> bool:
        latest = self.regimes.get(instrument)
        return latest is not None and self.allowed(latest)

    def on_regime(self, regime: RegimeInferred) -> None:
        if not self.allowed(regime):
            held = self.book.intended(regime.instrument)
            if held > 0:
                self.sell(held, regime.instrument)
