"""Risk limits exactly at their edges, on both sides, with instruments at different prices;
and every code risk emits, with its limit and value, surviving the codec."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    ContingencyType,
    Event,
    Halt,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderType,
    PortfolioSnapshot,
    RiskBreach,
    Side,
    TimerFired,
    decode,
    encode,
)
from kernel import convert_config
from plugins.risk import DAY_NS, Code, RiskConfig, RiskEngine

from .builders import BUY, SEC, SELL, Maker, engine, order
from .builders import ids as _ids


def fill(side: Side, qty: str, price: str, instrument: str = "A", account: str = "default",
         ts: int = 1) -> OrderFilled:
    return OrderFilled(id=f"f-{next(_ids)}", ts=ts, producer="paper", client_order_id="ext",
                       account=account, instrument=instrument, venue="paper",
                       fill_id=f"x{next(_ids)}", side=side, qty=D(qty), price=D(price),
                       fee=D(0), cum_qty=D(qty), leaves_qty=D(0))


def snapshot(pnl: str, ts: int = 1, account: str = "default") -> PortfolioSnapshot:
    return PortfolioSnapshot(id=f"p-{next(_ids)}", ts=ts, producer="portfolio", account=account,
                             cash=D(0), equity=D(0), realized_pnl=D(pnl), unrealized_pnl=D(0),
                             fees=D(0), gross_exposure=D(0), net_exposure=D(0), drawdown=D(0),
                             max_drawdown=D(0))


def accepted(out: list[Event]) -> bool:
    return len(out) == 1 and isinstance(out[0], OrderAccepted)


def denied(out: list[Event], code: Code, limit: str, value: str) -> RiskBreach:
    """``out`` is exactly a rejection with ``code`` and its breach carrying ``limit`` and
    ``value``; both survive the codec (what downstream plugins receive)."""
    assert len(out) == 2, out
    rej, breach = out
    assert isinstance(rej, OrderRejected) and isinstance(breach, RiskBreach)
    assert (rej.code, rej.source, breach.code) == (code.value, "risk", code.value)
    assert (breach.limit, breach.value) == (limit, value)
    assert breach.client_order_id == rej.client_order_id and breach.account == rej.account
    assert rej.reason and rej.reason == breach.detail
    assert decode(encode(rej)) == rej and decode(encode(breach)) == breach
    return breach


# -- gross exposure ------------------------------------------------------------------
def test_gross_exposure_values_a_new_instrument_at_the_orders_price() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "10", "100", instrument="A"))  # 1000
    # C has no market price: the order's ref price values it (1000 + 50 x 100)
    denied(r.apply(order(BUY, "50", instrument="C", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "6000")


def test_gross_exposure_values_each_instrument_at_its_own_price() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "10", "10", instrument="A"))  # 100 of A, not 1000
    assert accepted(r.apply(order(BUY, "15", instrument="B", ref="100")))  # 100 + 1500


def test_gross_exposure_values_the_whole_position_at_the_orders_price() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "1", "1", instrument="B"))
    # 31 of B at the order's 100, not at the old fill price 1
    denied(r.apply(order(BUY, "30", instrument="B", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "3100")


def test_gross_exposure_adds_a_sell_to_the_open_sells() -> None:
    r = engine(max_gross_exposure="2000")
    assert accepted(r.apply(order(SELL, "15", instrument="B", ref="100")))  # worst -15
    denied(r.apply(order(SELL, "6", instrument="B", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "2100")
    assert accepted(r.apply(order(SELL, "5", instrument="B", ref="100")))  # -20: 2000


def test_gross_exposure_exactly_at_the_limit_passes_one_cent_more_does_not() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "10", "100", instrument="A"))
    assert accepted(r.apply(order(BUY, "10", instrument="B", ref="100")))  # 2000
    denied(r.apply(order(BUY, "0.0001", instrument="B", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "2000.0100")


def test_gross_exposure_is_the_heavier_side_of_each_instrument() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "10", "100", instrument="A"))
    # long 10 with 25 selling: worst case short 15 -> 1500
    assert accepted(r.apply(order(SELL, "25", instrument="A", ref="100")))
    # buying 11 makes the long side 21 -> 2100
    denied(r.apply(order(BUY, "11", instrument="A", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "2100")
    assert accepted(r.apply(order(BUY, "10", instrument="A", ref="100")))  # 20 -> 2000


def test_an_order_that_does_not_raise_an_over_limit_exposure_passes() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(BUY, "30", "100", instrument="A"))  # 3000: over the limit already
    # worst case stays 30 (nothing sold yet): not above what it was
    assert accepted(r.apply(order(SELL, "5", instrument="A", ref="100")))
    denied(r.apply(order(BUY, "0.5", instrument="A", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "3050.0")


def test_short_positions_count_at_their_absolute_value() -> None:
    r = engine(max_gross_exposure="2000")
    r.apply(fill(SELL, "12", "50", instrument="S"))  # short 600
    r.apply(fill(BUY, "7", "200", instrument="L"))  # long 1400
    denied(r.apply(order(BUY, "0.01", instrument="M", ref="100")), Code.MAX_GROSS_EXPOSURE,
           "2000", "2001.00")
    # buying S back does not raise it (the worst case stays short 12)
    assert accepted(r.apply(order(BUY, "2", instrument="S", ref="50")))


# -- max position ----------------------------------------------------------------------
@pytest.mark.parametrize(("side", "sign"), [(BUY, ""), (SELL, "-")])
def test_position_exactly_at_max_position_passes_on_both_sides(side: Side, sign: str) -> None:
    r = engine(max_position="15")
    r.apply(fill(side, "10", "100"))
    assert accepted(r.apply(order(side, "5")))  # 15 exactly
    denied(r.apply(order(side, "0.1")), Code.MAX_POSITION, "15", f"{sign}15.1")
    # the other instrument has its own room
    assert accepted(r.apply(order(side, "15", instrument="B")))


def test_position_limit_counts_open_orders_of_the_same_side_only() -> None:
    r = engine(max_position="15")
    assert accepted(r.apply(order(SELL, "15")))  # worst case short 15
    assert accepted(r.apply(order(BUY, "15")))  # worst case long 15: the sells do not offset
    denied(r.apply(order(BUY, "0.5")), Code.MAX_POSITION, "15", "15.5")


# -- order rate --------------------------------------------------------------------------
def test_order_rate_window_edges_and_two_stamps_expiring_together() -> None:
    r = engine(max_orders_per_window=2, rate_window_s=1.0)
    assert accepted(r.apply(order(ts=0)))
    assert accepted(r.apply(order(ts=SEC // 2)))
    assert accepted(r.apply(order(ts=SEC)))  # the stamp at 0 is exactly 1 s old: gone
    denied(r.apply(order(ts=SEC + 1)), Code.ORDER_RATE, "2", "3")  # 0.5 s and 1 s remain
    assert accepted(r.apply(order(ts=5 * SEC)))  # both expire at once after a quiet period
    assert r.state.accounts["default"].recent == [5 * SEC]
    assert accepted(r.apply(order(ts=5 * SEC)))
    denied(r.apply(order(ts=5 * SEC)), Code.ORDER_RATE, "2", "3")


def test_order_rate_is_per_account() -> None:
    r = engine(max_orders_per_window=1)
    assert accepted(r.apply(order(ts=0, account="a")))
    assert accepted(r.apply(order(ts=0, account="b")))
    denied(r.apply(order(ts=SEC - 1, account="a")), Code.ORDER_RATE, "1", "2")


# -- daily loss and reducing ------------------------------------------------------------------
def test_past_its_daily_loss_an_account_may_only_reduce_long_side() -> None:
    r = engine(max_daily_loss="100", daily_loss_action="reject")
    r.apply(fill(BUY, "0.5", "100"))
    assert r.apply(snapshot("-99.99")) == []
    (b,) = r.apply(snapshot("-100"))  # exactly the limit: breached
    assert isinstance(b, RiskBreach) and (b.code, b.limit, b.value) == (
        "MAX_DAILY_LOSS", "-100", "-100")
    assert decode(encode(b)) == b and b.client_order_id is None
    denied(r.apply(order(BUY, "0.2")), Code.MAX_DAILY_LOSS, "-100", "-100")
    assert accepted(r.apply(order(SELL, "0.2")))
    assert accepted(r.apply(order(SELL, "0.3")))  # 0.5 selling: exactly flat
    denied(r.apply(order(SELL, "0.01")), Code.MAX_DAILY_LOSS, "-100", "-100")


def test_past_its_daily_loss_an_account_may_only_reduce_short_side() -> None:
    r = engine(max_daily_loss="100", daily_loss_action="reject")
    r.apply(fill(SELL, "0.5", "100", instrument="A"))
    r.apply(fill(BUY, "3", "10", instrument="B"))
    r.apply(snapshot("-150"))
    denied(r.apply(order(SELL, "0.1")), Code.MAX_DAILY_LOSS, "-100", "-150")
    denied(r.apply(order(BUY, "0.6")), Code.MAX_DAILY_LOSS, "-100", "-150")  # would flip
    assert accepted(r.apply(order(BUY, "0.5")))
    denied(r.apply(order(BUY, "1", instrument="B")), Code.MAX_DAILY_LOSS, "-100", "-150")
    assert accepted(r.apply(order(SELL, "3", instrument="B", ref="10")))


def test_daily_loss_counts_from_the_last_pnl_of_the_previous_day() -> None:
    r = engine(max_daily_loss="50", daily_loss_action="reject")
    assert r.apply(snapshot("-49", ts=1)) == []
    assert r.apply(snapshot("20", ts=DAY_NS + 1)) == []  # new day: baseline -49, today +69
    assert r.apply(snapshot("-29", ts=DAY_NS + 2)) == []  # today +20
    (b,) = r.apply(snapshot("-99", ts=DAY_NS + 3))  # today -50: breached
    assert (b.limit, b.value) == ("-50", "-50")


# -- reduce-only ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("pos_side", "exit_side"), [(BUY, SELL), (SELL, BUY)])
def test_reduce_only_exactly_flattening_passes_flipping_does_not(pos_side: Side,
                                                                  exit_side: Side) -> None:
    r = engine()
    r.apply(fill(pos_side, "0.7", "100"))
    denied(r.apply(order(exit_side, "0.71", reduce_only=True)), Code.REDUCE_ONLY, "0.7", "0.71")
    assert accepted(r.apply(order(exit_side, "0.7", reduce_only=True)))
    # the open exit counts: one more unit would flip the position
    denied(r.apply(order(exit_side, "0.01", reduce_only=True)), Code.REDUCE_ONLY, "0.7", "0.71")
    denied(r.apply(order(pos_side, "0.1", reduce_only=True)), Code.REDUCE_ONLY, "0.7", "0.1")
    # another instrument is flat: nothing to reduce
    denied(r.apply(order(exit_side, "0.1", instrument="B", reduce_only=True)),
           Code.REDUCE_ONLY, "0", "0.1")


# -- cash and margin buying power ------------------------------------------------------------------
def test_cash_buy_exactly_at_the_cash_passes_on_each_instrument() -> None:
    r = engine(account_type="cash", initial_cash="1000")
    assert accepted(r.apply(order(BUY, "2.5", instrument="A", ref="200")))  # 500
    assert accepted(r.apply(order(BUY, "20", instrument="B", ref="25")))  # 500 more: all cash
    denied(r.apply(order(BUY, "0.001", instrument="C", ref="1")),
           Code.INSUFFICIENT_BUYING_POWER, "0.0", "0.001")
    # a sell of what is held needs no cash
    r.apply(fill(BUY, "1", "5", instrument="D"))
    assert accepted(r.apply(order(SELL, "1", instrument="D", ref="5")))


def test_cash_reserve_is_released_when_an_open_buy_is_cancelled_or_filled() -> None:
    from contracts import OrderCancelled

    r = engine(account_type="cash", initial_cash="1000")
    assert accepted(r.apply(order(BUY, "10", client_order_id="big")))  # reserves 1000
    denied(r.apply(order(BUY, "0.01")), Code.INSUFFICIENT_BUYING_POWER, "0", "1.00")
    r.apply(OrderCancelled(id="x", ts=2, producer="paper", client_order_id="big",
                           account="default", instrument="A", venue="paper", reason="",
                           filled_qty=D(0)))
    assert accepted(r.apply(order(BUY, "10")))


def test_cash_counts_a_partly_filled_buy_once() -> None:
    r = engine(account_type="cash", initial_cash="1000")
    assert accepted(r.apply(order(BUY, "10", client_order_id="o")))
    r.apply(OrderFilled(id="f", ts=2, producer="paper", client_order_id="o", account="default",
                        instrument="A", venue="paper", fill_id="o-1", side=BUY, qty=D(4),
                        price=D(100), fee=D(0), cum_qty=D(4), leaves_qty=D(6)))
    # cash 600, the 6 left reserve 600: nothing free
    denied(r.apply(order(BUY, "0.01")), Code.INSUFFICIENT_BUYING_POWER, "0", "1.00")
    assert r.state.accounts["default"].open_buy == {"A": D(6)}


def test_margin_equity_marks_each_instrument_at_its_own_price() -> None:
    r = engine(initial_cash="1000", leverage="3")
    r.apply(fill(BUY, "10", "50", instrument="A"))  # cash 500, equity 1000
    r.apply(fill(SELL, "4", "25", instrument="B"))  # cash 600, equity 1000
    # exposure 500 + 100 = 600; power 3000: 2400 more of C at 120 is 20 exactly
    assert accepted(r.apply(order(BUY, "20", instrument="C", ref="120")))
    denied(r.apply(order(BUY, "0.01", instrument="C", ref="120")),
           Code.INSUFFICIENT_BUYING_POWER, "3000", "3001.20")


# -- every code, its limit and value, through the codec --------------------------------------------
SPECS = {"T": {"tick_size": "0.05", "lot_size": "10", "min_qty": "20"}}


def _case(code: Code) -> tuple[list[Event], str, str]:
    """A scenario that makes risk deny with ``code``: its output, the limit and the value."""
    if code is Code.DUPLICATE_ORDER:
        r = engine()
        r.apply(order(client_order_id="d"))
        return r.apply(order(client_order_id="d")), "", ""
    if code is Code.INVALID_ORDER:
        return engine().apply(order(qty="0")), "", "0"
    if code is Code.HALTED:
        r = engine()
        r.apply(Halt(id="h", ts=1, producer="ops", reason="x"))
        return r.apply(order()), "", ""
    if code in (Code.PARENT_REJECTED, Code.LIST_REJECTED):
        r = engine(max_order_qty="5")
        r.apply(order(qty="6", client_order_id="p", order_list_id="L",
                      contingency=ContingencyType.OTO, linked_order_ids=["k"]))
        if code is Code.PARENT_REJECTED:
            return r.apply(order(SELL, client_order_id="k", order_list_id="L",
                                 parent_order_id="p")), "", "p"
        return r.apply(order(SELL, client_order_id="s", order_list_id="L",
                             contingency=ContingencyType.OCO, linked_order_ids=["k"])), "", "p"
    if code is Code.OFF_TICK:
        return engine(instrument_specs=SPECS).apply(order(
            qty="20", instrument="T", order_type=OrderType.LIMIT,
            limit_price=D("100.04"))), "0.05", "100.04"
    if code is Code.OFF_LOT:
        return engine(instrument_specs=SPECS).apply(order(qty="25", instrument="T")), "10", "25"
    if code is Code.BELOW_MIN_QTY:
        return engine(instrument_specs=SPECS).apply(order(qty="10", instrument="T")), "20", "10"
    if code is Code.REDUCE_ONLY:
        return engine().apply(order(SELL, "1", reduce_only=True)), "0", "1"
    if code is Code.SHORT_NOT_ALLOWED:
        return engine(account_type="cash").apply(order(SELL, "1")), "0", "-1"
    if code is Code.MAX_DAILY_LOSS:
        r = engine(max_daily_loss="100", daily_loss_action="reject")
        r.apply(snapshot("-250"))
        return r.apply(order()), "-100", "-250"
    if code is Code.REDUCING_ONLY:
        r = engine(max_daily_loss="100")
        r.apply(snapshot("-250", account="other"))
        return r.apply(order()), "", ""
    if code is Code.MAX_ORDER_QTY:
        return engine(max_order_qty="10").apply(order(qty="10.5")), "10", "10.5"
    if code is Code.NO_PRICE:
        return engine(max_order_notional="1").apply(order(ref=None)), "", ""
    if code is Code.MAX_ORDER_NOTIONAL:
        return engine(max_order_notional="1000").apply(order(qty="11", ref="90.95")), "1000", \
            "1000.45"
    if code is Code.MAX_POSITION:
        return engine(max_position="3").apply(order(qty="3.5")), "3", "3.5"
    if code is Code.MAX_GROSS_EXPOSURE:
        return engine(max_gross_exposure="100").apply(order(qty="2", ref="60")), "100", "120"
    if code is Code.INSUFFICIENT_BUYING_POWER:
        return engine(initial_cash="100").apply(order(qty="2", ref="60")), "100", "120"
    if code is Code.MAX_OPEN_ORDERS:
        r = engine(max_open_orders=1)
        r.apply(order())
        return r.apply(order()), "1", "1"
    if code is Code.ORDER_RATE:
        r = engine(max_orders_per_window=1)
        r.apply(order(ts=0))
        return r.apply(order(ts=1)), "1", "2"
    raise AssertionError(code)


ORDER_CODES = [c for c in Code if c is not Code.MAX_ORDER_AGE]

#: What the user reads for each case above: what was wrong, and what to do.
REASONS = {
    Code.DUPLICATE_ORDER: "client order id 'd' was already decided; give every new order a "
                          "new id",
    Code.INVALID_ORDER: "qty must be > 0, got 0",
    Code.HALTED: "trading is halted (HALT: x); only cancels pass until `keel resume`",
    Code.PARENT_REJECTED: "its parent order 'p' was rejected",
    Code.LIST_REJECTED: "member 'p' of list 'L' was rejected: a contingent list trades whole "
                        "or not at all",
    Code.OFF_TICK: "limit_price 100.04 is not a multiple of T's tick size 0.05",
    Code.OFF_LOT: "qty 25 is not a whole number of T's lot size 10",
    Code.BELOW_MIN_QTY: "qty 10 is below T's min_qty",
    Code.REDUCE_ONLY: "a reduce-only order must shrink the position (with the open orders on "
                      "its side)",
    Code.SHORT_NOT_ALLOWED: "a cash account cannot sell short: A position incl. open sells "
                            "would be -1",
    Code.MAX_DAILY_LOSS: "daily loss limit reached; only exposure-reducing orders pass until "
                         "the next UTC day",
    Code.REDUCING_ONLY: "trading state is REDUCING: only orders that shrink a position pass",
    Code.MAX_ORDER_QTY: "order quantity above max_order_qty",
    Code.NO_PRICE: "no price to value A: send a limit price or ref_price, or wait for market "
                   "data",
    Code.MAX_ORDER_NOTIONAL: "order notional above max_order_notional",
    Code.MAX_POSITION: "A position incl. open orders would exceed max_position",
    Code.MAX_GROSS_EXPOSURE: "worst-case gross exposure would exceed max_gross_exposure",
    Code.INSUFFICIENT_BUYING_POWER: "margin account: worst-case gross exposure would be 120, "
                                    "above equity x leverage 1 = 100",
    Code.MAX_OPEN_ORDERS: "too many open orders",
    Code.ORDER_RATE: "more than 1 orders within 1.0s",
}


@pytest.mark.parametrize("code", ORDER_CODES, ids=str)
def test_every_denial_carries_its_limit_value_and_reason_and_decodes(code: Code) -> None:
    out, limit, value = _case(code)
    assert denied(out, code, limit, value).detail == REASONS[code]


def test_the_order_age_breach_carries_its_limit_and_value_and_decodes() -> None:
    r = engine(max_order_age_s=30)
    r.apply(order(client_order_id="old", ts=0))
    out = r.apply(TimerFired(id="tf", ts=45 * SEC, producer="risk", plugin="risk",
                             name="order-age", scheduled_ts=45 * SEC))
    cancel, b = out
    assert isinstance(b, RiskBreach) and (b.code, b.limit, b.value) == ("MAX_ORDER_AGE", "30.0",
                                                                        "45")
    assert b.client_order_id == "old"
    assert b.detail == "MAX_ORDER_AGE: open 45s, longer than max_order_age_s 30.0"
    assert cancel.reason == b.detail
    assert decode(encode(b)) == b and decode(encode(cancel)) == cancel


def test_the_cases_cover_every_code() -> None:
    assert {*ORDER_CODES, Code.MAX_ORDER_AGE} == set(Code) == {*REASONS, Code.MAX_ORDER_AGE}


# -- checks that only some orders reach ----------------------------------------------------
@pytest.mark.parametrize("side", [SELL, BUY])
def test_a_position_of_exactly_one_is_reduced_by_a_reduce_only_order(side: Side) -> None:
    r = engine()
    r.apply(fill(BUY if side is SELL else SELL, "1", "100"))
    assert accepted(r.apply(order(side, "1", reduce_only=True)))


def test_a_reversal_to_the_same_size_is_not_a_bigger_position() -> None:
    r = engine(max_position="5")
    r.apply(fill(BUY, "10", "100"))  # over the limit (fills are not checked)
    assert accepted(r.apply(order(SELL, "20")))  # +10 -> -10: no bigger
    denied(r.apply(order(SELL, "0.5")), Code.MAX_POSITION, "5", "-10.5")


def test_a_trailing_stop_is_valued_at_its_reference_not_its_trigger() -> None:
    r = engine(max_order_notional="1000")
    trailing = {"order_type": OrderType.TRAILING_STOP, "trailing_offset": D(5)}
    # trigger 50 would value it at 500; the reference 100 values it at 1000
    assert accepted(r.apply(order(SELL, "10", ref="100", trigger_price=D(50), **trailing)))
    denied(r.apply(order(SELL, "10.01", ref="100", trigger_price=D(50), **trailing)),
           Code.MAX_ORDER_NOTIONAL, "1000", "1001.00")
    # a plain stop is valued at its trigger
    assert accepted(r.apply(order(SELL, "19", ref="100", order_type=OrderType.STOP,
                                  trigger_price=D(50))))


def test_regime_scaling_with_only_an_order_size_limit() -> None:
    from contracts import RegimeInferred

    r = engine(max_order_qty="10", regime_scale={"HIGH_VOL": "0.5"})
    r.apply(RegimeInferred(id="g", ts=1, producer="regime", instrument="A", regime=1,
                           label="HIGH_VOL", probabilities=[0.0, 1.0], model="m",
                           model_version=1))
    assert accepted(r.apply(order(qty="5")))
    denied(r.apply(order(qty="5.5")), Code.MAX_ORDER_QTY, "5.0", "5.5")


def _bracket(r: RiskEngine, filled_first: str | None = None) -> list[list[Event]]:
    outs = [r.apply(order(BUY, "10", client_order_id="e", order_list_id="L",
                          contingency=ContingencyType.OTO, linked_order_ids=["tp"]))]
    if filled_first is not None:
        r.apply(OrderFilled(id="pf", ts=2, producer="paper", client_order_id="e",
                            account="default", instrument="A", venue="paper", fill_id="e-1",
                            side=BUY, qty=D(filled_first), price=D(100), fee=D(0),
                            cum_qty=D(filled_first), leaves_qty=D(10) - D(filled_first)))
    outs.append(r.apply(order(SELL, "10", client_order_id="tp", order_list_id="L",
                              order_type=OrderType.LIMIT, limit_price=D(110),
                              parent_order_id="e", reduce_only=True)))
    return outs


def test_an_exit_attached_after_its_parent_partly_filled_still_closes_the_whole_entry() -> None:
    r = engine()
    entry, exit_ = _bracket(r, filled_first="4")
    assert accepted(entry) and accepted(exit_)  # 10 <= 6 left + 4 filled
    assert r.state.accounts["default"].open_orders["tp"].exit


def test_exits_still_count_against_open_orders_and_the_rate() -> None:
    r = engine(max_open_orders=1)
    entry, exit_ = _bracket(r)
    assert accepted(entry)
    denied(exit_, Code.MAX_OPEN_ORDERS, "1", "1")
    r = engine(max_orders_per_window=1)
    entry, exit_ = _bracket(r)
    denied(exit_, Code.ORDER_RATE, "1", "2")


def test_require_price_needs_one_for_what_buying_power_checks() -> None:
    r = engine(require_price=True, accounts={"c": {"account_type": "cash"}})
    # margin: a sell opening a short needs a price; cash: a buy always does
    denied(r.apply(order(SELL, "1", ref=None)), Code.NO_PRICE, "", "")
    denied(r.apply(order(BUY, "1", ref=None, account="c")), Code.NO_PRICE, "", "")
    # even one buying back a short the account got by a fill risk never approved
    r.apply(fill(SELL, "2", "100", instrument="Z", account="c"))
    r.state.prices.clear()
    denied(r.apply(order(BUY, "1", ref=None, account="c", instrument="Z")), Code.NO_PRICE,
           "", "")
    # a margin buy back of that short needs none (it only reduces)
    r.apply(fill(SELL, "2", "100", instrument="Z"))
    r.state.prices.clear()
    assert accepted(r.apply(order(BUY, "1", ref=None, instrument="Z")))


def test_long_only_can_be_set_per_account() -> None:
    r = engine(accounts={"lo": {"long_only": True}})
    out = r.apply(order(SELL, "1", account="lo"))
    b = denied(out, Code.SHORT_NOT_ALLOWED, "0", "-1")
    assert b.detail == "long_only is set: A position incl. open sells would be -1"
    assert accepted(r.apply(order(SELL, "1")))  # the default account may go short


@pytest.mark.parametrize(("kw", "reason", "value"), [
    ({"order_type": OrderType.STOP, "trigger_price": D("99.99")},
     "trigger_price 99.99 is not a multiple of T's tick size 0.05", "99.99"),
    ({"order_type": OrderType.TRAILING_STOP, "trailing_offset": D("0.07")},
     "trailing_offset 0.07 is not a multiple of T's tick size 0.05", "0.07"),
])
def test_off_tick_names_the_price_field(kw: dict[str, Any], reason: str, value: str) -> None:
    out = engine(instrument_specs=SPECS).apply(order(qty="20", instrument="T", **kw))
    assert denied(out, Code.OFF_TICK, "0.05", value).detail == reason


def test_a_zero_daily_loss_limit_is_shown_as_zero() -> None:
    r = engine(max_daily_loss="0", daily_loss_action="reject")
    assert r.apply(snapshot("0.01")) == []
    (b,) = r.apply(snapshot("0"))  # not a cent of loss allowed: breached at 0
    assert (b.limit, b.value) == ("0", "0")
    denied(r.apply(order()), Code.MAX_DAILY_LOSS, "0", "0")


def test_a_breach_restored_under_a_config_without_the_limit_still_denies_today() -> None:
    import msgspec

    from plugins.risk import RiskState

    r = engine(max_daily_loss="100", daily_loss_action="reject")
    r.apply(snapshot("-100"))
    state = msgspec.msgpack.decode(msgspec.msgpack.encode(r.state), type=RiskState)
    restored = RiskEngine(convert_config({}, RiskConfig, prefix="plugin.risk"), Maker(), state)
    denied(restored.apply(order()), Code.MAX_DAILY_LOSS, "", "-100")


# -- buying power: per-account settings, open sells, prices --------------------------------
def test_a_cash_account_among_margin_ones_checks_its_own_cash() -> None:
    r = engine(leverage="2", accounts={"c": {"account_type": "cash", "initial_cash": "500"}})
    b = denied(r.apply(order(BUY, "6", account="c")), Code.INSUFFICIENT_BUYING_POWER,
               "500", "600")
    assert b.detail == ("cash account: the buy costs 600, 500 is available (cash less 0 "
                        "reserved by open buys)")
    assert accepted(r.apply(order(BUY, "5", account="c")))
    assert accepted(r.apply(order(BUY, "6")))  # the default account: margin, 100 000 x 2


def test_open_sells_reserve_no_cash() -> None:
    r = engine(account_type="cash", initial_cash="1000")
    r.apply(fill(BUY, "2", "100"))  # cash 800
    assert accepted(r.apply(order(SELL, "2")))  # valued at 100, but a sell
    assert accepted(r.apply(order(BUY, "8")))  # 800: all the cash


def test_margin_values_the_order_at_its_own_price_not_the_last_one() -> None:
    r = engine(initial_cash="1000")
    r.apply(fill(BUY, "1", "50"))  # last price of A: 50; cash 950, equity 1000
    out = r.apply(order(BUY, "14", ref=None, order_type=OrderType.LIMIT, limit_price=D(100)))
    # 15 at the limit 100 = 1500 > 1000 (at the last price 50 it would be 750)
    denied(out, Code.INSUFFICIENT_BUYING_POWER, "1000", "1500")


def test_an_order_that_keeps_exposure_passes_even_above_buying_power() -> None:
    r = engine(initial_cash="1000")
    r.apply(fill(BUY, "10", "100", instrument="A"))
    r.apply(fill(SELL, "5", "100", instrument="B"))  # equity 1000, exposure 1500
    assert accepted(r.apply(order(SELL, "5", instrument="A")))  # worst case still long 10
    denied(r.apply(order(BUY, "0.01", instrument="A")), Code.INSUFFICIENT_BUYING_POWER,
           "1000", "1501.00")


def test_equity_counts_an_unpriced_position_at_zero() -> None:
    from plugins.risk import equity
    from plugins.risk.state import AccountRisk

    cfg = convert_config({"initial_cash": "1000"}, RiskConfig, prefix="plugin.risk")
    acct = AccountRisk(positions={"A": D(2), "B": D(3), "C": D(0)})
    assert equity(cfg, "default", acct, {"A": D(10), "C": D(7)}) == D(1020)
