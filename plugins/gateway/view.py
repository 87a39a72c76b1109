"""The live view: what the dashboard and the live stream show, folded from events.

Pure and bounded: ``LiveView.apply(event)`` updates the view and returns the
stream messages (``{"kind": ..., "data": ...}``) the event produces. It holds
the latest positions per account, an equity curve, recent orders and fills,
the trading state and the latest regime per instrument. (State of record
lives in the plugins that own it; the gateway answers reads with their
queries. This view only feeds the live stream.)
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from contracts import (
    CancelRequested,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderUpdated,
    PortfolioSnapshot,
    RegimeInferred,
    TradingStateChanged,
    to_builtins,
)

from .config import GatewayConfig

__all__ = ["LiveView", "Message"]

Message = dict[str, Any]

_STATE_OF = {
    OrderAccepted: "ACCEPTED",
    OrderRejected: "REJECTED",
    OrderSubmitted: "SUBMITTED",
    OrderTriggered: "TRIGGERED",
    OrderCancelled: "CANCELLED",
    OrderExpired: "EXPIRED",
}
#: States an order never leaves.
_FINAL = frozenset({"FILLED", "CANCELLED", "REJECTED", "EXPIRED"})


def _s(value: object) -> str | None:
    return None if value is None else str(value)


class LiveView:
    """Bounded recent history for the live stream; see the module docstring."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.positions: dict[str, list[dict[str, Any]]] = {}
        self.portfolio: dict[str, dict[str, Any]] = {}
        self.equity: dict[str, deque[tuple[int, str]]] = {}
        self.orders: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.fills: deque[dict[str, Any]] = deque(maxlen=config.keep_fills)
        self.fills_by_order: dict[str, list[dict[str, Any]]] = {}
        self.trading: dict[str, Any] | None = None
        self.regimes: dict[str, dict[str, Any]] = {}

    # -- fold ------------------------------------------------------------------
    def apply(self, event: Event, seq: int = 0) -> list[Message]:
        if isinstance(event, PortfolioSnapshot):
            return self._snapshot(event)
        if isinstance(event, OrderFilled):
            return self._fill(event, seq)
        if isinstance(event, OrderRequested):
            return [self._order(event.client_order_id, event, "REQUESTED", {
                "account": event.account, "instrument": event.instrument,
                "side": str(event.side), "qty": str(event.qty),
                "order_type": str(event.order_type),
                "time_in_force": str(event.time_in_force),
                "limit_price": _s(event.limit_price),
                "trigger_price": _s(event.trigger_price),
                "trailing_offset": _s(event.trailing_offset),
                "expire_ts": event.expire_ts, "reduce_only": event.reduce_only,
                "post_only": event.post_only, "order_list_id": event.order_list_id,
                "parent_order_id": event.parent_order_id,
                "strategy": event.strategy, "operator": event.operator})]
        if isinstance(event, OrderUpdated):
            changed = {k: str(v) for k, v in (("qty", event.qty),
                                               ("trigger_price", event.trigger_price),
                                               ("limit_price", event.limit_price))
                       if v is not None}
            return [self._order(event.client_order_id, event, None, changed)]
        if isinstance(event, tuple(_STATE_OF)):
            extra: dict[str, Any] = {}
            if isinstance(event, OrderRejected):
                extra = {"code": event.code, "reason": event.reason}
            elif isinstance(event, (OrderCancelled, OrderExpired)):
                extra = {"reason": event.reason}
            elif isinstance(event, OrderTriggered):
                extra = {"trigger_price": str(event.trigger_price),
                         "triggered_price": str(event.price)}
            coid: str = event.client_order_id  # type: ignore[attr-defined]
            return [self._order(coid, event, _STATE_OF[type(event)], extra)]
        if isinstance(event, CancelRequested):
            return [self._order(event.client_order_id, event, None,
                                {"cancel_requested": True})]
        if isinstance(event, TradingStateChanged):
            self.trading = {"state": str(event.state), "previous": str(event.previous),
                            "reason": event.reason, "ts": event.ts, "id": event.id, "seq": seq}
            return [{"kind": "trading_state", "data": self.trading}]
        if isinstance(event, RegimeInferred):
            row = {"instrument": event.instrument, "regime": event.regime,
                   "label": event.label, "probabilities": list(event.probabilities),
                   "model": event.model, "ts": event.ts}
            self.regimes[event.instrument] = row
            return [{"kind": "regime", "data": row}]
        return []

    def _snapshot(self, snap: PortfolioSnapshot) -> list[Message]:
        positions = [to_builtins(p) for p in snap.positions if p.qty != 0]
        self.positions[snap.account] = positions
        summary = {k: str(getattr(snap, k)) for k in (
            "cash", "equity", "realized_pnl", "unrealized_pnl", "fees", "gross_exposure",
            "net_exposure", "drawdown", "max_drawdown")}
        summary.update(account=snap.account, ts=snap.ts, fills=snap.fills)
        self.portfolio[snap.account] = summary
        curve = self.equity.get(snap.account)
        if curve is None:
            curve = self.equity[snap.account] = deque(maxlen=self.config.keep_equity_points)
        point = (snap.ts, str(snap.equity))
        if curve and curve[-1][0] == snap.ts:
            curve[-1] = point  # several snapshots at one instant: keep the last
        else:
            curve.append(point)
        return [
            {"kind": "positions", "data": {"account": snap.account, "positions": positions,
                                           "summary": summary}},
            {"kind": "equity", "data": {"account": snap.account, "ts": snap.ts,
                                        "equity": str(snap.equity)}},
        ]

    def _fill(self, fill: OrderFilled, seq: int) -> list[Message]:
        row = {"client_order_id": fill.client_order_id, "fill_id": fill.fill_id,
               "account": fill.account, "instrument": fill.instrument, "side": str(fill.side),
               "qty": str(fill.qty), "price": str(fill.price), "fee": str(fill.fee),
               "cum_qty": str(fill.cum_qty), "leaves_qty": str(fill.leaves_qty),
               "venue": fill.venue, "ts": fill.ts, "id": fill.id, "seq": seq}
        self.fills.append(row)
        state = "FILLED" if fill.leaves_qty <= 0 else "PARTIALLY_FILLED"
        order = self._order(fill.client_order_id, fill, state, {"cum_qty": str(fill.cum_qty)})
        if fill.client_order_id in self.orders:
            self.fills_by_order.setdefault(fill.client_order_id, []).append(row)
        return [{"kind": "fill", "data": row}, order]

    def _order(self, coid: str, event: Event, state: str | None,
               fields: dict[str, Any]) -> Message:
        orders = self.orders
        row = orders.get(coid)
        if row is None:
            row = orders[coid] = {"client_order_id": coid, "state": state or "UNKNOWN",
                                  "created_ts": event.ts}
            while len(orders) > self.config.keep_orders:
                old, _ = orders.popitem(last=False)
                self.fills_by_order.pop(old, None)
        else:
            orders.move_to_end(coid)
        if state is not None and row.get("state") not in _FINAL:
            row["state"] = state
        row.update(fields)
        row["updated_ts"] = event.ts
        return {"kind": "order", "data": dict(row)}

    # -- read ------------------------------------------------------------------
    def snapshot(self) -> Message:
        """Everything at once: the first message a new stream client gets."""
        return {"kind": "snapshot", "data": {
            "positions": self.positions,
            "portfolio": self.portfolio,
            "equity": {a: [[ts, eq] for ts, eq in c] for a, c in self.equity.items()},
            "orders": list(self.orders.values())[-100:],
            "fills": list(self.fills)[-100:],
            "trading_state": self.trading,
            "regimes": self.regimes,
        }}
