"""Buying power, shorts, reduce-only, instrument specs, contingent lists and order age:
each limit exactly at its edge, on both sides, with several instruments."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    CancelRequested,
    ContingencyType,
    Event,
    OrderAccepted,
    OrderExpired,
    OrderRejected,
    OrderRequested,
    OrderType,
    OrderUpdated,
    RiskBreach,
    Side,
    TimerFired,
    TrailingOffsetType,
    decode,
    encode,
)
from kernel import ConfigError, convert_config
from kernel.testing.harness import Harness
from plugins.risk import RiskConfig, RiskEngine, RiskPlugin, equity

from .builders import BUY, SEC, SELL, engine
from .builders import ids as _ids


def order(side: Side = BUY, qty: str = "1", ref: str | None = "100", instrument: str = "A",
          account: str = "default", ts: int = 1, **kw: Any) -> OrderRequested:
    kw.setdefault("client_order_id", f"c{next(_ids)}")
    return OrderRequested(id=f"t-{next(_ids)}", ts=ts, producer="test", account=account,
                          instrument=instrument, side=side, qty=D(qty),
                          ref_price=None if ref is None else D(ref), **kw)


def fill(coid: str, side: Side, qty: str, price: str, instrument: str = "A",
         leaves: str = "0", fee: str = "0", account: str = "default") -> Event:
    from contracts import OrderFilled

    return OrderFilled(id=f"f-{next(_ids)}", ts=2, producer="paper", client_order_id=coid,
                       account=account, instrument=instrument, venue="paper",
                       fill_id=f"x{next(_ids)}", side=side, qty=D(qty), price=D(price),
                       fee=D(fee), cum_qty=D(qty), leaves_qty=D(leaves))


def outcome(out: list[Event]) -> str:
    for e in out:
        if isinstance(e, OrderAccepted):
            return "accepted"
        if isinstance(e, OrderRejected):
            return e.code
    return "none"


def breach(out: list[Event]) -> RiskBreach:
    (b,) = [e for e in out if isinstance(e, RiskBreach)]
    # risk's own events always decode downstream
    assert decode(encode(b)) == b
    return b


# -- margin accounts ------------------------------------------------------------
def test_margin_buying_power_is_equity_times_leverage_exactly_at_the_limit() -> None:
    r = engine(initial_cash="10000", leverage="2")
    assert outcome(r.apply(order(qty="200", ref="100"))) == "accepted"  # 20 000 = 10 000 x 2
    out = r.apply(order(qty="0.01", ref="100"))  # one cent of exposure more
    assert outcome(out) == "INSUFFICIENT_BUYING_POWER"
    b = breach(out)
    assert (b.limit, b.value) == ("20000", "20001.00")


def test_margin_counts_every_instrument_and_open_orders_at_their_prices() -> None:
    r = engine(initial_cash="1000")
    r.apply(fill("x1", BUY, "5", "100", instrument="A"))  # long A 500, cash 500
    assert outcome(r.apply(order(qty="4", ref="50", instrument="B"))) == "accepted"  # 700
    out = r.apply(order(qty="3.02", ref="100", instrument="C"))  # 500 + 200 + 302 > 1000
    assert outcome(out) == "INSUFFICIENT_BUYING_POWER"
    assert breach(out).value == "1002.00"
    assert outcome(r.apply(order(qty="3", ref="100", instrument="C"))) == "accepted"  # = 1000


def test_margin_marks_positions_so_a_loss_shrinks_buying_power() -> None:
    r = engine(initial_cash="1000")
    r.apply(fill("x1", BUY, "10", "100"))  # cash 0, equity 1000 at 100
    # A now at 80: equity 800, exposure 800; nothing more may be bought
    assert outcome(r.apply(order(qty="0.01", ref="80"))) == "INSUFFICIENT_BUYING_POWER"
    # ...but selling (reducing) always passes
    assert outcome(r.apply(order(SELL, qty="10", ref="80"))) == "accepted"
    assert equity(r.config, "default", r.state.accounts["default"], r.state.prices) == D(800)


def test_margin_short_and_reversal() -> None:
    r = engine(initial_cash="1000")
    assert outcome(r.apply(order(SELL, qty="10", ref="100"))) == "accepted"  # short 1000
    r.apply(fill(r.state.accounts["default"].open_orders.popitem()[0], SELL, "10", "100"))
    r.state.accounts["default"].open_sell.clear()
    # equity still 1000 (cash 2000 - 10 x 100); reversing to long 10 keeps exposure 1000
    assert outcome(r.apply(order(BUY, qty="20", ref="100"))) == "accepted"
    # a bigger reversal would raise it
    assert outcome(r.apply(order(BUY, qty="0.01", ref="100"))) == "INSUFFICIENT_BUYING_POWER"


def test_per_account_settings_override_the_defaults() -> None:
    r = engine(initial_cash="1000", accounts={"big": {"initial_cash": "5000", "leverage": "2"},
                                              "cash": {"account_type": "cash"}})
    assert outcome(r.apply(order(qty="100", account="big"))) == "accepted"  # 10 000
    assert outcome(r.apply(order(qty="0.01", account="big"))) == "INSUFFICIENT_BUYING_POWER"
    assert outcome(r.apply(order(SELL, qty="1", account="cash"))) == "SHORT_NOT_ALLOWED"


# -- cash accounts --------------------------------------------------------------
def test_cash_buy_costs_at_most_the_cash_less_open_buys() -> None:
    r = engine(account_type="cash", initial_cash="1000", fee_reserve_bps="10")
    # 9.99 x 100 x 1.001 = 999.999 <= 1000
    assert outcome(r.apply(order(qty="9.99", ref="100"))) == "accepted"
    out = r.apply(order(qty="0.01", ref="1", instrument="B"))  # 0.01001 > 0.001 left
    assert outcome(out) == "INSUFFICIENT_BUYING_POWER"
    assert (breach(out).limit, breach(out).value) == ("0.00100", "0.01001")


def test_cash_follows_fills_and_fees() -> None:
    r = engine(account_type="cash", initial_cash="1000")
    r.apply(fill("x1", BUY, "5", "100", fee="1"))  # cash 499
    assert outcome(r.apply(order(qty="4.99", ref="100"))) == "accepted"
    assert outcome(r.apply(order(qty="0.01", ref="100"))) == "INSUFFICIENT_BUYING_POWER"
    r.apply(fill("x2", SELL, "5", "110"))  # cash 1049: the open buy reserves 499
    assert outcome(r.apply(order(qty="5.5", ref="100"))) == "accepted"  # 550 = 1049 - 499


def test_cash_account_refuses_shorts_and_counts_open_sells() -> None:
    r = engine(account_type="cash")
    r.apply(fill("x1", BUY, "0.5", "100"))
    assert outcome(r.apply(order(SELL, qty="0.3"))) == "accepted"
    assert outcome(r.apply(order(SELL, qty="0.2"))) == "accepted"  # exactly flat
    out = r.apply(order(SELL, qty="0.01"))
    assert outcome(out) == "SHORT_NOT_ALLOWED"
    assert (breach(out).limit, breach(out).value) == ("0", "-0.01")


def test_long_only_on_a_margin_account() -> None:
    r = engine(long_only=True)
    assert outcome(r.apply(order(SELL, qty="1"))) == "SHORT_NOT_ALLOWED"
    assert outcome(r.apply(order(BUY, qty="1"))) == "accepted"


def test_an_order_risk_cannot_value_passes_counted_or_is_refused_on_request() -> None:
    r = engine()
    assert outcome(r.apply(order(qty="1", ref=None, instrument="NEW"))) == "accepted"
    assert r.state.counters.unpriced == 1 and r.view()["unpriced"] == 1
    strict = engine(require_price=True)
    assert outcome(strict.apply(order(qty="1", ref=None, instrument="NEW"))) == "NO_PRICE"
    # a reducing order needs no price
    strict.apply(fill("x1", BUY, "2", "100", instrument="Z"))
    strict.state.prices.clear()
    assert outcome(strict.apply(order(SELL, qty="1", ref=None, instrument="Z"))) == "accepted"


# -- reduce-only -----------------------------------------------------------------
def test_reduce_only_must_shrink_the_position_on_both_sides() -> None:
    r = engine()
    assert outcome(r.apply(order(SELL, qty="1", reduce_only=True))) == "REDUCE_ONLY"
    r.apply(fill("x1", BUY, "10", "100"))
    assert outcome(r.apply(order(SELL, qty="10", reduce_only=True))) == "accepted"
    out = r.apply(order(SELL, qty="0.5", reduce_only=True))  # 10 already selling
    assert outcome(out) == "REDUCE_ONLY"
    assert (breach(out).limit, breach(out).value) == ("10", "10.5")
    assert outcome(r.apply(order(BUY, qty="1", reduce_only=True))) == "REDUCE_ONLY"
    r.apply(fill("x2", SELL, "15", "100", instrument="S"))  # short 15 of S
    assert outcome(r.apply(order(BUY, qty="15", instrument="S",
                                 reduce_only=True))) == "accepted"


# -- instrument specs ------------------------------------------------------------
SPECS = {"A": {"tick_size": "0.05", "lot_size": "10", "min_qty": "20"}}


@pytest.mark.parametrize(("kw", "code"), [
    ({"qty": "20", "order_type": OrderType.LIMIT, "limit_price": D("100.05")}, "accepted"),
    ({"qty": "20", "order_type": OrderType.LIMIT, "limit_price": D("100.04")}, "OFF_TICK"),
    ({"qty": "20", "order_type": OrderType.STOP, "trigger_price": D("99.99")}, "OFF_TICK"),
    ({"qty": "20", "order_type": OrderType.TRAILING_STOP, "trailing_offset": D("0.07")},
     "OFF_TICK"),
    ({"qty": "20", "order_type": OrderType.TRAILING_STOP, "trailing_offset": D("7"),
      "trailing_offset_type": TrailingOffsetType.BASIS_POINTS}, "accepted"),
    ({"qty": "25"}, "OFF_LOT"),
    ({"qty": "10"}, "BELOW_MIN_QTY"),
    ({"qty": "20"}, "accepted"),
])
def test_orders_off_the_tick_or_lot_or_below_min_qty(kw: dict[str, Any], code: str) -> None:
    r = engine(instrument_specs=SPECS)
    assert outcome(r.apply(order(**kw))) == code
    # another instrument has no grid
    assert outcome(r.apply(order(qty="0.001", instrument="B"))) == "accepted"


# -- contingent lists ------------------------------------------------------------
def bracket(r: RiskEngine, entry_qty: str = "10", **entry: Any) -> list[str]:
    ids = ["e", "tp", "sl"]
    kw: dict[str, Any] = {"order_list_id": "L"}
    outs = [
        r.apply(order(BUY, qty=entry_qty, client_order_id="e", contingency=ContingencyType.OTO,
                      linked_order_ids=["tp", "sl"], **kw, **entry)),
        r.apply(order(SELL, qty="10", client_order_id="tp", order_type=OrderType.LIMIT,
                      limit_price=D(110), parent_order_id="e", contingency=ContingencyType.OUO,
                      linked_order_ids=["sl"], reduce_only=True, **kw)),
        r.apply(order(SELL, qty="10", client_order_id="sl", order_type=OrderType.STOP,
                      trigger_price=D(95), parent_order_id="e", contingency=ContingencyType.OUO,
                      linked_order_ids=["tp"], reduce_only=True, **kw)),
    ]
    return [f"{i}:{outcome(o)}" for i, o in zip(ids, outs, strict=True)]


def test_bracket_exits_use_no_buying_power_and_pass_reduce_only() -> None:
    r = engine(initial_cash="1000")
    assert bracket(r) == ["e:accepted", "tp:accepted", "sl:accepted"]
    acct = r.state.accounts["default"]
    assert acct.open_buy == {"A": D(10)} and acct.open_sell == {}
    assert acct.open_orders["tp"].exit and acct.open_orders["sl"].exit


def test_a_rejected_parent_rejects_its_children_and_the_list() -> None:
    r = engine(initial_cash="100")  # the entry (1000) is too big
    assert bracket(r) == ["e:INSUFFICIENT_BUYING_POWER", "tp:PARENT_REJECTED",
                          "sl:PARENT_REJECTED"]
    r2 = engine(max_order_qty="5")
    out = r2.apply(order(BUY, qty="6", client_order_id="a", order_list_id="O",
                         contingency=ContingencyType.OCO, linked_order_ids=["b"]))
    assert outcome(out) == "MAX_ORDER_QTY"
    out = r2.apply(order(SELL, qty="1", client_order_id="b", order_list_id="O",
                         contingency=ContingencyType.OCO, linked_order_ids=["a"]))
    assert outcome(out) == "LIST_REJECTED"


def test_exit_leaves_follow_venue_updates_and_expiry_closes_orders() -> None:
    r = engine()
    bracket(r)
    acct = r.state.accounts["default"]
    r.apply(OrderUpdated(id="u", ts=3, producer="paper", client_order_id="sl", account="default",
                         instrument="A", venue="paper", qty=D(4)))
    assert acct.open_orders["sl"].leaves == D(4)
    r.apply(OrderExpired(id="x", ts=3, producer="paper", client_order_id="e",
                         account="default", instrument="A", venue="paper"))
    assert "e" not in acct.open_orders and acct.open_buy == {"A": D(0)}


# -- order age -------------------------------------------------------------------
def test_open_orders_older_than_max_age_are_cancelled_once() -> None:
    r = engine(max_order_age_s=30)
    r.apply(order(qty="1", client_order_id="old", ts=0))
    r.apply(order(qty="1", client_order_id="young", ts=10 * SEC))
    assert r.next_age_deadline() == 30 * SEC
    out = r.apply(order(qty="1", ts=30 * SEC - 1, client_order_id="n1"))  # 1 ns early
    assert outcome(out) == "accepted" and not any(isinstance(e, CancelRequested) for e in out)
    out = r.apply(TimerFired(id="tf", ts=30 * SEC, producer="risk", plugin="risk",
                             name="order-age", scheduled_ts=30 * SEC))
    cancels = [e for e in out if isinstance(e, CancelRequested)]
    assert [c.client_order_id for c in cancels] == ["old"]
    assert breach(out).code == "MAX_ORDER_AGE"
    assert r.next_age_deadline() == 40 * SEC  # "young" is next
    out = r.apply(TimerFired(id="tf2", ts=31 * SEC, producer="risk", plugin="risk",
                             name="order-age", scheduled_ts=31 * SEC))
    assert out == []  # not cancelled twice


async def test_the_plugin_sets_a_timer_for_the_oldest_order() -> None:
    async with Harness([RiskPlugin], config={"risk": {"max_order_age_s": 5}}) as h:
        await h.feed([order(qty="1", client_order_id="o1", ts=SEC)])
        assert h.runners["risk"].clock.timers() == {"order-age": 6 * SEC}


def test_config_checks() -> None:
    for bad in ({"leverage": "0"}, {"fee_reserve_bps": "-1"}, {"max_order_age_s": 0},
                {"account_type": "prime"}, {"accounts": {"x": {"leverage": "-2"}}}):
        with pytest.raises(ConfigError):
            convert_config(bad, RiskConfig, prefix="plugin.risk")
