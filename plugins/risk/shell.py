"""The risk plugin: subscribes, drives ``RiskEngine``, emits its decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from contracts import Event
from kernel import Context, Plugin, Query

from .config import RiskConfig
from .core import RiskEngine
from .state import RiskState

__all__ = ["RiskPlugin"]


class RiskPlugin(Plugin):
    """Pre-trade risk: every ``OrderRequested`` becomes ``OrderAccepted`` or
    ``OrderRejected`` (stable code) + ``RiskBreach``; owns the trading state
    (ACTIVE / REDUCING / HALTED) and the emergency halt."""

    name = "risk"
    version = "0.2.0"
    description = "pre-trade limits, trading state and emergency halt"
    Config = RiskConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.engine = RiskEngine(self.config, ctx.event)

    def subjects(self) -> Sequence[str]:
        cfg: RiskConfig = self.config
        subjects = [
            "keel.order.requested.>",
            "keel.order.filled.>",
            "keel.order.cancelled.>",
            "keel.order.rejected.>",
            "keel.order.expired.>",
            "keel.order.updated.>",
            "keel.ctl.halt",
            "keel.ctl.resume",
            # contracts bought from a venue that sells them (Deriv), and its balance
            "keel.contract.updated.>",
            "keel.contract.settled.>",
            "keel.contract.adopted.>",
            "keel.venue.balance.>",
        ]
        if cfg.max_daily_loss is not None:
            subjects.append("keel.portfolio.snapshot.>")
        if cfg.regime_scale:
            subjects.append("keel.intel.regime.>")
        if cfg.needs_prices:
            # Only read market data when a limit values orders at market prices:
            # bars are the bulk of a backtest's log.
            subjects += ["keel.md.bar.>", "keel.md.tick.>"]
        return subjects

    def on_event(self, event: Event) -> None:
        emit = self.ctx.emit
        for out in self.engine.apply(event):
            emit(out)
        if self.config.max_order_age_s is not None:
            # Wake up when the oldest open order gets too old, even if nothing else
            # arrives (the firing is a logged input, so replay sees it too).
            due = self.engine.next_age_deadline()
            if due is None:
                self.ctx.cancel_timer("order-age")
            else:
                self.ctx.set_timer("order-age", max(due, event.ts + 1))

    def queries(self) -> Mapping[str, Query]:
        return {"state": self._q_state, "limits": self._q_limits}

    async def _q_state(self, args: dict[str, Any]) -> dict[str, Any]:
        """Trading state, halt reason, and per account positions, open orders, daily PnL."""
        return self.engine.view()

    async def _q_limits(self, args: dict[str, Any]) -> dict[str, Any]:
        """The configured limits (decimals as strings)."""
        limits: dict[str, Any] = msgspec.to_builtins(self.config)
        return limits

    def health(self) -> dict[str, Any]:
        state = self.engine.state
        return {
            "trading_state": str(state.trading),
            "accepted": state.counters.accepted,
            "rejected": sum(state.counters.rejected.values()),
            "unpriced": state.counters.unpriced,
            "open_orders": sum(len(a.open_orders) for a in state.accounts.values()),
        }

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.engine.state)

    def restore(self, state: bytes) -> None:
        self.engine.state = msgspec.msgpack.decode(state, type=RiskState)
