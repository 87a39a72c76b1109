"""Paper's prices at their edges: a limit or trigger exactly at the bar's high or low (and
one tick away), gaps through triggers, trailing ratchets, slippage against a limit, fee
rounding; buys and sells, several instruments, quantities below 1."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR
from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    Bar,
    OrderCancelled,
    OrderFilled,
    OrderRequested,
    OrderSubmitted,
    OrderTriggered,
    OrderType,
    OrderUpdated,
    Side,
    Tick,
    TrailingOffsetType,
)
from kernel import convert_config
from plugins.paper import Out, PaperBroker, PaperConfig
from plugins.paper.matching import trailing_trigger
from plugins.paper.pricing import to_step

BUY, SELL = Side.BUY, Side.SELL
MIN = 60


def broker(**config: Any) -> PaperBroker:
    return PaperBroker(convert_config(config, PaperConfig, prefix="plugin.paper"))


def sub(coid: str, side: Side, qty: str, order_type: OrderType = OrderType.MARKET, *,
        instrument: str = "X", **fields: Any) -> OrderSubmitted:
    for key in ("limit_price", "trigger_price", "trailing_offset", "ref_price"):
        if isinstance(fields.get(key), str):
            fields[key] = D(fields[key])
    req = OrderRequested(id=f"r-{coid}", ts=0, producer="s", client_order_id=coid,
                         account="default", instrument=instrument, side=side, qty=D(qty),
                         order_type=order_type, **fields)
    return OrderSubmitted(id=f"s-{coid}", ts=0, producer="execution", client_order_id=coid,
                          account="default", venue="paper", request=req)


def bar(i: int, o: str, h: str, lo: str, c: str, v: str = "1000",
        instrument: str = "X") -> Bar:
    return Bar(id=f"b{i}{instrument}", ts=(i + 1) * MIN, producer="md", instrument=instrument,
               open_ts=i * MIN, interval_ns=MIN, open=D(o), high=D(h), low=D(lo), close=D(c),
               volume=D(v))


def tick(i: int, bid: str, ask: str) -> Tick:
    return Tick(id=f"t{i}", ts=i, producer="md", instrument="X", bid=D(bid), ask=D(ask))


def of(outs: list[Out], cls: type) -> list[dict[str, Any]]:
    return [o.fields for o in outs if o.cls is cls]


def filled(outs: list[Out]) -> list[tuple[str, D, D]]:
    """(client order id, qty, price) of each fill."""
    return [(f["client_order_id"], f["qty"], f["price"]) for f in of(outs, OrderFilled)]


# -- limits exactly at the bar's low / high ----------------------------------------------
def test_a_buy_limit_at_the_low_fills_one_tick_below_does_not() -> None:
    b = broker()
    b.submit(sub("at", BUY, "1", OrderType.LIMIT, limit_price="99"))
    b.submit(sub("below", BUY, "1", OrderType.LIMIT, limit_price="98.99"))
    assert filled(b.on_bar(bar(0, "100", "101", "99", "100"))) == [("at", D(1), D(99))]
    assert list(b.orders) == ["below"]


def test_a_sell_limit_at_the_high_fills_one_tick_above_does_not() -> None:
    b = broker()
    b.submit(sub("at", SELL, "1", OrderType.LIMIT, limit_price="101"))
    b.submit(sub("above", SELL, "1", OrderType.LIMIT, limit_price="101.01"))
    assert filled(b.on_bar(bar(0, "100", "101", "99", "100"))) == [("at", D(1), D(101))]
    assert list(b.orders) == ["above"]


@pytest.mark.parametrize(("side", "limit", "price"), [(SELL, "99.9", "99.9"),
                                                       (BUY, "100.1", "100.1")])
def test_slippage_never_takes_a_limit_past_its_limit(side: Side, limit: str,
                                                     price: str) -> None:
    b = broker(slippage_bps="50")
    b.submit(sub("l", side, "1", OrderType.LIMIT, limit_price=limit))
    # base: the open 100; 50 bp of slippage would give 99.5 / 100.5
    assert filled(b.on_bar(bar(0, "100", "101", "99", "100"))) == [("l", D(1), D(price))]


@pytest.mark.parametrize(("side", "price"), [(SELL, "99.5"), (BUY, "100.5")])
def test_slippage_within_the_limit_is_applied(side: Side, price: str) -> None:
    b = broker(slippage_bps="50")
    limit = "99" if side is SELL else "101"
    b.submit(sub("l", side, "1", OrderType.LIMIT, limit_price=limit))
    assert filled(b.on_bar(bar(0, "100", "101.5", "98.5", "100"))) == [("l", D(1), D(price))]


# -- stops exactly at the bar's high / low, and gaps ------------------------------------------
def test_a_buy_stop_at_the_high_triggers_one_tick_above_does_not() -> None:
    b = broker()
    b.submit(sub("at", BUY, "2", OrderType.STOP, trigger_price="105"))
    b.submit(sub("above", BUY, "2", OrderType.STOP, trigger_price="105.01"))
    outs = b.on_bar(bar(0, "100", "105", "99", "104"))
    assert [(t["client_order_id"], t["price"]) for t in of(outs, OrderTriggered)] == [
        ("at", D(105))]
    assert filled(outs) == [("at", D(2), D(105))]
    assert list(b.orders) == ["above"]


def test_a_sell_stop_at_the_low_triggers_one_tick_below_does_not() -> None:
    b = broker()
    b.submit(sub("at", SELL, "0.5", OrderType.STOP, trigger_price="95"))
    b.submit(sub("below", SELL, "0.5", OrderType.STOP, trigger_price="94.99"))
    outs = b.on_bar(bar(0, "100", "101", "95", "96"))
    assert filled(outs) == [("at", D("0.5"), D(95))]
    assert list(b.orders) == ["below"]


@pytest.mark.parametrize(("side", "trigger", "o", "price"), [
    (BUY, "105", "106.5", "106.5"),  # opens above a buy stop: fills at the open
    (BUY, "105", "105", "105"),  # opens exactly at it
    (SELL, "95", "93", "93"),
    (SELL, "95", "95", "95"),
])
def test_a_gap_through_a_stop_fills_at_the_open(side: Side, trigger: str, o: str,
                                                 price: str) -> None:
    b = broker()
    b.submit(sub("s", side, "1", OrderType.STOP, trigger_price=trigger))
    outs = b.on_bar(bar(0, o, str(max(D(o), D(107))), str(min(D(o), D(92))), o))
    assert [t["price"] for t in of(outs, OrderTriggered)] == [D(price)]
    assert filled(outs) == [("s", D(1), D(price))]


@pytest.mark.parametrize(("side", "trigger", "bar_", "price"), [
    (BUY, "95", ("100", "101", "95", "96"), "95"),  # touched at the low exactly
    (BUY, "95", ("94", "96", "93", "95"), "94"),  # opened below: the open
    (SELL, "105", ("100", "105", "99", "104"), "105"),
    (SELL, "105", ("106", "107", "104", "105"), "106"),
])
def test_touch_orders_at_the_extreme_and_through_a_gap(side: Side, trigger: str,
                                                       bar_: tuple[str, ...],
                                                       price: str) -> None:
    b = broker()
    b.submit(sub("t", side, "1", OrderType.MARKET_IF_TOUCHED, trigger_price=trigger))
    assert filled(b.on_bar(bar(0, *bar_))) == [("t", D(1), D(price))]


def test_touch_orders_one_tick_short_of_the_extreme_wait() -> None:
    b = broker()
    b.submit(sub("b", BUY, "1", OrderType.MARKET_IF_TOUCHED, trigger_price="94.99"))
    b.submit(sub("s", SELL, "1", OrderType.MARKET_IF_TOUCHED, trigger_price="105.01"))
    assert b.on_bar(bar(0, "100", "105", "95", "100")) == []


def test_a_stop_limit_sell_gapping_below_its_limit_rests_then_fills_at_the_limit() -> None:
    b = broker()
    b.submit(sub("g", SELL, "1", OrderType.STOP_LIMIT, trigger_price="95", limit_price="94"))
    outs = b.on_bar(bar(0, "93", "93.5", "92", "93"))
    assert of(outs, OrderTriggered)[0]["price"] == D(93) and filled(outs) == []
    assert filled(b.on_bar(bar(1, "93.5", "94", "93", "93.5"))) == [("g", D(1), D(94))]


def test_stops_on_ticks_trigger_exactly_at_the_ask_or_the_bid() -> None:
    b = broker(fill="next_tick")
    b.submit(sub("b", BUY, "1", OrderType.STOP, trigger_price="1.21"))
    b.submit(sub("s", SELL, "1", OrderType.STOP, trigger_price="1.18"))
    assert b.on_tick(tick(1, "1.185", "1.205")) == []
    assert filled(b.on_tick(tick(2, "1.19", "1.21"))) == [("b", D(1), D("1.21"))]
    assert filled(b.on_tick(tick(3, "1.18", "1.20"))) == [("s", D(1), D("1.18"))]


# -- trailing stops --------------------------------------------------------------------------
def test_a_sell_trailing_stop_ratchets_only_on_a_new_high() -> None:
    b = broker(tick_size="0.01")
    outs = b.submit(sub("t", SELL, "1", OrderType.TRAILING_STOP, trailing_offset="2",
                        ref_price="100"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(98)]
    outs = b.on_bar(bar(0, "100", "103", "99.5", "102"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(101)]
    assert b.on_bar(bar(1, "102", "103", "101.5", "102")) == []  # the same high: no move
    outs = b.on_bar(bar(2, "102", "103.5", "101.6", "103"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D("101.5")]
    outs = b.on_bar(bar(3, "103", "103.2", "101.5", "102"))  # the low touches it exactly
    assert filled(outs) == [("t", D(1), D("101.5"))]


def test_a_buy_trailing_stop_ratchets_only_on_a_new_low() -> None:
    b = broker(tick_size="0.01")
    outs = b.submit(sub("t", BUY, "1", OrderType.TRAILING_STOP, trailing_offset="2",
                        ref_price="100"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(102)]
    outs = b.on_bar(bar(0, "100", "101", "97", "98"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(99)]
    assert b.on_bar(bar(1, "98", "98.9", "97", "98")) == []  # the same low: no move
    outs = b.on_bar(bar(2, "98", "98.5", "96.5", "97"))
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D("98.5")]
    outs = b.on_bar(bar(3, "97", "98.5", "96.8", "98"))  # the high touches it exactly
    assert filled(outs) == [("t", D(1), D("98.5"))]


def test_a_trailing_stop_without_a_reference_starts_from_the_first_open() -> None:
    b = broker(tick_size="0.01")
    b.submit(sub("s", SELL, "1", OrderType.TRAILING_STOP, trailing_offset="3"))
    outs = b.on_bar(bar(0, "50", "51", "48", "50"))
    # best = open 50 -> trigger 47; then the high 51 moves it to 48, and the low
    # 48 did not reach the trigger 47 when the bar was checked
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(47), D(48)]


@pytest.mark.parametrize(("side", "offset", "kind", "tick", "trigger"), [
    (SELL, "0.5", TrailingOffsetType.PRICE, "0.05", "99.55"),  # 99.57 down to the tick
    (BUY, "0.5", TrailingOffsetType.PRICE, "0.05", "100.60"),  # 100.57 up
    (SELL, "0.5", TrailingOffsetType.PRICE, "0.01", "99.57"),  # on the grid: unchanged
    (BUY, "100", TrailingOffsetType.BASIS_POINTS, "0.01", "101.08"),  # 101.0707 up
    (SELL, "100", TrailingOffsetType.BASIS_POINTS, "0.01", "99.06"),  # 99.0693 down
])
def test_trailing_trigger_rounds_away_from_the_market(side: Side, offset: str,
                                                      kind: TrailingOffsetType, tick: str,
                                                      trigger: str) -> None:
    got = trailing_trigger(side, D("100.07"), D(offset), kind, D(tick))
    assert got == D(trigger) and str(got) == trigger


# -- rounding to the step ----------------------------------------------------------------
def test_to_step_leaves_a_price_on_the_grid_alone_and_rounds_one_off_it() -> None:
    assert str(to_step(D("100.10"), D("0.05"), ROUND_CEILING)) == "100.10"
    assert str(to_step(D("100.10"), D("0.05"), ROUND_FLOOR)) == "100.10"
    assert to_step(D("100.11"), D("0.05"), ROUND_CEILING) == D("100.15")
    assert to_step(D("100.11"), D("0.05"), ROUND_FLOOR) == D("100.10")
    assert to_step(D("0.7"), D("0.25"), ROUND_FLOOR) == D("0.50")


def test_each_instrument_rounds_to_its_own_tick() -> None:
    b = broker(slippage_bps="10", tick_sizes={"X": "0.25"}, tick_size="0.01")
    for coid, side, inst in [("xb", BUY, "X"), ("xs", SELL, "X"), ("yb", BUY, "Y"),
                             ("ys", SELL, "Y")]:
        b.submit(sub(coid, side, "1", instrument=inst))
    # X: 100.1 up to 100.25, 99.9 down to 99.75; Y (0.01): 50.05 and 49.95 on the grid
    assert filled(b.on_bar(bar(0, "100", "100", "100", "100"))) == [
        ("xb", D(1), D("100.25")), ("xs", D(1), D("99.75"))]
    assert filled(b.on_bar(bar(0, "50", "50", "50", "50", instrument="Y"))) == [
        ("yb", D(1), D("50.050")), ("ys", D(1), D("49.950"))]


# -- fees -------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [BUY, SELL])
def test_min_fee_applies_to_a_small_order(side: Side) -> None:
    b = broker(fee_bps="1", min_fee="1")
    b.submit(sub("o", side, "1"))
    (f,) = of(b.on_bar(bar(0, "100", "100", "100", "100")), OrderFilled)
    assert str(f["fee"]) == "1.00"  # 0.01 of bps, raised to the minimum


@pytest.mark.parametrize(("side", "per_unit", "fee"), [
    (BUY, "0.005", "0.01"), (SELL, "0.005", "0.01"),  # half a cent rounds up
    (SELL, "0.0049", "0.00"),
])
def test_per_unit_fees_round_half_up_to_the_fee_step(side: Side, per_unit: str,
                                                     fee: str) -> None:
    b = broker(fee_per_unit=per_unit)
    b.submit(sub("o", side, "1"))
    (f,) = of(b.on_bar(bar(0, "100", "100", "100", "100")), OrderFilled)
    assert str(f["fee"]) == fee


def test_fee_bps_and_per_unit_add_up_on_a_sell() -> None:
    b = broker(fee_bps="2", fee_per_unit="0.01", fee_step="0.001")
    b.submit(sub("o", SELL, "3"))
    (f,) = of(b.on_bar(bar(0, "250.5", "251", "250", "250.5")), OrderFilled)
    # 751.5 x 0.0002 = 0.1503; + 3 x 0.01 = 0.1803 -> 0.180
    assert str(f["fee"]) == "0.180"


# -- partial fills below 1 and reduce-only on the short side -----------------------------------
def test_partial_fills_below_one_unit_on_the_sell_side() -> None:
    b = broker(max_volume_participation="0.1", lot_size="0.1")
    b.submit(sub("o", SELL, "1.5"))
    got = []
    for i in range(3):
        for f in of(b.on_bar(bar(i, "10", "10", "10", "10", v="7.9")), OrderFilled):
            got.append((f["qty"], f["cum_qty"], f["leaves_qty"]))
    assert got == [(D("0.7"), D("0.7"), D("0.8")), (D("0.7"), D("1.4"), D("0.1")),
                   (D("0.1"), D("1.5"), D("0.0"))]
    assert b.orders == {}


def test_reduce_only_buy_covers_a_short_exactly_and_no_further() -> None:
    b = broker()
    b.submit(sub("short", SELL, "0.6"))
    b.on_bar(bar(0, "100", "100", "100", "100"))
    b.submit(sub("cover", BUY, "1", reduce_only=True))
    outs = b.on_bar(bar(1, "99", "99", "99", "99"))
    assert [(f["qty"], f["leaves_qty"]) for f in of(outs, OrderFilled)] == [(D("0.6"),
                                                                            D("0.4"))]
    outs = b.on_bar(bar(2, "99", "99", "99", "99"))
    assert [o.cls for o in outs] == [OrderCancelled]  # the 0.4 left would open a long
    b.submit(sub("again", BUY, "0.6", reduce_only=True))
    assert [o.cls for o in b.on_bar(bar(3, "99", "99", "99", "99"))] == [OrderCancelled]


def test_reduce_only_exactly_flattening_fills_whole() -> None:
    b = broker()
    b.submit(sub("long", BUY, "0.6", instrument="Y"))
    b.on_bar(bar(0, "10", "10", "10", "10", instrument="Y"))
    b.submit(sub("exit", SELL, "0.6", instrument="Y", reduce_only=True))
    outs = b.on_bar(bar(1, "11", "11", "11", "11", instrument="Y"))
    assert [o.cls for o in outs] == [OrderFilled]
    assert (outs[0].fields["qty"], outs[0].fields["leaves_qty"]) == (D("0.6"), D("0.0"))
    assert b.positions == {"default/Y": D("0.0")}


# -- limits equal to the price, stop-limits, post-only on trigger ---------------------------
@pytest.mark.parametrize(("side", "limit"), [(BUY, "100"), (SELL, "100")])
def test_a_limit_exactly_at_the_last_close_fills_on_arrival(side: Side, limit: str) -> None:
    b = broker(fill="bar_close")
    b.on_bar(bar(0, "99", "101", "98", "100"))
    assert filled(b.submit(sub("l", side, "1", OrderType.LIMIT, limit_price=limit))) == [
        ("l", D(1), D(100))]


@pytest.mark.parametrize(("side", "price"), [(BUY, "1.21"), (SELL, "1.19")])
def test_a_limit_exactly_at_the_quote_fills_on_a_tick(side: Side, price: str) -> None:
    b = broker(fill="next_tick")
    b.submit(sub("l", side, "1", OrderType.LIMIT, limit_price=price))
    assert filled(b.on_tick(tick(1, "1.19", "1.21"))) == [("l", D(1), D(price))]


@pytest.mark.parametrize(("side", "trigger", "bar_"), [
    (SELL, "95", ("100", "101", "95", "96")), (BUY, "105", ("100", "105", "99", "104"))])
def test_a_stop_limit_with_its_limit_at_the_trigger_fills_there(side: Side, trigger: str,
                                                                bar_: tuple[str, ...]) -> None:
    b = broker()
    b.submit(sub("sl", side, "1", OrderType.STOP_LIMIT, trigger_price=trigger,
                 limit_price=trigger))
    assert filled(b.on_bar(bar(0, *bar_))) == [("sl", D(1), D(trigger))]


def test_a_post_only_stop_limit_marketable_when_triggered_is_cancelled() -> None:
    b = broker()
    b.submit(sub("take", BUY, "1", OrderType.STOP_LIMIT, trigger_price="105",
                 limit_price="106", post_only=True))
    b.submit(sub("make", BUY, "1", OrderType.STOP_LIMIT, trigger_price="105",
                 limit_price="104", post_only=True))
    outs = b.on_bar(bar(0, "100", "107", "99", "106"))
    assert [o.cls.__name__ for o in outs] == ["OrderTriggered", "OrderCancelled",
                                              "OrderTriggered"]
    cancel = of(outs, OrderCancelled)[0]
    assert cancel["client_order_id"] == "take"
    assert cancel["reason"] == "post-only: the limit would trade at 105 when triggered"
    assert list(b.orders) == ["make"]  # rests as a limit at 104
    assert filled(b.on_bar(bar(1, "104.5", "105", "103.9", "104"))) == [("make", D(1), D(104))]


def test_day_and_gtd_expiries_say_why() -> None:
    from contracts import OrderExpired, TimeInForce

    day = 86_400 * 1_000_000_000
    b = broker()
    b.submit(sub("d", SELL, "1", OrderType.LIMIT, limit_price="200",
                 time_in_force=TimeInForce.DAY))
    b.submit(sub("g", SELL, "1", OrderType.LIMIT, limit_price="200",
                 time_in_force=TimeInForce.GTD, expire_ts=day - 1))
    outs = b.on_bar(Bar(id="late", ts=day + 60, producer="md", instrument="X", open_ts=day,
                        interval_ns=60, open=D(100), high=D(100), low=D(100), close=D(100),
                        volume=D(1)))
    assert [(e["client_order_id"], e["reason"]) for e in of(outs, OrderExpired)] == [
        ("d", "DAY order: its UTC day ended"), ("g", f"GTD order: expire_ts {day - 1} reached")]


# -- stops and trailing stops: who moves, by how much ----------------------------------------
def test_a_plain_stop_with_a_reference_price_never_trails() -> None:
    b = broker()
    b.submit(sub("s", SELL, "1", OrderType.STOP, trigger_price="95", ref_price="100"))
    assert b.on_bar(bar(0, "100", "103", "96", "102")) == []
    assert filled(b.on_bar(bar(1, "101", "101", "95", "96"))) == [("s", D(1), D(95))]


def test_trailing_stops_use_the_instruments_own_tick() -> None:
    b = broker(tick_sizes={"X": "0.25"})
    outs = b.submit(sub("t", SELL, "1", OrderType.TRAILING_STOP, trailing_offset="1",
                        ref_price="100.1"))
    assert of(outs, OrderUpdated)[0]["trigger_price"] == D("99.00")  # 99.1 down to 0.25
    outs = b.on_bar(bar(0, "100.1", "101.6", "99.5", "101"))
    assert of(outs, OrderUpdated)[0]["trigger_price"] == D("100.50")  # 100.6 down


def test_a_move_of_less_than_a_tick_moves_the_best_price_not_the_trigger() -> None:
    b = broker(tick_size="1")
    b.submit(sub("t", SELL, "1", OrderType.TRAILING_STOP, trailing_offset="2",
                 ref_price="100"))  # trigger 98
    assert b.on_bar(bar(0, "100", "100.5", "99", "100")) == []  # 98.5 -> 98: no update
    assert b.orders["t"].best == D("100.5")
    outs = b.on_bar(bar(1, "100", "101.2", "99", "100"))  # 99.2 -> 99
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(99)]


def test_a_buy_trailing_stop_moves_down_only_by_whole_ticks() -> None:
    b = broker(tick_size="1")
    b.submit(sub("t", BUY, "1", OrderType.TRAILING_STOP, trailing_offset="2",
                 ref_price="100"))  # trigger 102
    assert b.on_bar(bar(0, "100", "101", "99.5", "100")) == []  # 101.5 -> 102: no update
    assert b.orders["t"].best == D("99.5")
    outs = b.on_bar(bar(1, "100", "101", "98.8", "100"))  # 100.8 -> 101
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == [D(101)]


@pytest.mark.parametrize(("given", "update"), [("103", None), ("107", "105")])
def test_a_buy_trailing_stop_keeps_a_given_trigger_below_its_own(given: str,
                                                                 update: str | None) -> None:
    b = broker()
    outs = b.submit(sub("t", BUY, "1", OrderType.TRAILING_STOP, trailing_offset="5",
                        trigger_price=given, ref_price="100"))  # its own: 105
    assert [u["trigger_price"] for u in of(outs, OrderUpdated)] == (
        [] if update is None else [D(update)])
    assert b.orders["t"].trigger_price == D(update or given)


def test_the_trailing_update_says_why() -> None:
    b = broker()
    outs = b.submit(sub("t", SELL, "1", OrderType.TRAILING_STOP, trailing_offset="2",
                        ref_price="100"))
    assert of(outs, OrderUpdated)[0]["reason"] == "trailing stop set from best price 100"
    outs = b.on_bar(bar(0, "100", "103", "99", "102"))
    assert of(outs, OrderUpdated)[0]["reason"] == "trailing stop ratcheted: best price 103"


# -- which tick applies --------------------------------------------------------------------
def test_the_tick_of_each_instrument_in_order_of_precedence() -> None:
    from plugins.paper.pricing import Pricing

    config = convert_config({
        "tick_size": "0.001", "tick_sizes": {"A": "0.5", "B": "0.25"},
        "instrument_specs": {"A": {"tick_size": "0.05"}, "C": {"tick_size": "0.02"},
                             "D": {"lot_size": "1"}, "*": {"tick_size": "0.1"}}},
        PaperConfig, prefix="plugin.paper")
    p = Pricing(config)
    # paper's own entry, then the instrument's spec, then the "*" spec, then tick_size
    assert [p.tick(i) for i in "ABCDE"] == [D("0.5"), D("0.25"), D("0.02"), D("0.1"),
                                            D("0.1")]
    assert Pricing(convert_config({"tick_size": "0.001", "instrument_specs": {
        "D": {"lot_size": "1"}}}, PaperConfig, prefix="plugin.paper")).tick("D") == D("0.001")
