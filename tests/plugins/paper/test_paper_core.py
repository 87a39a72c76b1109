"""PaperBroker (sans-IO): each fill mode, limits, fees, slippage, partial fills, cancels."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    Bar,
    CancelRequested,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
    Tick,
    TimeInForce,
)
from kernel import convert_config
from plugins.paper import Out, PaperBroker, PaperConfig

MIN = 60


def broker(**config: Any) -> PaperBroker:
    return PaperBroker(convert_config(config, PaperConfig, prefix="plugin.paper"))


def sub(coid: str, side: Side, qty: str, limit: str | None = None,
        tif: TimeInForce = TimeInForce.GTC, instrument: str = "X",
        account: str = "default") -> OrderSubmitted:
    req = OrderRequested(
        id=f"r-{coid}", ts=0, producer="s", client_order_id=coid, account=account,
        instrument=instrument, side=side, qty=D(qty),
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else D(limit), time_in_force=tif)
    return OrderSubmitted(id=f"s-{coid}", ts=0, producer="execution", client_order_id=coid,
                          account=account, venue="paper", request=req)


def bar(i: int, o: str, h: str, lo: str, c: str, v: str = "1000",
        instrument: str = "X") -> Bar:
    return Bar(id=f"b{i}", ts=(i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=i * MIN, interval_ns=MIN, open=D(o), high=D(h), low=D(lo), close=D(c),
               volume=D(v))


def tick(i: int, bid: str, ask: str, size: str | None = None) -> Tick:
    return Tick(id=f"t{i}", ts=i, producer="md", instrument="X", bid=D(bid), ask=D(ask),
                size=None if size is None else D(size))


def fills(outs: list[Out]) -> list[dict[str, Any]]:
    return [o.fields for o in outs if o.cls is OrderFilled]


def only(outs: list[Out], cls: type) -> dict[str, Any]:
    assert [o.cls for o in outs] == [cls], outs
    return outs[0].fields


# -- fill modes ---------------------------------------------------------------------


def test_next_open_fills_market_orders_at_the_next_bars_open() -> None:
    b = broker()
    assert b.on_bar(bar(0, "100", "101", "99", "100.5")) == []
    assert b.submit(sub("o1", Side.BUY, "2")) == []  # nothing until the next bar
    f = only(b.on_bar(bar(1, "100.7", "102", "100", "101")), OrderFilled)
    assert f == {
        "client_order_id": "o1", "account": "default", "instrument": "X", "venue": "paper",
        "fill_id": "o1-1", "side": Side.BUY, "qty": D(2), "price": D("100.7"),
        "fee": D("0.00"), "cum_qty": D(2), "leaves_qty": D(0), "currency": "USD",
    }
    assert b.orders == {}
    assert b.on_bar(bar(2, "1", "1", "1", "1")) == []  # filled once only


def test_next_open_only_for_the_orders_instrument() -> None:
    b = broker()
    b.submit(sub("o1", Side.SELL, "1", instrument="Y"))
    assert b.on_bar(bar(0, "5", "5", "5", "5", instrument="X")) == []
    f = only(b.on_bar(bar(1, "7", "8", "6", "7", instrument="Y")), OrderFilled)
    assert (f["price"], f["side"]) == (D(7), Side.SELL)


def test_bar_close_fills_at_the_last_seen_close_on_arrival() -> None:
    b = broker(fill="bar_close")
    r = only(b.submit(sub("o0", Side.BUY, "1")), OrderRejected)
    assert r["code"] == "NO_MARKET_DATA" and r["source"] == "paper"
    b.on_bar(bar(0, "100", "101", "99", "100.5"))
    f = only(b.submit(sub("o1", Side.SELL, "3")), OrderFilled)
    assert (f["price"], f["qty"], f["leaves_qty"]) == (D("100.5"), D(3), D(0))


def test_next_tick_buys_at_ask_and_sells_at_bid() -> None:
    b = broker(fill="next_tick")
    b.submit(sub("b1", Side.BUY, "1"))
    b.submit(sub("s1", Side.SELL, "1"))
    assert b.on_bar(bar(0, "1", "1", "1", "1")) == []  # bars don't fill in tick mode
    outs = fills(b.on_tick(tick(1, "99.9", "100.1")))
    assert [(f["client_order_id"], f["price"]) for f in outs] == [
        ("b1", D("100.1")), ("s1", D("99.9"))]


# -- limits -------------------------------------------------------------------------


def test_buy_limit_rests_until_low_reaches_it_then_fills_at_min_open_limit() -> None:
    b = broker()
    b.submit(sub("l1", Side.BUY, "1", limit="99"))
    b.submit(sub("l2", Side.BUY, "1", limit="99"))
    assert b.on_bar(bar(0, "100", "101", "99.5", "100")) == []  # low 99.5 > 99
    assert set(b.orders) == {"l1", "l2"}
    # touched intrabar: fill at the limit
    outs = fills(b.on_bar(bar(1, "100", "100", "98.5", "99")))
    assert [(f["client_order_id"], f["price"]) for f in outs] == [("l1", D(99)), ("l2", D(99))]
    # gapped through: fill at the (better) open
    b.submit(sub("l3", Side.BUY, "1", limit="99"))
    f = only(b.on_bar(bar(2, "97", "98", "96", "97")), OrderFilled)
    assert f["price"] == D(97)


def test_sell_limit_fills_when_high_reaches_it_at_max_open_limit() -> None:
    b = broker()
    b.submit(sub("l1", Side.SELL, "1", limit="101"))
    assert b.on_bar(bar(0, "100", "100.9", "99", "100")) == []
    assert only(b.on_bar(bar(1, "100", "101", "99", "100")), OrderFilled)["price"] == D(101)
    b.submit(sub("l2", Side.SELL, "1", limit="101"))
    assert only(b.on_bar(bar(2, "103", "104", "102", "103")), OrderFilled)["price"] == D(103)


def test_bar_close_limit_is_checked_on_arrival_then_rests() -> None:
    b = broker(fill="bar_close")
    b.on_bar(bar(0, "100", "101", "99", "100"))
    assert only(b.submit(sub("m", Side.BUY, "1", limit="100.5")), OrderFilled)["price"] == D(100)
    assert b.submit(sub("r", Side.BUY, "1", limit="99.5")) == []  # close 100 > 99.5: rests
    assert only(b.on_bar(bar(1, "99.8", "100", "99.4", "99.9")), OrderFilled)["price"] == D(
        "99.5")


def test_tick_limits_fill_on_crossing() -> None:
    b = broker(fill="next_tick")
    b.submit(sub("lb", Side.BUY, "1", limit="100"))
    b.submit(sub("ls", Side.SELL, "1", limit="101"))
    assert b.on_tick(tick(1, "100.0", "100.2")) == []
    assert only(b.on_tick(tick(2, "99.7", "99.9")), OrderFilled)["price"] == D("99.9")
    assert only(b.on_tick(tick(3, "101.2", "101.3")), OrderFilled)["price"] == D("101.2")


def test_ioc_limit_not_filled_on_the_next_bar_is_cancelled() -> None:
    b = broker()
    b.submit(sub("ioc", Side.BUY, "1", limit="90", tif=TimeInForce.IOC))
    c = only(b.on_bar(bar(0, "100", "101", "99", "100")), OrderCancelled)
    assert c["client_order_id"] == "ioc" and c["filled_qty"] == D(0)
    assert "IOC" in c["reason"] and b.orders == {}
    b.submit(sub("ioc2", Side.BUY, "1", limit="100", tif=TimeInForce.IOC))
    assert only(b.on_bar(bar(1, "100", "101", "99", "100")), OrderFilled)["leaves_qty"] == 0


# -- fees, slippage, rounding ----------------------------------------------------------


def test_fees_bps_per_unit_and_rounding() -> None:
    b = broker(fee_bps="2.5", fee_per_unit="0.005")
    b.submit(sub("o", Side.BUY, "3"))
    f = only(b.on_bar(bar(0, "123.45", "124", "123", "123.5")), OrderFilled)
    # 370.35 * 0.00025 = 0.0925875; + 3 * 0.005 = 0.1075875 -> 0.11 (half-up to cents)
    assert f["fee"] == D("0.11")


def test_min_fee_is_per_order_and_partial_fees_add_up() -> None:
    b = broker(fee_bps="10", min_fee="1", max_volume_participation="0.1")
    b.submit(sub("o", Side.BUY, "25"))
    outs = []
    for i in range(3):
        outs += fills(b.on_bar(bar(i, "100", "100", "100", "100", v="100")))
    assert [f["qty"] for f in outs] == [D(10), D(10), D(5)]
    # order fee: max(1, 2500 * 0.001) = 2.50, charged as 1.00 (min) then increases
    assert [f["fee"] for f in outs] == [D("1.00"), D("1.00"), D("0.50")]
    assert sum(f["fee"] for f in outs) == D("2.50")


def test_slippage_is_adverse_and_rounded_adversely_to_the_tick() -> None:
    b = broker(slippage_bps="10", tick_size="0.01")
    b.submit(sub("b", Side.BUY, "1"))
    b.submit(sub("s", Side.SELL, "1"))
    outs = fills(b.on_bar(bar(0, "100.03", "101", "99", "100")))
    # 100.03 * 1.001 = 100.13003 -> up to 100.14; 100.03 * 0.999 = 99.92997 -> down to 99.92
    assert [f["price"] for f in outs] == [D("100.14"), D("99.92")]


def test_per_instrument_tick_and_limit_caps_slippage() -> None:
    b = broker(slippage_bps="50", tick_sizes={"X": "0.25"})
    b.submit(sub("l", Side.BUY, "1", limit="100.2"))
    # base min(open 100, limit 100.2) = 100 -> 100.5 with slippage -> capped at the limit
    assert only(b.on_bar(bar(0, "100", "101", "99", "100")), OrderFilled)["price"] == D("100.2")
    b.submit(sub("m", Side.BUY, "1"))
    # 99.1 * 1.005 = 99.5955 -> up to the 0.25 grid: 99.75
    assert only(b.on_bar(bar(1, "99.1", "100", "99", "100")), OrderFilled)["price"] == D("99.75")


# -- partial fills -----------------------------------------------------------------------


def test_participation_shares_a_bars_volume_in_arrival_order() -> None:
    b = broker(max_volume_participation="0.05")
    b.submit(sub("a", Side.BUY, "30"))
    b.submit(sub("b", Side.SELL, "30"))
    outs = fills(b.on_bar(bar(0, "10", "10", "10", "10", v="1000")))  # cap 50
    assert [(f["client_order_id"], f["qty"], f["cum_qty"], f["leaves_qty"]) for f in outs] == [
        ("a", D(30), D(30), D(0)), ("b", D(20), D(20), D(10))]
    outs = fills(b.on_bar(bar(1, "11", "11", "11", "11", v="100")))  # cap 5
    assert [(f["fill_id"], f["qty"], f["price"], f["leaves_qty"]) for f in outs] == [
        ("b-2", D(5), D(11), D(5))]
    f = only(b.on_bar(bar(2, "11", "11", "11", "11", v="10")), OrderFilled)  # cap 0.5
    assert (f["qty"], f["cum_qty"], f["leaves_qty"]) == (D("0.5"), D("25.5"), D("4.5"))


def test_participation_rounds_down_to_the_lot() -> None:
    b = broker(max_volume_participation="0.1", lot_size="1")
    b.submit(sub("a", Side.BUY, "3"))
    assert b.on_bar(bar(0, "10", "10", "10", "10", v="9")) == []  # 0.9 -> 0 lots
    assert only(b.on_bar(bar(1, "10", "10", "10", "10", v="25")), OrderFilled)["qty"] == D(2)


def test_ioc_partial_fill_cancels_the_rest() -> None:
    b = broker(max_volume_participation="0.1")
    b.submit(sub("i", Side.BUY, "50", tif=TimeInForce.IOC))
    outs = b.on_bar(bar(0, "10", "10", "10", "10", v="100"))
    assert [o.cls for o in outs] == [OrderFilled, OrderCancelled]
    assert outs[0].fields["qty"] == D(10) and outs[1].fields["filled_qty"] == D(10)


def test_tick_participation_uses_size() -> None:
    b = broker(fill="next_tick", max_volume_participation="0.5")
    b.submit(sub("a", Side.BUY, "3"))
    assert only(b.on_tick(tick(1, "1", "2", size="4")), OrderFilled)["qty"] == D(2)
    assert only(b.on_tick(tick(2, "1", "2")), OrderFilled)["qty"] == D(1)  # no size: no cap


# -- cancels, rejects, repeats ------------------------------------------------------------


def cancel(coid: str, account: str = "default", venue: str | None = None) -> CancelRequested:
    return CancelRequested(id=f"c-{coid}", ts=0, producer="risk", client_order_id=coid,
                           account=account, reason="halt", venue=venue)


def test_cancel_a_resting_order_reports_filled_qty() -> None:
    b = broker(max_volume_participation="0.01")
    b.submit(sub("a", Side.BUY, "30"))
    b.on_bar(bar(0, "10", "10", "10", "10", v="1000"))  # fills 10
    assert b.cancel(cancel("a", account="other")) == []
    assert b.cancel(cancel("a", venue="ib")) == []
    c = only(b.cancel(cancel("a")), OrderCancelled)
    assert c == {"client_order_id": "a", "account": "default", "instrument": "X",
                 "venue": "paper", "reason": "halt", "filled_qty": D(10)}
    assert b.orders == {} and b.on_bar(bar(1, "10", "10", "10", "10")) == []


def test_cancel_of_unknown_or_finished_orders_is_ignored() -> None:
    b = broker()
    assert b.cancel(cancel("nope")) == []
    b.submit(sub("a", Side.BUY, "1"))
    b.on_bar(bar(0, "10", "10", "10", "10"))
    assert b.cancel(cancel("a")) == []
    assert b.cancel(cancel("a")) == []


def test_rejects_and_repeats() -> None:
    b = broker()
    assert only(b.submit(sub("z", Side.BUY, "0")), OrderRejected)["code"] == "INVALID_QTY"
    bad = OrderSubmitted(id="x", ts=0, producer="e", client_order_id="l", account="default",
                         venue="paper", request=OrderRequested(
                             id="r", ts=0, producer="s", client_order_id="l", account="default",
                             instrument="X", side=Side.BUY, qty=D(1),
                             order_type=OrderType.LIMIT))
    assert only(b.submit(bad), OrderRejected)["code"] == "MISSING_LIMIT_PRICE"
    assert b.submit(sub("a", Side.BUY, "1")) == []
    assert b.submit(sub("a", Side.BUY, "1")) == []  # a repeat is not a second order
    assert len(fills(b.on_bar(bar(0, "10", "10", "10", "10")))) == 1
    assert b.submit(sub("a", Side.BUY, "1")) == []  # nor after it finished
    assert b.on_bar(bar(1, "10", "10", "10", "10")) == []


# -- restart ----------------------------------------------------------------------------


def test_reconcile_rebuilds_working_orders_from_a_snapshot() -> None:
    def scenario(b: PaperBroker) -> None:
        b.on_bar(bar(0, "10", "10", "10", "10", v="100"))
        b.submit(sub("a", Side.BUY, "25", limit="10"))
        b.submit(sub("m", Side.SELL, "4"))
        b.on_bar(bar(1, "10", "10", "10", "10", v="100"))

    config = {"max_volume_participation": "0.1", "fee_per_unit": "0.1", "min_fee": "1"}
    live = broker(**config)
    scenario(live)
    restarted = broker(**config)
    working = restarted.reconcile(live.snapshot())
    assert [o.client_order_id for o in working] == ["a", "m"]
    assert working[0].cum_qty == D(10) and working[0].fee_charged == D("1.00")
    later = [bar(2, "9", "10", "9", "9.5", v="100"), bar(3, "9", "10", "9", "9.5", v="100")]
    assert [live.on_bar(x) for x in later] == [restarted.on_bar(x) for x in later]
    assert restarted.submit(sub("a", Side.BUY, "1")) == []  # still known


@pytest.mark.parametrize("raw", [
    {"fee_bps": "-1"}, {"tick_size": "0"}, {"max_volume_participation": "1.5"},
    {"fill": "mid"}, {"tick_sizes": {"X": "-1"}},
])
def test_config_validation(raw: dict[str, Any]) -> None:
    from kernel import ConfigError
    with pytest.raises(ConfigError):
        convert_config(raw, PaperConfig, prefix="plugin.paper")
