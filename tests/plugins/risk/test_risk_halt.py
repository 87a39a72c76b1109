"""Emergency halt end to end: risk + execution + portfolio + a fake resting broker."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal as D
from typing import Any

from contracts import (
    CancelRequested,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Resume,
    RiskBreach,
    Side,
    TradingState,
    TradingStateChanged,
    query_subject,
)
from kernel import Plugin
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.portfolio import PortfolioPlugin
from plugins.risk import RiskPlugin

_ids = itertools.count()


class RestingBroker(Plugin):
    """Venue ``sim`` where every order rests until cancelled."""

    name = "restingbroker"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.resting: dict[str, OrderRequested] = {}

    def subjects(self) -> list[str]:
        return ["keel.order.submitted.sim", "keel.order.cancel.>"]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, OrderSubmitted):
            self.resting[event.client_order_id] = event.request
        elif isinstance(event, CancelRequested):
            req = self.resting.pop(event.client_order_id, None)
            if req is not None:  # ids it does not know are ignored
                self.ctx.emit(self.ctx.event(
                    OrderCancelled, client_order_id=req.client_order_id, account=req.account,
                    instrument=req.instrument, venue="sim", reason=event.reason,
                    filled_qty=D(0)))


def ev(cls: type, ts: int, **fields: Any) -> Any:
    return cls(id=f"t-{next(_ids)}", ts=ts, producer="test", **fields)


def order(coid: str, ts: int) -> OrderRequested:
    return ev(OrderRequested, ts=ts, client_order_id=coid, account="default", instrument="X",
              side=Side.BUY, qty=D(1), order_type=OrderType.LIMIT, limit_price=D(90),
              venue="sim")


async def test_halt_cancels_resting_orders_and_blocks_until_resume() -> None:
    plugins = [RiskPlugin, ExecutionPlugin, PortfolioPlugin, RestingBroker]
    async with Harness(plugins) as h:
        await h.feed([order("before", ts=1)])
        assert h.plugin("restingbroker").resting.keys() == {"before"}  # type: ignore[attr-defined]

        await h.feed([
            ev(Halt, ts=2, reason="venue is misbehaving", operator="ops"),
            order("during", ts=3),
            ev(Halt, ts=4, reason="again"),  # already halted: no-op
        ])
        log = h.events()
        halt_at = next(i for i, e in enumerate(log) if isinstance(e, Halt))
        after = log[halt_at:]
        assert not any(isinstance(e, OrderAccepted) for e in after)
        cancels = [e for e in after if isinstance(e, CancelRequested)]
        assert [(c.client_order_id, c.venue) for c in cancels] == [("before", "sim")]
        assert "venue is misbehaving" in cancels[0].reason
        assert len([e for e in after if isinstance(e, OrderCancelled)]) == 1
        rejected = [e for e in after if isinstance(e, OrderRejected)]
        assert [(r.client_order_id, r.code) for r in rejected] == [("during", "HALTED")]
        assert [b.code for b in after if isinstance(b, RiskBreach)] == ["HALTED"]
        changes = h.outputs(TradingStateChanged)
        assert [(c.previous, c.state) for c in changes] == [
            (TradingState.ACTIVE, TradingState.HALTED)]
        assert h.plugin("restingbroker").resting == {}  # type: ignore[attr-defined]
        raw = await h.bus.request(query_subject("execution", "order"),
                                  b'{"client_order_id": "before"}')
        assert json.loads(raw)["result"]["state"] == "CANCELLED"

        await h.feed([ev(Resume, ts=5, reason="fixed", operator="ops"),
                      ev(Resume, ts=6, reason="twice"),
                      order("after", ts=7)])
        changes = h.outputs(TradingStateChanged)
        assert [(c.previous, c.state) for c in changes] == [
            (TradingState.ACTIVE, TradingState.HALTED),
            (TradingState.HALTED, TradingState.ACTIVE)]
        acc = h.outputs(OrderAccepted)
        assert [a.client_order_id for a in acc] == ["before", "after"]
        raw = await h.bus.request(query_subject("risk", "state"), b"{}")
        view = json.loads(raw)["result"]
        assert view["trading_state"] == "ACTIVE" and not view["halted"]
        assert [o["client_order_id"] for o in view["accounts"]["default"]["open_orders"]] \
            == ["after"]
