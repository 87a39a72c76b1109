"""The Strategy base's order API: sizing, targets, reversals, flatten, lists, rejections."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    Bar,
    CancelRequested,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderType,
    OrderUpdated,
    Side,
)
from kernel.testing.harness import Harness
from plugins.strategies import OrderBook, OrderSpec, SizingError, Strategy, StrategyConfig

MIN = 60_000_000_000


class Cfg(StrategyConfig, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Manual(Strategy):
    name = "m"
    Config = Cfg
    plan: list[Any] = []

    def on_bar(self, bar: Bar) -> None:
        for action in self.plan.pop(0) if self.plan else ():
            action(self)


def bar(i: int, close: str, instrument: str = "X") -> Bar:
    c = D(close)
    return Bar(id=f"md-{instrument}-{i}", ts=(i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=i * MIN, interval_ns=MIN, open=c, high=c, low=c, close=c, volume=D(10))


def filled(coid: str, side: Side, qty: str, price: str, leaves: str = "0", fee: str = "0",
           n: int = 1, instrument: str = "X") -> OrderFilled:
    return OrderFilled(id=f"f-{coid}-{n}", ts=n, producer="paper", client_order_id=coid,
                       account="default", instrument=instrument, venue="paper",
                       fill_id=f"{coid}-{n}", side=side, qty=D(qty), price=D(price), fee=D(fee),
                       cum_qty=D(qty), leaves_qty=D(leaves))


async def harness(config: dict[str, Any] | None = None) -> Harness:
    cfg = {"instrument": "X", **(config or {})}
    h = Harness([Manual], config={"m": cfg})
    await h.__aenter__()
    return h


def reqs(h: Harness) -> list[tuple[Any, ...]]:
    return [(r.side.value, str(r.qty), r.order_type.value) for r in h.outputs(OrderRequested)]


async def test_size_by_units_notional_and_fraction_in_whole_lots() -> None:
    h = await harness({"initial_cash": "10000",
                       "instrument_specs": {"X": {"lot_size": "5"}}})
    try:
        await h.feed([bar(0, "30")])
        s: Any = h.plugin("m")
        assert s.size(qty="7") == D(7)  # units are taken as given
        assert s.size(notional="1000") == D(30)  # 33.3 -> whole lots of 5 -> 30
        assert s.size(fraction="0.5") == D(165)  # 5000 / 30 = 166.6 -> 165
        assert s.size(notional="149.99") == D(0)  # less than a lot
        with pytest.raises(SizingError, match="exactly one"):
            s.size(qty=1, notional=1)
        with pytest.raises(SizingError, match="no price"):
            s.size("Y", notional=1)
    finally:
        await h.__aexit__(None, None, None)


async def test_equity_follows_own_fills_cash_and_last_prices() -> None:
    h = await harness({"initial_cash": "1000"})
    try:
        await h.feed([bar(0, "10"), filled("m-X-9", Side.BUY, "20", "10", fee="1"),
                      bar(1, "12")])
        s: Any = h.plugin("m")
        assert s.book.cash == D(799) and s.equity() == D(799) + 20 * D(12)
    finally:
        await h.__aexit__(None, None, None)


async def test_target_reverses_in_one_order_and_never_sells_unfilled() -> None:
    Manual.plan = [[lambda s: s.buy(10)],
                   [lambda s: s.target(-5)],       # the buy is working: cancel it, wait
                   [lambda s: s.target(-5)],       # still waiting (cancel not confirmed)
                   [], [lambda s: s.target(-5)]]   # after the fill: one SELL of 15
    h = await harness()
    try:
        await h.feed([bar(0, "10"), bar(1, "10"), bar(2, "10")])
        assert reqs(h) == [("BUY", "10", "MARKET")]
        assert [c.client_order_id for c in h.outputs(CancelRequested)] == ["m-X-1"]
        await h.feed([filled("m-X-1", Side.BUY, "10", "10"), bar(3, "10"), bar(4, "10")])
        assert reqs(h)[1:] == [("SELL", "15", "MARKET")]
    finally:
        await h.__aexit__(None, None, None)


async def test_target_fraction_and_notional_are_signed() -> None:
    Manual.plan = [[lambda s: s.target_fraction(-1)], [lambda s: s.target_notional(0)]]
    h = await harness({"initial_cash": "1000"})
    try:
        await h.feed([bar(0, "30")])
        assert reqs(h) == [("SELL", "33", "MARKET")]  # 1000 / 30 -> 33 whole units
        await h.feed([filled("m-X-1", Side.SELL, "33", "30"), bar(1, "30")])
        assert reqs(h)[1:] == [("BUY", "33", "MARKET")]
    finally:
        await h.__aexit__(None, None, None)


async def test_flatten_cancels_entries_attaches_exits_and_sells_the_filled() -> None:
    Manual.plan = [[lambda s: s.buy(10), lambda s: s.buy(4, limit=D(9))],
                   [lambda s: s.flatten()]]
    h = await harness()
    try:
        await h.feed([bar(0, "10"), filled("m-X-1", Side.BUY, "6", "10", leaves="4"),
                      bar(1, "10")])
        out = h.outputs(OrderRequested)[2:]
        assert [(r.side.value, str(r.qty), r.parent_order_id, r.reduce_only) for r in out] == [
            ("SELL", "10", "m-X-1", True), ("SELL", "4", "m-X-2", True),
            ("SELL", "6", None, True)]
        assert [c.client_order_id for c in h.outputs(CancelRequested)] == ["m-X-1", "m-X-2"]
    finally:
        await h.__aexit__(None, None, None)


async def test_order_types_are_inferred_and_invalid_orders_raise() -> None:
    Manual.plan = [[lambda s: s.buy(1, trigger=D(11)),
                    lambda s: s.buy(1, trigger=D(11), limit=D("11.5")),
                    lambda s: s.sell(1, trailing_offset=D("0.5")),
                    lambda s: s.buy(1, trigger=D(9), order_type=OrderType.MARKET_IF_TOUCHED)]]
    h = await harness()
    try:
        await h.feed([bar(0, "10")])
        assert [t for _, _, t in reqs(h)] == ["STOP", "STOP_LIMIT", "TRAILING_STOP",
                                              "MARKET_IF_TOUCHED"]
        s: Any = h.plugin("m")
        with pytest.raises(ValueError, match="needs limit_price"):
            s.buy(1, order_type=OrderType.LIMIT)
    finally:
        await h.__aexit__(None, None, None)


async def test_bracket_oco_and_oto_build_one_linked_list_each() -> None:
    Manual.plan = [[
        lambda s: s.bracket(Side.BUY, 10, take_profit=D(12), stop_loss=D(9)),
        lambda s: s.oco(OrderSpec(side=Side.BUY, qty=D(1), limit=D(9)),
                        OrderSpec(side=Side.SELL, qty=D(1), limit=D(11))),
        lambda s: s.oto(OrderSpec(side=Side.BUY, qty=D(2)),
                        OrderSpec(side=Side.SELL, qty=D(2), trigger=D(8))),
    ]]
    h = await harness()
    try:
        await h.feed([bar(0, "10")])
        r = h.outputs(OrderRequested)
        rows = [(x.client_order_id, x.order_list_id, x.contingency.value, x.parent_order_id,
                 x.linked_order_ids) for x in r]
        assert rows == [
            ("m-X-1", "m-X-1", "OTO", None, ["m-X-2", "m-X-3"]),
            ("m-X-2", "m-X-1", "OUO", "m-X-1", ["m-X-3"]),
            ("m-X-3", "m-X-1", "OUO", "m-X-1", ["m-X-2"]),
            ("m-X-4", "m-X-4", "OCO", None, ["m-X-5"]),
            ("m-X-5", "m-X-4", "OCO", None, ["m-X-4"]),
            ("m-X-6", "m-X-6", "OTO", None, ["m-X-7"]),
            ("m-X-7", "m-X-6", "NONE", "m-X-6", []),
        ]
        assert (r[1].order_type, r[2].order_type) == (OrderType.LIMIT, OrderType.STOP)
        assert r[1].reduce_only and r[2].reduce_only
        s: Any = h.plugin("m")
        assert s.intended() == D(12)  # entries count; exits of working parents do not
    finally:
        await h.__aexit__(None, None, None)


async def test_another_producers_duplicate_never_drops_the_live_order() -> None:
    Manual.plan = [[lambda s: s.buy(10, limit=D(9))]]
    h = await harness()
    try:
        await h.feed([bar(0, "10")])
        (mine,) = h.outputs(OrderRequested)
        s: Any = h.plugin("m")
        dup = OrderRejected(id="rj", ts=2, producer="risk", causation="someone-elses-request",
                            client_order_id=mine.client_order_id, account="default",
                            instrument="X", code="DUPLICATE_ORDER", reason="dup")
        await h.feed([dup])
        assert s.intended() == D(10) and mine.client_order_id in s.book.orders
        # a rejection of its own request does drop it
        own = OrderRejected(id="rj2", ts=2, producer="risk", causation=mine.id,
                            client_order_id=mine.client_order_id, account="default",
                            instrument="X", code="MAX_POSITION", reason="no")
        await h.feed([own])
        assert s.intended() == 0
    finally:
        await h.__aexit__(None, None, None)


def test_book_refuses_fills_of_finished_orders_and_children_of_empty_parents() -> None:
    book = OrderBook(D(1000))
    book.on_sent("p", "X", D(10), request_id="r1")
    book.on_sent("c", "X", D(-10), request_id="r2", parent="p")
    assert book.intended("X") == D(10)
    book.on_done("p")  # rejected, nothing filled: the child is dead too
    assert book.orders == {}
    assert book.on_fill("c", "X", D(-10), D(0), D(10)) is False
    assert book.on_fill("p", "X", D(10), D(0), D(10)) is False
    assert book.position("X") == 0 and book.invalid_fills == 2 and book.cash == D(1000)
    # a partly filled parent shrinks its children to what it filled
    book.on_sent("p2", "X", D(10))
    book.on_sent("tp", "X", D(-10), parent="p2", linked=["sl"])
    book.on_sent("sl", "X", D(-10), parent="p2", linked=["tp"])
    assert book.on_fill("p2", "X", D(4), D(6), D(10))
    book.on_done("p2")
    assert book.orders["tp"].qty == D(-4) and book.orders["sl"].qty == D(-4)
    assert book.intended("X") == 0  # 4 held, one exit of 4 counts once
    book.on_updated("sl", D(1))
    assert book.orders["sl"].qty == D(-1)
    restored = OrderBook.from_state(book.state())
    assert restored.intended("X") == 0 and restored.finished == book.finished


async def test_updates_from_the_venue_reach_the_book() -> None:
    Manual.plan = [[lambda s: s.buy(10)]]
    h = await harness()
    try:
        await h.feed([bar(0, "10"), OrderUpdated(
            id="u", ts=2, producer="paper", client_order_id="m-X-1", account="default",
            instrument="X", venue="paper", qty=D(4))])
        s: Any = h.plugin("m")
        assert s.intended() == D(4)
    finally:
        await h.__aexit__(None, None, None)

