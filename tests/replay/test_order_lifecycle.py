"""Every order type and contingent list through risk, execution, paper and portfolio on
the in-memory bus, with hand-computed fills (``order_plugins.py``)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import order_plugins
import pytest
from order_plugins import EXPECT, ScriptedOrders, bars

from contracts import (
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    PortfolioSnapshot,
    decode,
    encode,
)
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.paper import Paper
from plugins.portfolio import PortfolioPlugin
from plugins.risk import RiskPlugin

PIPELINE = [ScriptedOrders, RiskPlugin, ExecutionPlugin, Paper, PortfolioPlugin]


async def run(scenario: str) -> tuple[Harness, Any]:
    h = Harness(PIPELINE, config={"t_orders2": {"instrument": "X", "scenario": scenario}})
    await h.__aenter__()
    await h.feed(bars())
    return h, h.plugin("execution")


@pytest.mark.parametrize("scenario", sorted(EXPECT))
async def test_each_order_type_and_list_end_to_end(scenario: str) -> None:
    h, execution = await run(scenario)
    try:
        requests = h.outputs(OrderRequested)
        assert len(requests) == len(EXPECT[scenario])
        assert h.outputs(OrderRejected) == []
        accepted = {a.client_order_id for a in h.outputs(OrderAccepted)}
        submitted = {s.client_order_id for s in h.outputs(OrderSubmitted)}
        assert accepted == submitted == {r.client_order_id for r in requests}
        fills = h.outputs(OrderFilled)
        position = D(0)
        cash = D(100_000)
        for n, (state, qty, price) in EXPECT[scenario].items():
            coid = f"t_orders2-X-{n}"
            rec = execution.core.order(coid)
            assert (str(rec.state), str(rec.cum_qty)) == (state, qty), coid
            own = [f for f in fills if f.client_order_id == coid]
            assert sum((f.qty for f in own), D(0)) == D(qty)
            if price is not None:
                assert rec.notional / rec.cum_qty == D(price), coid
            for f in own:
                position += f.qty * f.side.sign
                cash -= f.qty * f.side.sign * f.price + f.fee
        snaps = h.outputs(PortfolioSnapshot)
        if fills:
            last = snaps[-1]
            (pos,) = [p for p in last.positions if p.instrument == "X"]
            assert (pos.qty, last.cash) == (position, cash)
        conditional = {r.client_order_id for r in requests
                       if r.order_type.value not in ("MARKET", "LIMIT")}
        triggered = {t.client_order_id for t in h.outputs(OrderTriggered)}
        assert triggered <= conditional
        # risk's view agrees: nothing left open, the position is the fills'
        risk = h.plugin("risk").engine.state.accounts["default"]
        assert risk.open_orders == {} and risk.position("X") == position
        # every event of the run encodes and decodes unchanged
        for event in h.events():
            assert decode(encode(event)) == event
    finally:
        await h.__aexit__(None, None, None)


async def test_every_scenario_at_once_finishes_every_order() -> None:
    h, execution = await run("every")
    try:
        requests = h.outputs(OrderRequested)
        assert len(requests) == sum(len(e) for n, e in EXPECT.items() if n != "cancel_parent")
        assert {str(o.state) for o in execution.core.orders.values()} <= {
            "FILLED", "CANCELLED", "EXPIRED"}
        assert execution.core.open_orders() == []
        assert h.outputs(OrderRejected) == []
        types = {r.order_type.value for r in requests}
        assert types == {"MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP",
                         "MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED"}
    finally:
        await h.__aexit__(None, None, None)


def test_scripts_module_registers_the_plugin() -> None:
    assert order_plugins.keel_plugins() == [ScriptedOrders]
