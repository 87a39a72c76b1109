"""risk + execution + portfolio + a tiny fake broker, wired on the in-memory Harness."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal as D
from typing import Any

from contracts import (
    Bar,
    CancelRequested,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    PortfolioSnapshot,
    Side,
    query_subject,
)
from kernel import Plugin
from kernel.testing.harness import Harness
from plugins.execution import ExecutionPlugin
from plugins.portfolio import PortfolioPlugin
from plugins.risk import RiskPlugin

_ids = itertools.count()


class FakeBroker(Plugin):
    """Venue ``sim``: market orders fill at once in two halves; limit orders rest
    until a bar trades through them; cancels of unknown ids are ignored."""

    name = "fakebroker"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.resting: dict[str, OrderSubmitted] = {}
        self.last: dict[str, D] = {}

    def subjects(self) -> list[str]:
        return ["keel.order.submitted.sim", "keel.order.cancel.>", "keel.md.bar.>"]

    async def on_event(self, event: Event) -> None:
        ctx = self.ctx
        if isinstance(event, OrderSubmitted):
            req = event.request
            if req.instrument == "REJECTME":
                ctx.emit(ctx.event(OrderRejected, client_order_id=req.client_order_id,
                                   account=req.account, instrument=req.instrument,
                                   code="VENUE_SAYS_NO", reason="test", source="sim"))
            elif req.order_type is OrderType.MARKET:
                price = req.ref_price or self.last[req.instrument]
                half = req.qty / 2
                self._fill(req, half, price, half, half)
                self._fill(req, req.qty - half, price, req.qty, D(0))
            else:
                self.resting[req.client_order_id] = event
        elif isinstance(event, CancelRequested):
            sub = self.resting.pop(event.client_order_id, None)
            if sub is not None:
                ctx.emit(ctx.event(OrderCancelled, client_order_id=event.client_order_id,
                                   account=event.account, instrument=sub.request.instrument,
                                   venue="sim", reason=event.reason, filled_qty=D(0)))
        elif isinstance(event, Bar):
            self.last[event.instrument] = event.close
            for coid, sub in list(self.resting.items()):
                req = sub.request
                assert req.limit_price is not None
                if req.instrument == event.instrument and (
                    (req.side is Side.BUY and event.low <= req.limit_price)
                    or (req.side is Side.SELL and event.high >= req.limit_price)
                ):
                    del self.resting[coid]
                    self._fill(req, req.qty, req.limit_price, req.qty, D(0))

    def _fill(self, req: OrderRequested, qty: D, price: D, cum: D, leaves: D) -> None:
        ctx = self.ctx
        ctx.emit(ctx.event(OrderFilled, client_order_id=req.client_order_id,
                           account=req.account, instrument=req.instrument, venue="sim",
                           fill_id=f"{req.client_order_id}-{cum}", side=req.side, qty=qty,
                           price=price, fee=D(1), cum_qty=cum, leaves_qty=leaves))


PLUGINS = [RiskPlugin, ExecutionPlugin, PortfolioPlugin, FakeBroker]


def ev(cls: type, ts: int = 1, **fields: Any) -> Any:
    return cls(id=f"t-{next(_ids)}", ts=ts, producer="test", **fields)


def order(coid: str, side: Side = Side.BUY, qty: str = "10", instrument: str = "X",
          ts: int = 1, **kw: Any) -> OrderRequested:
    kw.setdefault("ref_price", D(100))
    return ev(OrderRequested, ts=ts, client_order_id=coid, account="default",
              instrument=instrument, side=side, qty=D(qty), venue="sim", **kw)


def bar(close: str, ts: int, low: str | None = None, high: str | None = None) -> Bar:
    c = D(close)
    return ev(Bar, ts=ts, instrument="X", open_ts=ts - 1, interval_ns=1, open=c,
              high=D(high) if high else c, low=D(low) if low else c, close=c, volume=D(1))


async def query(h: Harness, plugin: str, name: str, args: dict[str, Any] | None = None) -> Any:
    raw = await h.bus.request(query_subject(plugin, name), json.dumps(args or {}).encode())
    reply = json.loads(raw)
    assert reply["ok"], reply
    return reply["result"]


async def test_market_order_flows_through_risk_execution_broker_portfolio() -> None:
    async with Harness(PLUGINS, config={"risk": {"max_order_qty": "100"}}) as h:
        await h.feed([order("o1")])
        assert len(h.outputs(OrderAccepted, "risk")) == 1
        subs = h.outputs(OrderSubmitted, "execution")
        assert [s.subject() for s in subs] == ["keel.order.submitted.sim"]
        fills = h.outputs(OrderFilled)
        assert [f.cum_qty for f in fills] == [5, 10]
        snaps = h.outputs(PortfolioSnapshot)
        assert len(snaps) == 2
        last = snaps[-1]
        assert last.positions[0].qty == 10 and last.cash == D(100_000) - 1000 - 2
        assert last.equity == D(100_000) - 2 and last.fills == 2

        got = await query(h, "execution", "order", {"client_order_id": "o1"})
        assert got["state"] == "FILLED" and got["cum_qty"] == "10"
        assert await query(h, "execution", "orders", {"open": True}) == []
        summary = await query(h, "portfolio", "summary")
        assert summary["equity"] == "99998" and summary["positions"][0]["qty"] == "10"
        positions = await query(h, "portfolio", "positions", {"account": "default"})
        assert positions[0]["avg_price"] == "100"
        risk_view = await query(h, "risk", "state")
        assert risk_view["accounts"]["default"]["positions"] == {"X": "10"}
        assert risk_view["accounts"]["default"]["open_orders"] == []
        assert h.plugin("execution").health()["invalid_transitions"] == 0


async def test_resting_limit_order_is_cancelled_and_everyone_agrees() -> None:
    async with Harness(PLUGINS) as h:
        await h.feed([order("L1", order_type=OrderType.LIMIT, limit_price=D(90))])
        assert (await query(h, "execution", "order", {"client_order_id": "L1"}))["state"] \
            == "SUBMITTED"
        assert len((await query(h, "risk", "state"))["accounts"]["default"]["open_orders"]) == 1
        await h.feed([ev(CancelRequested, client_order_id="L1", account="default", reason="x"),
                      bar("95", ts=2, low="89")])  # would have filled had it still rested
        assert len(h.outputs(OrderCancelled, "fakebroker")) == 1
        assert h.outputs(OrderFilled) == []
        assert (await query(h, "execution", "order", {"client_order_id": "L1"}))["state"] \
            == "CANCELLED"
        assert (await query(h, "risk", "state"))["accounts"]["default"]["open_orders"] == []


async def test_limit_order_fills_on_a_later_bar_and_portfolio_marks_it() -> None:
    async with Harness(PLUGINS, config={"portfolio": {"snapshot_on_bar": True}}) as h:
        await h.feed([order("L1", order_type=OrderType.LIMIT, limit_price=D(90)),
                      bar("95", ts=2), bar("92", ts=3, low="89"), bar("100", ts=4)])
        snaps = h.outputs(PortfolioSnapshot)
        # Bars 2 and 3 reach portfolio before any fill (no account yet: no snapshot);
        # the fill triggered by bar 3 comes after it in the log; then bar 4.
        assert [s.fills for s in snaps] == [1, 1]
        assert snaps[0].positions[0].last_price == 90
        assert snaps[-1].unrealized_pnl == 100 and snaps[-1].equity == D(100_000) + 100 - 1


async def test_venue_rejection_closes_the_order_everywhere() -> None:
    async with Harness(PLUGINS) as h:
        await h.feed([order("R1", instrument="REJECTME")])
        rej = h.outputs(OrderRejected, "fakebroker")
        assert len(rej) == 1
        assert (await query(h, "execution", "order", {"client_order_id": "R1"}))["state"] \
            == "REJECTED"
        assert (await query(h, "risk", "state"))["accounts"]["default"]["open_orders"] == []


async def test_duplicate_request_is_rejected_by_risk_and_never_routed_twice() -> None:
    async with Harness(PLUGINS) as h:
        await h.feed([order("o1"), order("o1", ts=2)])
        assert len(h.outputs(OrderSubmitted)) == 1
        dup = h.outputs(OrderRejected, "risk")
        assert [r.code for r in dup] == ["DUPLICATE_ORDER"]
        assert (await query(h, "execution", "order", {"client_order_id": "o1"}))["state"] \
            == "FILLED"
        assert h.plugin("execution").health()["duplicates"] >= 2  # the request + risk's notice


async def test_unknown_order_query_answers_an_error() -> None:
    async with Harness(PLUGINS) as h:
        raw = await h.bus.request(query_subject("execution", "order"),
                                  b'{"client_order_id": "nope"}')
        reply = json.loads(raw)
        assert not reply["ok"] and "nope" in reply["error"]


async def test_out_of_order_events_are_counted_in_health_and_logged(
    caplog: Any,
) -> None:
    early_fill = ev(OrderFilled, ts=1, client_order_id="o9", account="default",
                    instrument="X", venue="sim", fill_id="f", side=Side.BUY, qty=D(1),
                    price=D(1), fee=D(0), cum_qty=D(1), leaves_qty=D(0))
    async with Harness([ExecutionPlugin]) as h:
        req = order("o9", order_type=OrderType.LIMIT, limit_price=D(1))
        await h.feed([req, early_fill])  # a fill for an order nobody accepted yet
        health = h.plugin("execution").health()
        assert health["invalid_transitions"] == 1 and "o9" in health["last_breach"]
        assert any("not allowed in state REQUESTED" in r.getMessage() for r in caplog.records)
        assert h.outputs(OrderSubmitted) == []
        await h.feed([ev(OrderAccepted, ts=2, client_order_id="o9", account="default",
                         request=req)])
        assert len(h.outputs(OrderSubmitted)) == 1
