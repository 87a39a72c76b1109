"""Simulator: backtests, scenarios and sweeps that run the live plugins on a MemoryBus.

Bars are read by the kernel's one reader (``kernel.load_bars``); ``read_bars``
here is a shorthand for one instrument's ``BarData``.
"""

from kernel import BarData, BarDataError, BarSet

from .config import DEFAULT_PIPELINE, BacktestConfig
from .errors import SimulatorError, SweepError
from .metrics import summarize
from .result import BacktestResult, load_data, read_bars, run_backtest, run_backtest_async
from .trades import Trade, round_trips

__all__ = [
    "DEFAULT_PIPELINE",
    "BacktestConfig",
    "BacktestResult",
    "BarData",
    "BarDataError",
    "BarSet",
    "SimulatorError",
    "SweepError",
    "Trade",
    "load_data",
    "read_bars",
    "round_trips",
    "run_backtest",
    "run_backtest_async",
    "summarize",
]
