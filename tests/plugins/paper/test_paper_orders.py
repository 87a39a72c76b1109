"""Paper's order types and time in force, with hand-computed prices (docs/plugins/paper.md)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from contracts import (
    Bar,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Side,
    Tick,
    TimeInForce,
    TrailingOffsetType,
)
from kernel import convert_config
from plugins.paper import Out, PaperBroker, PaperConfig

MIN = 60
DAY = 86_400 * 1_000_000_000


def broker(**config: Any) -> PaperBroker:
    return PaperBroker(convert_config(config, PaperConfig, prefix="plugin.paper"))


def sub(coid: str, side: Side, qty: str, order_type: OrderType = OrderType.MARKET, *,
        ts: int = 0, instrument: str = "X", **fields: Any) -> OrderSubmitted:
    for key in ("limit_price", "trigger_price", "trailing_offset", "ref_price"):
        if isinstance(fields.get(key), str):
            fields[key] = D(fields[key])
    req = OrderRequested(id=f"r-{coid}", ts=ts, producer="s", client_order_id=coid,
                         account="default", instrument=instrument, side=side, qty=D(qty),
                         order_type=order_type, **fields)
    return OrderSubmitted(id=f"s-{coid}", ts=ts, producer="execution", client_order_id=coid,
                          account="default", venue="paper", request=req)


def bar(i: int, o: str, h: str, lo: str, c: str, v: str = "1000", *, t0: int = 0,
        instrument: str = "X") -> Bar:
    return Bar(id=f"b{i}", ts=t0 + (i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=t0 + i * MIN, interval_ns=MIN, open=D(o), high=D(h), low=D(lo),
               close=D(c), volume=D(v))


def of(outs: list[Out], cls: type) -> list[dict[str, Any]]:
    return [o.fields for o in outs if o.cls is cls]


def kinds(outs: list[Out]) -> list[str]:
    return [o.cls.__name__ for o in outs]


# -- stops ----------------------------------------------------------------------
def test_buy_stop_triggers_when_the_bar_trades_through_and_fills_at_the_trigger() -> None:
    b = broker()
    assert b.submit(sub("s", Side.BUY, "3", OrderType.STOP, trigger_price="105")) == []
    assert b.on_bar(bar(0, "100", "104.99", "99", "104")) == []  # never reached 105
    outs = b.on_bar(bar(1, "103", "106", "102", "105.5"))
    assert kinds(outs) == ["OrderTriggered", "OrderFilled"]
    (trig,) = of(outs, OrderTriggered)
    assert (trig["trigger_price"], trig["price"]) == (D(105), D(105))
    (fill,) = of(outs, OrderFilled)
    assert (fill["price"], fill["qty"], fill["leaves_qty"]) == (D(105), D(3), D(0))


def test_sell_stop_gapping_through_the_trigger_fills_at_the_open() -> None:
    b = broker(slippage_bps="10", tick_size="0.01")
    b.submit(sub("s", Side.SELL, "2", OrderType.STOP, trigger_price="95"))
    outs = b.on_bar(bar(0, "93", "94", "90", "91"))
    (trig,) = of(outs, OrderTriggered)
    assert trig["price"] == D(93)
    (fill,) = of(outs, OrderFilled)
    # 93 less 10 bp slippage = 92.907, rounded down (adversely for a sell) to 92.90
    assert fill["price"] == D("92.90")


def test_stop_limit_becomes_a_limit_at_the_trigger() -> None:
    b = broker()
    # marketable at the trigger: fills there
    b.submit(sub("a", Side.BUY, "1", OrderType.STOP_LIMIT, trigger_price="105",
                 limit_price="105.5"))
    # limit below the trigger: triggered, then rests as a buy limit at 104
    b.submit(sub("b", Side.BUY, "1", OrderType.STOP_LIMIT, trigger_price="105",
                 limit_price="104"))
    outs = b.on_bar(bar(0, "103", "107", "102", "106"))
    assert [f["trigger_price"] for f in of(outs, OrderTriggered)] == [D(105), D(105)]
    assert [(f["client_order_id"], f["price"]) for f in of(outs, OrderFilled)] == [
        ("a", D(105))]
    outs = b.on_bar(bar(1, "104.5", "105", "103.5", "104"))
    assert [(f["client_order_id"], f["price"]) for f in of(outs, OrderFilled)] == [
        ("b", D(104))]
    assert of(outs, OrderTriggered) == []  # triggered once


def test_stop_limit_gapping_past_its_limit_rests_then_fills_at_the_limit() -> None:
    b = broker()
    b.submit(sub("g", Side.BUY, "1", OrderType.STOP_LIMIT, trigger_price="105",
                 limit_price="106"))
    outs = b.on_bar(bar(0, "107", "108", "106.5", "107"))
    assert of(outs, OrderTriggered)[0]["price"] == D(107) and of(outs, OrderFilled) == []
    outs = b.on_bar(bar(1, "106.5", "107", "105.8", "106"))
    assert of(outs, OrderFilled)[0]["price"] == D(106)  # min(open 106.5, limit 106)


# -- trailing stops -------------------------------------------------------------
def test_sell_trailing_stop_ratchets_up_only_and_fills_at_its_trigger() -> None:
    b = broker(tick_size="0.01")
    outs = b.submit(sub("t", Side.SELL, "4", OrderType.TRAILING_STOP, trailing_offset="2",
                        ref_price="100"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(98)]  # 100 - 2
    outs = b.on_bar(bar(0, "100", "103", "99.5", "102"))  # low 99.5 > 98: not hit
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(101)]  # best 103 - 2
    outs = b.on_bar(bar(1, "102", "102.5", "101.5", "102"))  # high below the best: no move
    assert outs == []
    outs = b.on_bar(bar(2, "102", "102.5", "100.5", "101"))
    assert kinds(outs) == ["OrderTriggered", "OrderFilled"]
    assert of(outs, OrderFilled)[0]["price"] == D(101)


def test_trailing_offset_in_basis_points_rounds_away_from_the_market() -> None:
    b = broker(tick_size="0.01")
    outs = b.submit(sub("t", Side.SELL, "1", OrderType.TRAILING_STOP, trailing_offset="75",
                        trailing_offset_type=TrailingOffsetType.BASIS_POINTS,
                        ref_price="100.05"))
    # 100.05 x (1 - 0.0075) = 99.299625 -> down to the tick: 99.29
    assert of(outs, OrderUpdated)[0]["trigger_price"] == D("99.29")
    b2 = broker(tick_size="0.01")
    outs = b2.submit(sub("u", Side.BUY, "1", OrderType.TRAILING_STOP, trailing_offset="75",
                         trailing_offset_type=TrailingOffsetType.BASIS_POINTS,
                         ref_price="100.05"))
    # 100.05 x 1.0075 = 100.800375 -> up to the tick: 100.81
    assert of(outs, OrderUpdated)[0]["trigger_price"] == D("100.81")


def test_buy_trailing_stop_follows_the_low_and_gaps_fill_at_the_open() -> None:
    b = broker()
    b.submit(sub("t", Side.BUY, "1", OrderType.TRAILING_STOP, trailing_offset="1",
                 ref_price="100"))  # trigger 101
    outs = b.on_bar(bar(0, "100", "100.5", "97", "97.5"))
    assert of(outs, OrderUpdated)[0]["trigger_price"] == D(98)  # best 97 + 1
    outs = b.on_bar(bar(1, "99", "99.5", "98.5", "99"))
    assert of(outs, OrderFilled)[0]["price"] == D(99)  # opened above 98: fills at the open


def test_a_given_trigger_is_kept_when_it_is_more_favourable() -> None:
    b = broker()
    outs = b.submit(sub("t", Side.SELL, "1", OrderType.TRAILING_STOP, trailing_offset="5",
                        trigger_price="97", ref_price="100"))
    assert of(outs, OrderUpdated) == []  # 100 - 5 = 95 is worse than the given 97


# -- touch orders ---------------------------------------------------------------
def test_market_if_touched_buys_on_the_dip_and_sells_on_the_rise() -> None:
    b = broker()
    b.submit(sub("buy", Side.BUY, "1", OrderType.MARKET_IF_TOUCHED, trigger_price="95"))
    b.submit(sub("sell", Side.SELL, "1", OrderType.MARKET_IF_TOUCHED, trigger_price="105"))
    assert of(b.on_bar(bar(0, "100", "104", "96", "100")), OrderFilled) == []
    outs = b.on_bar(bar(1, "98", "99", "94.5", "95"))
    assert [(f["client_order_id"], f["price"]) for f in of(outs, OrderFilled)] == [
        ("buy", D(95))]
    outs = b.on_bar(bar(2, "107", "108", "106", "107"))
    assert [(f["client_order_id"], f["price"]) for f in of(outs, OrderFilled)] == [
        ("sell", D(107))]  # gapped above the trigger: at the open


def test_limit_if_touched_becomes_a_limit_once_touched() -> None:
    b = broker()
    b.submit(sub("l", Side.SELL, "1", OrderType.LIMIT_IF_TOUCHED, trigger_price="105",
                 limit_price="104.8"))
    outs = b.on_bar(bar(0, "103", "106", "102", "104"))
    assert of(outs, OrderFilled)[0]["price"] == D(105)  # touched at 105 >= limit 104.8


# -- time in force --------------------------------------------------------------
def test_fok_fills_completely_or_is_cancelled_unfilled() -> None:
    b = broker(max_volume_participation="0.1")  # 100 of a 1000 bar
    b.submit(sub("big", Side.BUY, "150", time_in_force=TimeInForce.FOK))
    b.submit(sub("ok", Side.BUY, "100", time_in_force=TimeInForce.FOK))
    outs = b.on_bar(bar(0, "10", "10", "10", "10"))
    assert kinds(outs) == ["OrderCancelled", "OrderFilled"]
    assert of(outs, OrderCancelled)[0]["filled_qty"] == D(0)
    assert of(outs, OrderFilled)[0]["qty"] == D(100)


def test_day_orders_expire_when_a_bar_of_a_later_utc_day_opens() -> None:
    b = broker()
    t0 = 5 * DAY
    b.submit(sub("d", Side.BUY, "1", OrderType.LIMIT, limit_price="90", ts=t0 + 100,
                 time_in_force=TimeInForce.DAY))
    assert b.on_bar(bar(0, "100", "101", "99", "100", t0=t0 + 1000)) == []
    outs = b.on_bar(bar(0, "89", "89", "80", "85", t0=6 * DAY))
    assert kinds(outs) == ["OrderExpired"]  # expired before the bar could fill it
    assert of(outs, OrderExpired)[0]["filled_qty"] == D(0)


def test_gtd_expires_at_the_first_bar_opening_at_or_after_expire_ts() -> None:
    b = broker()
    b.submit(sub("g", Side.BUY, "1", OrderType.LIMIT, limit_price="90",
                 time_in_force=TimeInForce.GTD, expire_ts=2 * MIN))
    assert b.on_bar(bar(0, "100", "101", "99", "100")) == []  # opens at 0
    assert b.on_bar(bar(1, "100", "101", "99", "100")) == []  # opens at 60
    assert kinds(b.on_bar(bar(2, "89", "90", "80", "85"))) == ["OrderExpired"]


def test_ioc_stop_is_cancelled_after_its_trigger_bar_not_before() -> None:
    b = broker(max_volume_participation="0.001")  # 1 of a 1000 bar
    b.submit(sub("i", Side.BUY, "3", OrderType.STOP, trigger_price="105",
                 time_in_force=TimeInForce.IOC))
    assert b.on_bar(bar(0, "100", "101", "99", "100")) == []  # waiting, not cancelled
    outs = b.on_bar(bar(1, "100", "106", "99", "105"))
    assert kinds(outs) == ["OrderTriggered", "OrderFilled", "OrderCancelled"]
    assert of(outs, OrderCancelled)[0]["filled_qty"] == D(1)


# -- flags ----------------------------------------------------------------------
def test_post_only_rejects_a_limit_that_would_trade_at_once_and_rests_otherwise() -> None:
    b = broker()
    b.on_bar(bar(0, "100", "100", "100", "100"))
    (out,) = b.submit(sub("take", Side.BUY, "1", OrderType.LIMIT, limit_price="101",
                          post_only=True))
    assert (out.cls, out.fields["code"]) == (OrderRejected, "POST_ONLY_WOULD_TRADE")
    assert b.submit(sub("make", Side.BUY, "1", OrderType.LIMIT, limit_price="99",
                        post_only=True)) == []
    outs = b.on_bar(bar(1, "99.5", "100", "98", "99"))
    assert of(outs, OrderFilled)[0]["price"] == D(99)


def test_reduce_only_fills_at_most_the_position_and_never_opens_one() -> None:
    b = broker()
    b.submit(sub("flat", Side.SELL, "5", reduce_only=True))
    outs = b.on_bar(bar(0, "100", "100", "100", "100"))
    assert kinds(outs) == ["OrderCancelled"]
    assert of(outs, OrderCancelled)[0]["reason"] == "reduce-only: no position to reduce"
    b.submit(sub("long", Side.BUY, "10"))
    b.on_bar(bar(1, "100", "100", "100", "100"))
    b.submit(sub("exit", Side.SELL, "15", reduce_only=True))
    outs = b.on_bar(bar(2, "101", "101", "101", "101"))
    assert [(f["qty"], f["leaves_qty"]) for f in of(outs, OrderFilled)] == [(D(10), D(5))]
    outs = b.on_bar(bar(3, "101", "101", "101", "101"))
    assert kinds(outs) == ["OrderCancelled"]  # the 5 left would open a short


# -- other modes ----------------------------------------------------------------
def test_tick_stop_triggers_on_the_ask_for_buys() -> None:
    b = broker(fill="next_tick")
    b.submit(sub("s", Side.BUY, "1", OrderType.STOP, trigger_price="1.2"))
    assert b.on_tick(Tick(id="t1", ts=1, producer="md", instrument="X", bid=D("1.18"),
                          ask=D("1.19"))) == []
    outs = b.on_tick(Tick(id="t2", ts=2, producer="md", instrument="X", bid=D("1.20"),
                          ask=D("1.21")))
    assert of(outs, OrderFilled)[0]["price"] == D("1.21")


def test_bar_close_checks_a_stop_against_the_last_close_on_arrival() -> None:
    b = broker(fill="bar_close")
    b.on_bar(bar(0, "100", "100", "97", "98"))
    outs = b.submit(sub("s", Side.SELL, "1", OrderType.STOP, trigger_price="99"))
    assert kinds(outs) == ["OrderTriggered", "OrderFilled"]
    assert of(outs, OrderFilled)[0]["price"] == D(98)


def test_instrument_specs_give_the_tick_and_the_lot() -> None:
    b = broker(slippage_bps="10", max_volume_participation="0.5",
               instrument_specs={"X": {"tick_size": "0.05", "lot_size": "100"}})
    b.submit(sub("m", Side.BUY, "1000"))
    (fill,) = of(b.on_bar(bar(0, "100", "100", "100", "100", v="999")), OrderFilled)
    # 100 x 1.001 = 100.1 -> up to the 0.05 tick: 100.10; 499.5 -> down to lots: 400
    assert (fill["price"], fill["qty"]) == (D("100.10"), D(400))
