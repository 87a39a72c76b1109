"""Portfolio state as published by the portfolio plugin."""

from __future__ import annotations

import msgspec

from .base import Event, Money, Price, Quantity, Symbol

__all__ = ["PortfolioSnapshot", "Position"]


class Position(msgspec.Struct, frozen=True, kw_only=True):
    instrument: Symbol
    qty: Quantity
    avg_price: Price
    last_price: Price
    realized_pnl: Money
    unrealized_pnl: Money
    market_value: Money
    #: A venue position of its own (a contract's id), not the netting position.
    position_id: str | None = None


class PortfolioSnapshot(Event, frozen=True, kw_only=True, tag="portfolio.snapshot"):
    account: Symbol
    cash: Money
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    fees: Money
    gross_exposure: Money
    net_exposure: Money
    drawdown: Money
    max_drawdown: Money
    positions: list[Position] = []
    fills: int = 0

    def subject(self) -> str:
        return f"keel.portfolio.snapshot.{self.account}"
