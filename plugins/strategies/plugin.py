"""Hook implementations of the strategies package."""

from __future__ import annotations

from kernel import Plugin, hookimpl

from .ema_cross import EmaCrossStrategy, RegimeEmaStrategy
from .pair_spread import PairSpreadStrategy
from .sma_cross import SmaCrossStrategy


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [EmaCrossStrategy, RegimeEmaStrategy, SmaCrossStrategy, PairSpreadStrategy]
