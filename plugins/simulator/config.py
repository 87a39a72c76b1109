"""What a backtest runs: the strategy, the live pipeline plugins and their settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec

__all__ = ["DEFAULT_PIPELINE", "BacktestConfig", "Fill"]

Fill = Literal["next_open", "bar_close", "next_tick"]

#: The plugins that run behind the strategy, by name, exactly as they run live.
DEFAULT_PIPELINE = ("risk", "execution", "paper", "portfolio")


class BacktestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One backtest. Plugins are loaded by name through the plugin host.

    ``params`` is the strategy's config table and ``plugin`` holds config
    tables of the pipeline plugins (``{"risk": {"max_order_qty": 10}}``), both
    validated by the plugins' own Config structs, so a bad value is reported
    as ``plugin.<name>.<key>``. The simulator fills in the facts it owns
    (instrument, account, fill model, fees, initial cash) where the plugin's
    Config has such a field and the table does not set it.
    """

    #: Plugin name of the strategy (e.g. ``ema_cross``).
    strategy: str
    instrument: str
    params: dict[str, Any] = {}
    #: Paper fill model: the next bar's open, this bar's close, or the next tick.
    fill: Fill = "next_open"
    #: Fee rate in basis points of notional (given to paper); None: paper's default.
    fee_bps: Decimal | None = None
    #: Slippage in basis points (given to paper); None: paper's default.
    slippage_bps: Decimal | None = None
    initial_cash: Decimal = Decimal(100_000)
    account: str = "default"
    pipeline: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PIPELINE))
    plugin: dict[str, dict[str, Any]] = {}
    seed: int = 0
    #: Record ``PluginStarted``/``PluginStopped`` (needed for a replayable log).
    announce: bool = False
