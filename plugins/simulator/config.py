"""What a backtest runs: the strategy, the live pipeline plugins and their settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec

__all__ = ["DEFAULT_INITIAL_CASH", "DEFAULT_PIPELINE", "BacktestConfig", "Fill"]

Fill = Literal["next_open", "bar_close", "next_tick"]

#: The plugins that run behind the strategy, by name, exactly as they run live.
DEFAULT_PIPELINE = ("risk", "execution", "paper", "portfolio")
#: Starting cash when neither a flag nor ``[plugin.portfolio] initial_cash`` says.
DEFAULT_INITIAL_CASH = Decimal(100_000)


class BacktestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One backtest. Plugins are loaded by name through the plugin host.

    ``params`` is the strategy's config table and ``plugin`` holds the tables
    of the pipeline plugins (``{"risk": {"max_order_qty": 10}}``), as in
    ``keel.toml``'s ``[plugin.<name>]``; both are validated by the plugins'
    own Config structs, so a bad value is reported as ``plugin.<name>.<key>``.
    ``fill``, ``fee_bps``, ``slippage_bps`` and ``initial_cash``, when set,
    override those tables (they are the command's flags); ``None`` leaves the
    table's value, else the simulator's default (next-open fills, 100,000).
    ``instrument_specs`` is the ``[instruments]`` table.
    """

    #: Plugin name of the strategy (e.g. ``ema_cross``).
    strategy: str
    #: The instruments of the data, in order.
    instruments: list[str]
    params: dict[str, Any] = {}
    #: Paper fill model: the next bar's open, this bar's close, or the next tick.
    fill: Fill | None = None
    #: Fee rate in basis points of notional (given to paper).
    fee_bps: Decimal | None = None
    #: Slippage in basis points (given to paper).
    slippage_bps: Decimal | None = None
    initial_cash: Decimal | None = None
    account: str = "default"
    pipeline: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_PIPELINE))
    plugin: dict[str, dict[str, Any]] = {}
    instrument_specs: dict[str, Any] = {}
    seed: int = 0
    #: Record ``PluginStarted``/``PluginStopped`` (needed for a replayable log).
    announce: bool = False
    #: Retry and dead-letter a failing input as live does, instead of stopping the run.
    keep_going: bool = False
    #: Handler attempts before an input is dead-lettered (with ``keep_going``).
    max_attempts: int = 3

    @property
    def instrument(self) -> str:
        """The first (often the only) instrument."""
        return self.instruments[0] if self.instruments else ""
