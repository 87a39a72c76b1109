"""Accounting properties of the position ledger and the account book.

Invariants tested exactly (Decimal equality, no tolerance):

* identity: after every event, ``equity == initial_cash + realized + unrealized``
  and ``equity == cash + sum(qty x last price)``;
* conservation: a fill at price ``p`` changes equity by exactly
  ``qty_before x (p - mark_before) - fee``: trading at a price creates or
  destroys no value, only fees and the move of the mark do (the book marks an
  instrument to its latest fill price);
* a round trip from flat to flat realizes exactly ``sells - buys - fees``
  (``(exit - entry) x qty - fees`` for one entry and one exit price);
* the average price never changes on a reducing fill.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from decimal import localcontext
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Bar, OrderFilled, Side
from plugins.portfolio import PortfolioConfig, PortfolioCore, PositionState, apply_fill
from plugins.portfolio.ledger import AVG_CONTEXT, EXACT, InvalidFillError

_ids = itertools.count()
INITIAL = D(100_000)


def make(cls: type, /, **fields: Any) -> Any:
    return cls(id=f"portfolio-{next(_ids)}", ts=0, producer="portfolio", **fields)


def fill(side: Side, qty: D, price: D, fee: D = D(0), instrument: str = "X",
         account: str = "default") -> OrderFilled:
    n = next(_ids)
    return OrderFilled(id=f"t-{n}", ts=n, producer="test", client_order_id=f"o{n}",
                       account=account, instrument=instrument, venue="paper", fill_id="1",
                       side=side, qty=qty, price=price, fee=fee, cum_qty=qty, leaves_qty=D(0))


def bar(close: D, instrument: str = "X") -> Bar:
    n = next(_ids)
    return Bar(id=f"t-{n}", ts=n, producer="test", instrument=instrument, open_ts=n - 1,
               interval_ns=1, open=close, high=close, low=close, close=close, volume=D(1))


def core(**cfg: Any) -> PortfolioCore:
    cfg.setdefault("initial_cash", INITIAL)
    return PortfolioCore(PortfolioConfig(**cfg), make)


prices = st.integers(1, 1_000_000).map(lambda n: D(n) / 100)      # 0.01 .. 10000.00
qtys = st.integers(1, 10_000).map(lambda n: D(n) / 10)             # 0.1 .. 1000.0
fees = st.integers(0, 500).map(lambda n: D(n) / 100)
sides = st.sampled_from([Side.BUY, Side.SELL])
fills = st.tuples(sides, qtys, prices, fees)
steps = st.one_of(fills, prices.map(lambda p: ("mark", p)))


def identity_holds(c: PortfolioCore) -> None:
    # The sums are checked in the book's 60-digit context: the default 28-digit
    # one would itself round e.g. 100000 + 0.000666...667.
    with localcontext(EXACT):
        for book in c.state.accounts.values():
            assert book.equity == book.initial_cash + book.realized_pnl + book.unrealized_pnl
            assert book.equity == book.cash + sum(
                (p.qty * p.last_price for p in book.positions.values()
                 if p.last_price is not None), D(0))


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, min_size=1, max_size=40))
def test_equity_moves_only_by_price_moves_and_fees(seq: list[Any]) -> None:
    c = core()
    for step in seq:
        book = c.account("default")
        pos = book.positions.get("X")
        q0 = pos.qty if pos else D(0)
        mark0 = pos.last_price if pos and pos.last_price is not None else None
        eq0 = book.equity
        if step[0] == "mark":
            c.apply(bar(step[1]))
            expected = q0 * (step[1] - mark0) if mark0 is not None else D(0)
        else:
            side, qty, price, fee = step
            out = c.apply(fill(side, qty, price, fee))
            assert len(out) == 1  # a snapshot after every fill
            expected = (q0 * (price - mark0) if mark0 is not None else D(0)) - fee
        with localcontext(EXACT):
            assert c.account("default").equity - eq0 == expected
        identity_holds(c)


@settings(max_examples=300, deadline=None)
@given(st.lists(fills, min_size=1, max_size=40))
def test_average_price_never_changes_on_a_reducing_fill(seq: list[Any]) -> None:
    pos = PositionState(instrument="X")
    for side, qty, price, fee in seq:
        q0, avg0 = pos.qty, pos.avg_price
        apply_fill(pos, side, qty, price, fee)
        signed = qty if side is Side.BUY else -qty
        reducing = q0 != 0 and (q0 > 0) != (signed > 0) and qty <= abs(q0)
        if reducing:
            assert pos.avg_price == avg0
        flipped = q0 != 0 and (q0 > 0) != (signed > 0) and qty > abs(q0)
        if flipped or q0 == 0:
            assert pos.avg_price == price  # a new position opens at the fill price


@settings(max_examples=300, deadline=None)
@given(sides, st.lists(st.tuples(qtys, prices, fees), min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(1, 100), prices, fees), min_size=1, max_size=8))
def test_round_trip_realizes_exactly_proceeds_minus_cost_minus_fees(
    entry_side: Side, entries: list[Any], exit_parts: list[Any]
) -> None:
    exit_side = Side.SELL if entry_side is Side.BUY else Side.BUY
    total = sum((q for q, _, _ in entries), D(0))
    weights = [w for w, _, _ in exit_parts]
    # Split the total into exit fills in proportion to the weights (exactly, last takes the rest).
    exits, left = [], total
    for i, (w, price, fee) in enumerate(exit_parts):
        q = left if i == len(exit_parts) - 1 else (total * w / sum(weights)).quantize(D("0.1"))
        q = min(q, left)
        if q > 0:
            exits.append((q, price, fee))
            left -= q
    if left > 0:
        exits.append((left, exit_parts[-1][1], D(0)))
    pos = PositionState(instrument="X")
    for q, p, f in entries:
        apply_fill(pos, entry_side, q, p, f)
    for q, p, f in exits:
        apply_fill(pos, exit_side, q, p, f)
    assert pos.qty == 0 and pos.cost == 0
    bought = sum((q * p for q, p, _ in (entries if entry_side is Side.BUY else exits)), D(0))
    sold = sum((q * p for q, p, _ in (exits if entry_side is Side.BUY else entries)), D(0))
    all_fees = sum((f for _, _, f in entries + exits), D(0))
    assert pos.realized_pnl == sold - bought - all_fees


@given(sides, qtys, prices, prices, fees, fees)
def test_single_price_round_trip(side: Side, qty: D, entry: D, exit_: D, f1: D, f2: D) -> None:
    pos = PositionState(instrument="X")
    apply_fill(pos, side, qty, entry, f1)
    effect = apply_fill(pos, Side.SELL if side is Side.BUY else Side.BUY, qty, exit_, f2)
    assert pos.realized_pnl == (exit_ - entry) * qty * side.sign - f1 - f2
    assert effect.closed_trade and effect.trade_pnl == pos.realized_pnl


def test_average_cost_weighting_reduction_and_flip() -> None:
    pos = PositionState(instrument="X")
    apply_fill(pos, Side.BUY, D(10), D(100), D(0))
    apply_fill(pos, Side.BUY, D(30), D(104), D(0))
    assert pos.qty == 40 and pos.avg_price == D(103)
    apply_fill(pos, Side.SELL, D(10), D(110), D(1))
    assert pos.avg_price == D(103) and pos.realized_pnl == D(69)
    effect = apply_fill(pos, Side.SELL, D(50), D(90), D(2))  # close 30, open short 20 @ 90
    assert pos.qty == -20 and pos.avg_price == D(90) and pos.cost == D(-1800)
    assert pos.realized_pnl == D(69) + 30 * (D(90) - D(103)) - 2
    assert effect.closed_trade
    assert pos.unrealized_pnl == 0 and pos.last_price == 90


def test_short_position_pnl() -> None:
    c = core()
    c.apply(fill(Side.SELL, D(5), D(200), D("0.5")))
    c.apply(bar(D(190)))
    book = c.account("default")
    assert book.unrealized_pnl == 50 and book.cash == INITIAL + 1000 - D("0.5")
    c.apply(fill(Side.BUY, D(5), D(180), D("0.5")))
    assert book.realized_pnl == 100 - 1 and book.unrealized_pnl == 0
    assert book.trades_closed == 1 and book.trades_won == 1
    identity_holds(c)


def test_non_positive_fill_is_refused() -> None:
    bad = fill(Side.BUY, D(0), D(1))
    with pytest.raises(InvalidFillError, match="must be > 0") as info:
        core().apply(bad)
    err = info.value
    assert (err.client_order_id, err.fill_id, err.qty) == (bad.client_order_id, "1", D(0))
    assert str(err) == (f"fill '1' of order {bad.client_order_id!r} has qty 0; a fill's qty "
                        "must be > 0 (the broker that emitted it is wrong)")


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=2, max_size=60),
       st.integers(min_value=1, max_value=5_000))
@settings(max_examples=200, deadline=None)
def test_max_drawdown_pct_is_the_largest_quotient_on_the_path(marks: list[int],
                                                               qty: int) -> None:
    """The book skips the division while no new maximum is possible; the result is
    still exactly max(drawdown / peak) over every mark, rounded like the book rounds."""
    core = PortfolioCore(PortfolioConfig(), make)
    prices = [D(m) / 100 for m in marks]
    core.apply(fill(Side.BUY, D(qty), prices[0]))
    book = core.account("default")
    peak, best = book.equity, D(0)
    for p in prices[1:]:
        core.apply(bar(p))
        peak = max(peak, book.equity)
        dd = peak - book.equity
        if dd and peak > 0:
            best = max(best, AVG_CONTEXT.divide(dd, peak))
    assert book.max_drawdown_pct == best


# -- hand-computed cases: both sides, several instruments, quantities below 1 ----------
def test_covering_part_of_a_short_realizes_and_marks_the_rest() -> None:
    pos = PositionState(instrument="X")
    apply_fill(pos, Side.SELL, D(10), D(100), D(0))
    effect = apply_fill(pos, Side.BUY, D(4), D(90), D(0))
    assert effect == (D(40), False, D(0))  # (100 - 90) x 4, the trade still open
    assert (pos.qty, pos.avg_price, pos.cost) == (D(-6), D(100), D(-600))
    assert pos.realized_pnl == 40 and pos.trade_pnl == 40
    assert pos.market_value == D(-540) and pos.unrealized_pnl == 60  # marked at 90


def test_a_long_marked_up_shows_the_gain_in_its_position_and_the_book() -> None:
    c = core()
    c.apply(fill(Side.BUY, D(10), D(100)))
    c.apply(fill(Side.SELL, D(3), D(40), instrument="Y"))
    c.apply(bar(D(110)))
    c.apply(bar(D(50), instrument="Y"))
    book = c.account("default")
    x, y = book.positions["X"], book.positions["Y"]
    assert (x.unrealized_pnl, x.market_value, x.realized_pnl) == (D(100), D(1100), D(0))
    assert (y.unrealized_pnl, y.market_value, y.realized_pnl) == (D(-30), D(-150), D(0))
    assert book.unrealized_pnl == 70 and book.realized_pnl == 0
    assert book.cash == INITIAL - 1000 + 120 and book.equity == INITIAL + 70
    assert book.gross_exposure() == 1250
    identity_holds(c)


def test_trade_pnl_of_consecutive_round_trips() -> None:
    pos = PositionState(instrument="X")
    effects = [apply_fill(pos, side, D(q), D(p), D(f)) for side, q, p, f in [
        (Side.BUY, 2, 100, 1), (Side.SELL, 1, 110, 0), (Side.SELL, 1, 110, 0),
        (Side.BUY, 1, 100, 0), (Side.SELL, 1, 90, 0)]]
    assert [e.realized for e in effects] == [D(-1), D(10), D(10), D(0), D(-10)]
    assert [(e.closed_trade, e.trade_pnl) for e in effects] == [
        (False, 0), (False, 0), (True, D(19)), (False, 0), (True, D(-10))]
    assert pos.realized_pnl == 9 and pos.fees == 1 and pos.trade_pnl == 0
    assert pos.fills == 5 and pos.turnover == 610  # 200 + 110 + 110 + 100 + 90
    # flat: the average of the last round trip's entry is kept
    assert (pos.qty, pos.cost, pos.avg_price) == (D(0), D(0), D(100))


def test_the_book_counts_trades_won_from_trade_pnl() -> None:
    c = core()
    for side, q, p, f in [(Side.BUY, 2, 100, 1), (Side.SELL, 1, 110, 0),
                          (Side.SELL, 1, 110, 0), (Side.BUY, 1, 100, 0), (Side.SELL, 1, 90, 0),
                          (Side.SELL, 1, 90, 0), (Side.BUY, 1, 90, 0)]:
        c.apply(fill(side, D(q), D(p), D(f)))
    book = c.account("default")
    assert (book.trades_closed, book.trades_won) == (3, 1)  # +19, -10, 0 (a scratch)
    assert book.realized_pnl == 9 and book.fees == 1 and book.turnover == 790
    assert book.cash == INITIAL + 9


def test_flipping_a_short_to_a_long_charges_the_fee_to_the_closed_trade() -> None:
    pos = PositionState(instrument="X")
    apply_fill(pos, Side.SELL, D("0.4"), D(50), D("0.1"))
    effect = apply_fill(pos, Side.BUY, D("1.5"), D(45), D("0.2"))  # cover 0.4, long 1.1
    assert effect.closed_trade and effect.realized == D("1.8")  # 0.4 x 5 - 0.2
    assert effect.trade_pnl == D("1.7")  # and the entry fee 0.1
    assert (pos.qty, pos.avg_price, pos.cost) == (D("1.1"), D(45), D("49.5"))
    assert pos.trade_pnl == 0 and pos.realized_pnl == D("1.7")
    effect = apply_fill(pos, Side.SELL, D("1.1"), D(44), D(0))
    assert effect == (D("-1.1"), True, D("-1.1"))


def test_average_cost_of_fractional_fills_on_both_sides() -> None:
    long_ = PositionState(instrument="X")
    apply_fill(long_, Side.BUY, D("0.3"), D(100), D(0))
    apply_fill(long_, Side.BUY, D("0.2"), D(110), D(0))
    assert (long_.qty, long_.avg_price, long_.cost) == (D("0.5"), D(104), D("52.0"))
    assert apply_fill(long_, Side.SELL, D("0.25"), D(120), D(0)).realized == D("4.00")
    assert (long_.qty, long_.cost) == (D("0.25"), D("26.00"))
    short = PositionState(instrument="Y")
    apply_fill(short, Side.SELL, D("0.3"), D(100), D(0))
    apply_fill(short, Side.SELL, D("0.2"), D(110), D(0))
    assert (short.qty, short.avg_price, short.cost) == (D("-0.5"), D(104), D("-52.0"))
    assert apply_fill(short, Side.BUY, D("0.25"), D(120), D(0)).realized == D("-4.00")
    assert (short.qty, short.cost) == (D("-0.25"), D("-26.00"))


def test_a_full_close_releases_the_exact_cost_of_a_repeating_average() -> None:
    pos = PositionState(instrument="X")
    apply_fill(pos, Side.BUY, D(1), D(1), D(0))
    apply_fill(pos, Side.BUY, D(2), D(1), D("0"))
    apply_fill(pos, Side.BUY, D(3), D(2), D(0))  # cost 9 over 6: avg 1.5
    apply_fill(pos, Side.BUY, D(3), D(1), D(0))  # cost 12 over 9: avg 1.333...
    assert pos.avg_price == D("1.333333333333333333333333333")
    apply_fill(pos, Side.SELL, D(1), D(2), D(0))
    effect = apply_fill(pos, Side.SELL, D(8), D(2), D(0))
    assert pos.qty == 0 and pos.cost == 0
    assert pos.realized_pnl == 18 - 12 and effect.closed_trade
