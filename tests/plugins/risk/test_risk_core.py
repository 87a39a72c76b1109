"""RiskEngine's fold (core.py): fills, updates, cancels, prices, counters, days, halts and
the state view, each checked against its exact value."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    CancelRequested,
    ContingencyType,
    Event,
    Halt,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderType,
    OrderUpdated,
    PortfolioSnapshot,
    RegimeInferred,
    Resume,
    RiskBreach,
    RiskLimitsScaled,
    Side,
    Tick,
    TimerFired,
    TradingState,
    TradingStateChanged,
)
from plugins.risk import DAY_NS

from .builders import BUY, SEC, SELL, engine, order
from .builders import ids as _ids


def fill(coid: str, side: Side, qty: str, cum: str, leaves: str, price: str = "100",
         instrument: str = "A", account: str = "default", fee: str = "0",
         fill_id: str | None = None) -> OrderFilled:
    return OrderFilled(id=f"f-{next(_ids)}", ts=2, producer="paper", client_order_id=coid,
                       account=account, instrument=instrument, venue="paper",
                       fill_id=fill_id or f"x{next(_ids)}", side=side, qty=D(qty),
                       price=D(price), fee=D(fee), cum_qty=D(cum), leaves_qty=D(leaves))


def cancelled(coid: str, account: str = "default") -> OrderCancelled:
    return OrderCancelled(id=f"k-{next(_ids)}", ts=3, producer="paper", client_order_id=coid,
                          account=account, instrument="A", venue="paper", reason="",
                          filled_qty=D(0))


def updated(coid: str, qty: str | None, account: str = "default") -> OrderUpdated:
    return OrderUpdated(id=f"u-{next(_ids)}", ts=3, producer="paper", client_order_id=coid,
                        account=account, instrument="A", venue="paper",
                        qty=None if qty is None else D(qty),
                        trigger_price=None if qty is not None else D(99))


def snapshot(realized: str, unrealized: str = "0", ts: int = 5,
             account: str = "default") -> PortfolioSnapshot:
    return PortfolioSnapshot(id=f"p-{next(_ids)}", ts=ts, producer="portfolio",
                             account=account, cash=D(0), equity=D(0), realized_pnl=D(realized),
                             unrealized_pnl=D(unrealized), fees=D(0), gross_exposure=D(0),
                             net_exposure=D(0), drawdown=D(0), max_drawdown=D(0))


def outcome(out: list[Event]) -> str:
    for e in out:
        if isinstance(e, OrderAccepted):
            return "accepted"
        if isinstance(e, OrderRejected):
            return e.code
    return "none"


# -- fills ----------------------------------------------------------------------------------
def test_fills_add_up_into_the_position_and_cash_once_each() -> None:
    r = engine(initial_cash="1000")
    assert outcome(r.apply(order(BUY, "10", client_order_id="o"))) == "accepted"
    r.apply(fill("o", BUY, "3", "3", "7", fee="0.5"))
    repeat = fill("o", BUY, "3", "3", "7", fee="0.5")
    r.apply(repeat)  # the same fill again (same cum_qty): already counted
    r.apply(fill("o", BUY, "4", "7", "3", price="101"))
    acct = r.state.accounts["default"]
    assert acct.positions == {"A": D(7)} and acct.open_buy == {"A": D(3)}
    assert acct.cash == D(1000) - 300 - D("0.5") - 404
    assert r.state.prices["A"] == D(101)


def test_a_fill_leaving_half_a_unit_keeps_the_order_open() -> None:
    r = engine()
    r.apply(order(BUY, "1", client_order_id="o"))
    r.apply(fill("o", BUY, "0.5", "0.5", "0.5"))
    acct = r.state.accounts["default"]
    assert list(acct.open_orders) == ["o"] and acct.open_buy == {"A": D("0.5")}
    r.apply(cancelled("o"))  # closing it releases the half unit left
    assert acct.open_orders == {} and acct.open_buy == {"A": D(0)}


def test_cash_starts_from_the_accounts_own_initial_cash() -> None:
    r = engine(initial_cash="1000", accounts={"big": {"initial_cash": "5000"}})
    r.apply(fill("x", SELL, "2", "2", "0", price="50", account="big"))
    assert r.view()["accounts"]["big"]["cash"] == "5100"


# -- venue updates, cancels, rejections ---------------------------------------------------------
def test_a_venue_update_resizes_the_open_quantity_of_a_partly_filled_order() -> None:
    r = engine()
    r.apply(order(BUY, "10", client_order_id="o"))
    r.apply(fill("o", BUY, "4", "4", "6"))
    r.apply(updated("o", "8"))  # total now 8: 4 filled, 4 left
    acct = r.state.accounts["default"]
    assert acct.open_orders["o"].leaves == D(4) and acct.open_buy == {"A": D(4)}
    r.apply(updated("o", "3"))  # below what filled: nothing left
    assert acct.open_orders["o"].leaves == D(0) and acct.open_buy == {"A": D(0)}


def test_a_trigger_only_update_or_one_for_an_unknown_account_changes_nothing() -> None:
    r = engine()
    r.apply(order(SELL, "5", client_order_id="o"))
    assert r.apply(updated("o", None)) == []
    assert r.apply(updated("o", "2", account="stranger")) == []
    assert r.apply(updated("nope", "2")) == []
    acct = r.state.accounts["default"]
    assert acct.open_orders["o"].leaves == D(5) and acct.open_sell == {"A": D(5)}


def test_closing_an_exit_or_an_unknown_id_leaves_the_open_books_alone() -> None:
    r = engine()
    r.apply(order(BUY, "10", client_order_id="e", order_list_id="L",
                  contingency=ContingencyType.OTO, linked_order_ids=["x"]))
    r.apply(order(SELL, "10", client_order_id="x", order_list_id="L", parent_order_id="e"))
    acct = r.state.accounts["default"]
    assert acct.open_orders["x"].exit and acct.open_sell == {}
    r.apply(cancelled("x"))
    r.apply(cancelled("never-seen"))
    r.apply(cancelled("e", account="stranger"))
    assert acct.open_sell == {} and acct.open_buy == {"A": D(10)}
    assert list(acct.open_orders) == ["e"]


def test_risks_own_rejection_coming_back_does_not_close_the_open_order() -> None:
    r = engine(max_open_orders=1)
    r.apply(order(client_order_id="a"))
    rejection, _breach = r.apply(order(client_order_id="a"))  # a duplicate
    assert isinstance(rejection, OrderRejected) and rejection.source == "risk"
    r.apply(rejection)  # risk reads its own rejections back from the bus
    assert outcome(r.apply(order())) == "MAX_OPEN_ORDERS"
    r.apply(OrderRejected(id="v", ts=4, producer="paper", client_order_id="a",
                          account="default", instrument="A", code="X", reason="venue",
                          source="paper"))
    assert outcome(r.apply(order())) == "accepted"


# -- prices -------------------------------------------------------------------------------------
def test_a_tick_prices_at_its_mid() -> None:
    r = engine(max_order_notional="1000")
    r.apply(Tick(id="t", ts=1, producer="md", instrument="A", bid=D(99), ask=D(101)))
    assert r.state.prices["A"] == D(100)
    assert outcome(r.apply(order(qty="10", ref=None))) == "accepted"
    assert outcome(r.apply(order(qty="10.01", ref=None))) == "MAX_ORDER_NOTIONAL"


@pytest.mark.parametrize(("kw", "price"), [
    ({"order_type": OrderType.LIMIT, "limit_price": D(50)}, D(50)),  # the limit first
    ({}, D(100)),  # else the reference
])
def test_an_accepted_order_seeds_the_price_of_an_unpriced_instrument(kw: dict[str, Any],
                                                                     price: D) -> None:
    r = engine(max_gross_exposure="1000000")  # reads market data: refs are not prices
    assert outcome(r.apply(order(qty="1", ref="100", **kw))) == "accepted"
    assert r.state.prices == {"A": price}
    r.apply(fill("z", BUY, "1", "1", "0", price="70", instrument="B"))
    r.apply(order(qty="1", instrument="B", ref="100"))
    assert r.state.prices["B"] == D(70)  # a known price is kept


def test_an_unpriced_order_is_counted_but_an_unpriced_exit_is_not() -> None:
    r = engine()
    r.apply(order(BUY, "1", instrument="N", ref=None, client_order_id="e", order_list_id="L",
                  contingency=ContingencyType.OTO, linked_order_ids=["x"]))
    r.apply(order(SELL, "1", instrument="N", ref=None, client_order_id="x",
                  order_list_id="L", parent_order_id="e"))
    r.apply(order(BUY, "1", instrument="A", ref="100"))
    r.apply(order(BUY, "1", instrument="M", ref=None))
    assert (r.state.counters.accepted, r.state.counters.unpriced) == (4, 2)
    assert "N" not in r.state.prices


# -- days, snapshots, halts ----------------------------------------------------------------------
def test_daily_loss_counts_unrealized_pnl_and_says_what_it_does() -> None:
    r = engine(max_daily_loss="100")
    assert r.apply(snapshot("-60", "-39.99")) == []
    out = r.apply(snapshot("-60", "-70"))
    breach, change = out
    assert isinstance(breach, RiskBreach) and isinstance(change, TradingStateChanged)
    assert breach.detail == "account default lost 130 today (limit 100); action: reduce"
    assert (breach.limit, breach.value) == ("-100", "-130")
    assert change.reason == "MAX_DAILY_LOSS: account default daily pnl -130"
    out = r.apply(order(ts=DAY_NS + 1))
    assert isinstance(out[0], TradingStateChanged)
    assert (out[0].state, out[0].reason) == (TradingState.ACTIVE,
                                             "new UTC day: daily loss reset")
    assert r.view()["accounts"]["default"]["daily_loss_breached"] is False


def test_a_daily_loss_halt_cancels_each_open_order_of_each_account() -> None:
    r = engine(max_daily_loss="100", daily_loss_action="halt")
    r.apply(order(client_order_id="a1", account="a", venue="sim"))
    r.apply(order(client_order_id="b1", account="b", venue="paper"))
    out = r.apply(snapshot("-100", account="a"))
    assert [type(e) for e in out] == [RiskBreach, TradingStateChanged, CancelRequested,
                                      CancelRequested]
    assert out[1].reason == "MAX_DAILY_LOSS: account a"
    assert [(c.client_order_id, c.account, c.venue, c.reason) for c in out[2:]] == [
        ("a1", "a", "sim", "MAX_DAILY_LOSS: account a"),
        ("b1", "b", "paper", "MAX_DAILY_LOSS: account a")]
    assert r.state.halt_reason == "MAX_DAILY_LOSS: account a"


@pytest.mark.parametrize(("operator", "suffix"), [("ops", " (by ops)"), (None, "")])
def test_halt_and_resume_reasons_name_the_operator(operator: str | None, suffix: str) -> None:
    r = engine()
    (change,) = r.apply(Halt(id="h", ts=1, producer="ops", reason="fat finger",
                             operator=operator))
    assert change.reason == f"HALT: fat finger{suffix}"
    assert r.view()["halt_reason"] == f"HALT: fat finger{suffix}"
    (change,) = r.apply(Resume(id="r", ts=2, producer="ops", reason="checked",
                               operator=operator))
    assert (change.previous, change.state, change.reason) == (
        TradingState.HALTED, TradingState.ACTIVE, f"RESUME: checked{suffix}")
    view = r.view()
    assert (view["halted"], view["halt_reason"]) == (False, "")


# -- order age ------------------------------------------------------------------------------------
def test_each_open_order_is_cancelled_when_it_gets_too_old() -> None:
    r = engine(max_order_age_s=30)
    assert r.next_age_deadline() is None  # nothing open
    r.apply(order(client_order_id="old", ts=5 * SEC, venue="sim"))
    r.apply(order(client_order_id="young", ts=15 * SEC, venue="paper"))
    out = r.apply(TimerFired(id="t1", ts=40 * SEC, producer="risk", plugin="risk",
                             name="order-age", scheduled_ts=35 * SEC))
    cancel, breach = out
    assert (cancel.client_order_id, cancel.account, cancel.venue) == ("old", "default", "sim")
    assert breach.value == "35" and cancel.reason == (
        "MAX_ORDER_AGE: open 35s, longer than max_order_age_s 30.0")
    out = r.apply(TimerFired(id="t2", ts=45 * SEC, producer="risk", plugin="risk",
                             name="order-age", scheduled_ts=45 * SEC))
    assert [(e.client_order_id, getattr(e, "venue", None)) for e in out] == [
        ("young", "paper"), ("young", None)]  # the old one is not cancelled twice
    assert r.next_age_deadline() is None


# -- regimes --------------------------------------------------------------------------------
def test_a_scaling_event_carries_the_regime_the_model_and_the_instruments_limits() -> None:
    r = engine(max_position="100", position_limits={"A": "40"}, max_order_qty="10",
               regime_scale={"HIGH_VOL": "0.5"})
    (ev,) = r.apply(RegimeInferred(id="g", ts=1, producer="regime", instrument="A", regime=2,
                                   label="HIGH_VOL_TRENDING_UP", probabilities=[0, 0, 1.0],
                                   model="regime-A", model_version=7))
    assert isinstance(ev, RiskLimitsScaled)
    assert (ev.instrument, ev.regime, ev.label, ev.rule, ev.scale, ev.previous_scale) == (
        "A", 2, "HIGH_VOL_TRENDING_UP", "HIGH_VOL", D("0.5"), D(1))
    assert (ev.max_position, ev.max_order_qty) == (D(20), D(5))  # A's own 40, halved
    assert (ev.model, ev.model_version) == ("regime-A", 7)


# -- counters and the state view ------------------------------------------------------------
def test_the_view_shows_each_account_and_the_counters() -> None:
    r = engine(max_order_qty="5", initial_cash="1000")
    r.apply(order(BUY, "2", client_order_id="o", venue="sim"))
    r.apply(fill("o", BUY, "1.5", "1.5", "0.5"))
    r.apply(order(SELL, "1", instrument="B", client_order_id="s"))
    r.apply(fill("s", SELL, "1", "1", "0", instrument="B", price="10"))
    r.apply(fill("z", BUY, "1", "1", "0", instrument="C"))
    r.apply(fill("z2", SELL, "1", "1", "0", instrument="C"))  # flat again: not shown
    r.apply(order(qty="6"))
    r.apply(order(qty="7"))
    r.apply(order(qty="0"))
    r.apply(order(client_order_id="o"))
    assert r.view() == {
        "trading_state": "ACTIVE", "halted": False, "halt_reason": "",
        "accounts": {"default": {
            "positions": {"A": "1.5", "B": "-1"},
            "cash": "860.0",
            "open_orders": [{"client_order_id": "o", "instrument": "A", "side": "BUY",
                             "leaves": "0.5", "venue": "sim"}],
            "daily_pnl": "0", "daily_loss_breached": False}},
        "accepted": 2,
        "rejected": {"MAX_ORDER_QTY": 2, "INVALID_ORDER": 1, "DUPLICATE_ORDER": 1},
        "unpriced": 0,
    }
    assert engine().view()["accounts"] == {}
    r2 = engine()
    r2.apply(order())
    assert r2.view()["accounts"]["default"]["cash"] is None  # no fill yet


def test_rejected_lists_are_remembered_up_to_keep_decided_ids_oldest_out() -> None:
    r = engine(max_order_qty="1", keep_decided_ids=2)
    for n in range(3):
        r.apply(order(qty="2", client_order_id=f"m{n}", order_list_id=f"L{n}",
                      contingency=ContingencyType.OCO, linked_order_ids=[f"z{n}"]))
    assert dict(r.state.rejected_lists) == {"L1": "m1", "L2": "m2"}
    r = engine(max_order_qty="1", keep_decided_ids=2)
    for n in range(2):
        r.apply(order(qty="2", client_order_id=f"m{n}", order_list_id=f"L{n}",
                      contingency=ContingencyType.OCO, linked_order_ids=[f"z{n}"]))
    assert dict(r.state.rejected_lists) == {"L0": "m0", "L1": "m1"}


def test_an_accepted_order_answers_with_its_account_and_request() -> None:
    r = engine()
    req = order(account="acct-7")
    (acc,) = r.apply(req)
    assert isinstance(acc, OrderAccepted)
    assert (acc.client_order_id, acc.account, acc.request) == (req.client_order_id, "acct-7",
                                                               req)
