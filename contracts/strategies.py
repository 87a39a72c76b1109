"""The strategy registry's events: what strategy code exists and how it was backtested."""

from __future__ import annotations

from .base import Event, Symbol

__all__ = ["StrategyBacktested", "StrategyRegistered"]


class StrategyRegistered(Event, frozen=True, kw_only=True, tag="strategy.registered"):
    """A strategy plugin as installed on ``node``: its version, the SHA-256 of its code
    (``code_hash``) and its default parameters (JSON object)."""

    strategy: Symbol
    version: str
    code_hash: str
    description: str = ""
    distribution: str = ""
    default_params_json: str = "{}"
    node: str = ""

    def subject(self) -> str:
        return f"keel.strategy.registered.{self.strategy}"


class StrategyBacktested(Event, frozen=True, kw_only=True, tag="strategy.backtested"):
    """A backtest of ``strategy`` with ``params_json`` on the bars of ``data_file``
    (SHA-256 ``data_sha256``, bars ``data_start_ts``..``data_end_ts``); ``summary_json``
    is the backtest's summary (return, Sharpe, drawdown, ...) as a JSON object."""

    strategy: Symbol
    version: str
    code_hash: str
    params_json: str
    data_file: str
    data_sha256: str
    summary_json: str
    data_start_ts: int = 0
    data_end_ts: int = 0
    bars: int = 0

    def subject(self) -> str:
        return f"keel.strategy.backtested.{self.strategy}"
