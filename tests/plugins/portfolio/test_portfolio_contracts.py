"""Contracts (Deriv) in the portfolio: a position per contract id, the stake as its cost,
marked at the venue's bid, realized at settlement; corrections as capital flows.

Exact throughout: ``equity == initial_cash + realized + unrealized`` after every event.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import pytest

from contracts import (
    BalanceCorrected,
    ContractAdopted,
    ContractSettled,
    ContractStatus,
    ContractUpdated,
    Event,
    OrderFilled,
    PortfolioSnapshot,
    Side,
    Tick,
)
from plugins.portfolio import PortfolioConfig, PortfolioCore
from plugins.portfolio.contracts import contract_key

_ids = itertools.count()


def make(cls: type, /, **fields: Any) -> Any:
    return cls(id=f"portfolio-{next(_ids)}", ts=0, producer="portfolio", **fields)


def core() -> PortfolioCore:
    return PortfolioCore(PortfolioConfig(initial_cash=D("1000")), make)


def bought(cid: str, price: str, instrument: str = "R_100") -> OrderFilled:
    n = next(_ids)
    return OrderFilled(id=f"t-{n}", ts=n, producer="deriv", client_order_id=f"o{n}",
                       account="default", instrument=instrument, venue="deriv",
                       fill_id=f"txn{n}", side=Side.BUY, qty=D(1), price=D(price), fee=D(0),
                       cum_qty=D(1), leaves_qty=D(0), position_id=cid)


def event(cls: type[Event], **fields: Any) -> Any:
    n = next(_ids)
    base: dict[str, Any] = {"account": "default", "venue": "deriv"}
    if cls is not BalanceCorrected:
        base.update(instrument="R_100", contract_type="CALL")
    return cls(id=f"t-{n}", ts=n, producer="deriv", **{**base, **fields})


def marked(cid: str, bid: str, buy: str) -> ContractUpdated:
    return event(ContractUpdated, contract_id=cid, bid_price=D(bid), buy_price=D(buy))


def settled(cid: str, sell: str, buy: str, status: str = "won") -> ContractSettled:
    return event(ContractSettled, contract_id=cid, status=ContractStatus(status),
                 buy_price=D(buy), sell_price=D(sell))


def check_identity(c: PortfolioCore) -> None:
    book = c.account("default")
    assert book.equity == book.initial_cash + book.realized_pnl + book.unrealized_pnl


@pytest.mark.parametrize("instrument", ["R_100", "R_50", "frxEURUSD"])
def test_a_contract_is_its_own_position_from_stake_to_settlement(instrument: str) -> None:
    c = core()
    (snap,) = c.apply(bought("101", "10.00", instrument))
    assert isinstance(snap, PortfolioSnapshot)
    assert (snap.cash, snap.equity, snap.unrealized_pnl) == (D("990.00"), D("1000.00"), 0)
    (pos,) = snap.positions
    assert (pos.instrument, pos.position_id, pos.qty, pos.avg_price) == (
        instrument, "101", D(1), D("10.00"))
    book = c.account("default")
    assert contract_key("deriv", "101") in book.positions and instrument not in book.positions
    # a tick of the underlying is not the contract's value
    c.apply(Tick(id="tk", ts=5, producer="md", instrument=instrument, bid=D("7"), ask=D("9")))
    assert book.equity == D("1000.00")
    assert c.apply(marked("101", "15.60", "10.00")) == [], "a mark emits no snapshot"
    assert (book.equity, book.unrealized_pnl) == (D("1005.60"), D("5.60"))
    check_identity(c)
    c.apply(marked("101", "3.90", "10.00"))
    assert book.unrealized_pnl == D("-6.10") and book.drawdown == D("11.70")
    (snap,) = c.apply(settled("101", "19.50", "10.00"))
    assert (snap.cash, snap.equity, snap.realized_pnl, snap.unrealized_pnl) == (
        D("1009.50"), D("1009.50"), D("9.50"), 0)
    assert snap.fills == 1, "a settlement is not a fill"
    assert book.positions[contract_key("deriv", "101")].fills == 1
    assert book.trades_closed == 1 and book.trades_won == 1
    check_identity(c)


def test_lost_and_sold_contracts_realize_exactly_and_a_repeat_books_nothing() -> None:
    c = core()
    c.apply(bought("1", "10.00"))
    c.apply(bought("2", "20.00"))
    c.apply(settled("1", "0", "10.00", "lost"))
    c.apply(settled("2", "23.47", "20.00", "sold"))
    book = c.account("default")
    assert (book.cash, book.realized_pnl) == (D("993.47"), D("-6.53"))
    assert c.apply(settled("2", "23.47", "20.00", "sold")) == []
    assert c.apply(marked("2", "30", "20")) == [] and book.equity == D("993.47")
    check_identity(c)


def test_an_adopted_contract_is_booked_like_a_buy_once() -> None:
    c = core()
    (snap,) = c.apply(event(ContractAdopted, contract_id="77", buy_price=D("5.00")))
    assert snap.cash == D("995.00") and snap.positions[0].position_id == "77"
    assert c.apply(event(ContractAdopted, contract_id="77", buy_price=D("5.00"))) == []
    c.apply(settled("77", "9.75", "5.00"))
    assert c.account("default").realized_pnl == D("4.75")
    check_identity(c)


def test_a_balance_correction_is_a_capital_flow_not_pnl() -> None:
    c = core()
    c.apply(bought("1", "10.00"))
    c.apply(marked("1", "12.00", "10.00"))
    book = c.account("default")
    peak = book.peak_equity
    (snap,) = c.apply(event(BalanceCorrected, balance=D("10090.00"), difference=D("9100.00")))
    assert snap.cash == D("10090.00") and snap.equity == D("10102.00")
    assert snap.realized_pnl == 0 and snap.unrealized_pnl == D("2.00")
    assert book.initial_cash == D("10100.00") and book.peak_equity == peak + D("9100.00")
    assert snap.drawdown == 0
    check_identity(c)
    c.apply(event(BalanceCorrected, balance=D("10000.00"), difference=D("-90.00")))
    assert book.drawdown == 0, "a withdrawal is not a drawdown"
    check_identity(c)


# -- what each contract event books: times, fill counts, instruments ----------------------------
def test_adoption_and_settlement_are_booked_but_not_counted_as_fills() -> None:
    c = core()
    adopted = event(ContractAdopted, contract_id="9", buy_price=D("4.00"), instrument="R_50")
    c.apply(adopted)
    book = c.account("default")
    pos = book.positions[contract_key("deriv", "9")]
    assert (pos.instrument, pos.position_id, pos.qty, pos.fills) == ("R_50", "9", D(1), 0)
    assert (book.fills, book.last_ts, book.cash) == (0, adopted.ts, D("996.00"))
    done = settled("9", "7.50", "4.00")
    c.apply(done)
    assert (pos.qty, pos.fills, pos.realized_pnl) == (D(0), 0, D("3.50"))
    assert (book.fills, book.last_ts, book.trades_closed, book.trades_won) == (0, done.ts, 1, 1)
    check_identity(c)


def test_a_fill_counts_and_its_settlement_does_not() -> None:
    c = core()
    c.apply(bought("5", "2.00"))
    c.apply(settled("5", "0", "2.00", status="lost"))
    book = c.account("default")
    assert (book.fills, book.positions[contract_key("deriv", "5")].fills) == (1, 1)
    assert (book.trades_closed, book.trades_won, book.realized_pnl) == (1, 0, D("-2.00"))


def test_marks_and_corrections_stamp_the_book_and_unknown_contracts_are_ignored() -> None:
    c = core()
    c.apply(bought("1", "10.00"))
    book = c.account("default")
    mark = marked("1", "12.00", "10.00")
    assert c.apply(mark) == []
    assert (book.last_ts, book.unrealized_pnl) == (mark.ts, D("2.00"))
    same = marked("1", "12.00", "10.00")
    c.apply(same)  # the same bid again: nothing moves but the time
    assert (book.last_ts, book.unrealized_pnl) == (same.ts, D("2.00"))
    assert c.apply(marked("nope", "3.00", "1.00")) == []
    assert c.apply(settled("nope", "3.00", "1.00")) == []
    fix = event(BalanceCorrected, balance=D("991.00"), difference=D("1.00"))
    c.apply(fix)
    assert (book.last_ts, book.cash, book.initial_cash) == (fix.ts, D("991.00"), D("1001.00"))
    check_identity(c)


def test_a_contract_position_of_two_units_settles_at_its_whole_sell_price() -> None:
    # One order buys one contract; should a venue ever fill two units under one id, the
    # settlement's sell_price is for the position: per unit it is sell_price / qty.
    c = core()
    n = next(_ids)
    c.apply(OrderFilled(id=f"t-{n}", ts=n, producer="deriv", client_order_id="o2",
                        account="default", instrument="R_100", venue="deriv", fill_id="f2",
                        side=Side.BUY, qty=D(2), price=D("5.00"), fee=D(0), cum_qty=D(2),
                        leaves_qty=D(0), position_id="22"))
    c.apply(settled("22", "7.00", "10.00"))
    book = c.account("default")
    pos = book.positions[contract_key("deriv", "22")]
    assert (pos.qty, pos.realized_pnl) == (D(0), D("-3.00"))
    assert (book.cash, book.realized_pnl) == (D("997.00"), D("-3.00"))
    check_identity(c)
