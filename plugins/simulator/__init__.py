"""Simulator: backtests, scenarios and sweeps that run the live plugins on a MemoryBus."""

from .config import DEFAULT_PIPELINE, BacktestConfig
from .data import BarData, bar_events, read_bars
from .errors import DataError, SimulatorError, SweepError
from .metrics import Trade, equity_curve, round_trips, summarize
from .result import BacktestResult, run_backtest, run_backtest_async

__all__ = [
    "DEFAULT_PIPELINE",
    "BacktestConfig",
    "BacktestResult",
    "BarData",
    "DataError",
    "SimulatorError",
    "SweepError",
    "Trade",
    "bar_events",
    "equity_curve",
    "read_bars",
    "round_trips",
    "run_backtest",
    "run_backtest_async",
    "summarize",
]
