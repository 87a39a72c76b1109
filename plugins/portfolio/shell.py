"""The portfolio plugin: subscribes to fills and prices, drives the core, emits snapshots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from contracts import Event
from kernel import Context, Plugin, Query

from .config import PortfolioConfig
from .core import PortfolioCore, PortfolioState

__all__ = ["PortfolioPlugin"]


class PortfolioPlugin(Plugin):
    """Positions, average cost, PnL, cash, exposure and drawdown per account.

    Emits ``PortfolioSnapshot`` after every fill (and on bars if configured);
    answers the ``positions`` and ``summary`` queries.
    """

    name = "portfolio"
    version = "0.1.0"
    description = "positions, PnL, cash, exposure and drawdown from fills and prices"
    Config = PortfolioConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = PortfolioCore(self.config, ctx.event)

    def subjects(self) -> Sequence[str]:
        return ("keel.order.filled.>", "keel.md.bar.>", "keel.md.tick.>",
                # contracts bought from a venue that sells them (Deriv), and its balance
                "keel.contract.updated.>", "keel.contract.settled.>",
                "keel.contract.adopted.>", "keel.venue.balance.>")

    def on_event(self, event: Event) -> None:
        outputs = self.core.apply(event)
        if outputs:
            emit = self.ctx.emit
            for out in outputs:
                emit(out)

    def queries(self) -> Mapping[str, Query]:
        return {"positions": self._q_positions, "summary": self._q_summary}

    async def _q_positions(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """``{"account": ...}`` (optional): the account's positions."""
        return self.core.positions_view(self.core.book_for_query(args.get("account")))

    async def _q_summary(self, args: dict[str, Any]) -> dict[str, Any]:
        """``{"account": ...}`` (optional): metrics and positions of one account."""
        summary = self.core.summary(self.core.book_for_query(args.get("account")))
        summary["accounts"] = list(self.core.state.accounts)
        return summary

    def health(self) -> dict[str, Any]:
        state = self.core.state
        return {
            "accounts": len(state.accounts),
            "fills": sum(b.fills for b in state.accounts.values()),
            "duplicate_fills": state.duplicate_fills,
        }

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.core.state)

    def restore(self, state: bytes) -> None:
        self.core.state = msgspec.msgpack.decode(state, type=PortfolioState)
