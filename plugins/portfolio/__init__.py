"""Portfolio: netted positions, average cost, PnL, cash, exposure and drawdown."""

from .cli import PORTFOLIO_COMMAND, format_summary, request_summary
from .config import PortfolioConfig
from .core import AccountBook, PortfolioCore, PortfolioState
from .ledger import FillEffect, InvalidFillError, PositionState, apply_fill
from .shell import PortfolioPlugin

__all__ = [
    "PORTFOLIO_COMMAND",
    "AccountBook",
    "FillEffect",
    "InvalidFillError",
    "PortfolioConfig",
    "PortfolioCore",
    "PortfolioPlugin",
    "PortfolioState",
    "PositionState",
    "apply_fill",
    "format_summary",
    "request_summary",
]
