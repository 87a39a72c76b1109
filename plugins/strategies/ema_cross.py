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
    """Buy ``qty`` on a cross up while (intended) flat; go flat on a cross down.

    Going flat never sells what has not filled (``Strategy.flatten``): a working
    buy is cancelled with an exit attached that sells only what it fills, and
    the filled position is sold reduce-only. On the bars between crosses, a
    position outside ``[0, qty]`` (``[0, 0]`` after a cross down) with nothing
    working, which a lost cancel race or a broker's surprise can leave, is
    traded back into it (reduce-only); a rejected buy is not retried.
    """

    name = "ema_cross"
    version = "0.2.0"
    description = "EMA(fast)/EMA(slow) crossover on closes, long/flat"
    Config = EmaCrossConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config: EmaCrossConfig = self.config
        self.qty = config.qty
        self.signals = {i: EmaCross(config.fast, config.slow) for i in self.instruments}
        #: Direction of the last cross per instrument (+1 up, -1 down, 0 none yet).
        self.trend = dict.fromkeys(self.instruments, 0)

    def may_open(self, instrument: str) -> bool:
        """Whether a cross up may open a position now (a filter for subclasses)."""
        return True

    def on_bar(self, bar: Bar) -> None:
        inst = bar.instrument
        signal = self.signals[inst].update(float(bar.close))
        if signal == CROSS_UP:
            self.trend[inst] = 1
            # Flat once the working orders fill (an exit still working is fine:
            # buying never sells anything unfilled; a surplus is recovered later).
            if self.book.intended(inst) == 0 and self.may_open(inst):
                self.buy(self.qty, inst)
        elif signal == CROSS_DOWN:
            self.trend[inst] = -1
            self.flatten(inst, "cross down")
        else:
            self.recover(inst)

    def recover(self, instrument: str) -> None:
        """Bring an unexpected position back into ``[0, qty]`` (``[0, 0]`` unless the
        last cross was up), once nothing is working."""
        pos = self.book.position(instrument)
        high = self.qty if self.trend.get(instrument) == 1 else 0
        if 0 <= pos <= high or self.has_working(instrument):
            return  # the usual case first: it runs on every bar
        if pos < 0:
            self.buy(-pos, instrument, reduce_only=True)
        elif pos > high:
            self.sell(pos - high, instrument, reduce_only=True)

    def state(self) -> Any:
        return {"signals": {i: s.state() for i, s in self.signals.items()},
                "trend": dict(self.trend)}

    def load_state(self, state: Any) -> None:
        state = state or {}
        signals = state.get("signals", state) if "trend" in state else state
        for instrument, values in signals.items():
            self.signals[instrument].load(tuple(values))
        self.trend.update(state.get("trend", {}))


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
            self.trend[regime.instrument] = 0  # no position until the next cross up
            self.flatten(regime.instrument, f"regime {regime.label or regime.regime}")
