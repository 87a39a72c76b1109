"""Strategies: the ``Strategy`` base class for authors and the built-in
``ema_cross``, ``regime_ema``, ``sma_cross`` and ``pair_spread`` strategies.
"""

from .base import Strategy
from .book import BookState, OrderBook, WorkingOrder
from .config import (
    EmaCrossConfig,
    PairSpreadConfig,
    RegimeEmaConfig,
    SmaCrossConfig,
    StrategyConfig,
)
from .ema import CROSS_DOWN, CROSS_UP, EmaCross
from .ema_cross import EmaCrossStrategy, RegimeEmaStrategy
from .orders import OrderSpec, SizingError
from .pair_spread import PairSpreadStrategy
from .sma_cross import Sma, SmaCrossStrategy

__all__ = [
    "CROSS_DOWN",
    "CROSS_UP",
    "BookState",
    "EmaCross",
    "EmaCrossConfig",
    "EmaCrossStrategy",
    "OrderBook",
    "OrderSpec",
    "PairSpreadConfig",
    "PairSpreadStrategy",
    "RegimeEmaConfig",
    "RegimeEmaStrategy",
    "SizingError",
    "Sma",
    "SmaCrossConfig",
    "SmaCrossStrategy",
    "Strategy",
    "StrategyConfig",
    "WorkingOrder",
]
