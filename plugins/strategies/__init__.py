"""Strategies: the ``Strategy`` base class for authors and the built-in
``ema_cross`` and ``regime_ema`` strategies.
"""

from .base import Strategy
from .book import BookState, OrderBook
from .config import EmaCrossConfig, RegimeEmaConfig, StrategyConfig
from .ema import CROSS_DOWN, CROSS_UP, EmaCross
from .ema_cross import EmaCrossStrategy, RegimeEmaStrategy

__all__ = [
    "CROSS_DOWN",
    "CROSS_UP",
    "BookState",
    "EmaCross",
    "EmaCrossConfig",
    "EmaCrossStrategy",
    "OrderBook",
    "RegimeEmaConfig",
    "RegimeEmaStrategy",
    "Strategy",
    "StrategyConfig",
]
