"""Market data: file readers (CSV/Parquet), seeded synthetic series, ``keel import``,
and the ``marketdata`` source plugin that publishes ``Bar``/``Tick`` events.
"""

from kernel.bars import parse_interval, parse_timestamp

from .config import MarketDataConfig
from .errors import MarketDataError
from .importer import IMPORT_COMMAND, import_events, import_file
from .readers import read_bars, read_events, read_ticks
from .rows import bar_id, tick_id, to_decimal
from .source import MarketData, configured_events
from .synthetic import (
    DEFAULT_REGIMES,
    DEFAULT_START_NS,
    Regime,
    RegimeSeries,
    iter_random_walk,
    iter_regime_switching,
    random_walk,
    regime_switching,
)

__all__ = [
    "DEFAULT_REGIMES",
    "DEFAULT_START_NS",
    "IMPORT_COMMAND",
    "MarketData",
    "MarketDataConfig",
    "MarketDataError",
    "Regime",
    "RegimeSeries",
    "bar_id",
    "configured_events",
    "import_events",
    "import_file",
    "iter_random_walk",
    "iter_regime_switching",
    "parse_interval",
    "parse_timestamp",
    "random_walk",
    "read_bars",
    "read_events",
    "read_ticks",
    "regime_switching",
    "tick_id",
    "to_decimal",
]
