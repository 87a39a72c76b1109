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
    with pytest.raises(InvalidFillError, match="must be > 0"):
        core().apply(fill(Side.BUY, D(0), D(1)))


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
