"""Portfolio accounting stays exact through shorts, reversals and partial fills of
contingent orders (brackets filled bit by bit by paper), checked as properties.

After every input: the portfolio's identities hold exactly; its position equals
the sum of the fills and paper's own position; no bracket's exits ever close
more than its entry filled (so a bracket never reverses the position it opened);
and once flat, realized PnL is exactly sells - buys - fees.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from decimal import localcontext
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from contracts import (
    Bar,
    CancelRequested,
    ContingencyType,
    OrderFilled,
    OrderRequested,
    OrderSubmitted,
    OrderType,
    Side,
)
from kernel import convert_config
from plugins.paper import PaperBroker, PaperConfig
from plugins.portfolio import PortfolioConfig, PortfolioCore
from plugins.portfolio.ledger import EXACT

_ids = itertools.count()


def make(cls: type, /, **fields: Any) -> Any:
    return cls(id=f"e-{next(_ids)}", ts=0, producer="x", **fields)


def submit(coid: str, side: Side, qty: D, **kw: Any) -> OrderSubmitted:
    req = OrderRequested(id=f"r-{coid}", ts=0, producer="s", client_order_id=coid,
                         account="default", instrument="X", side=side, qty=qty, **kw)
    return OrderSubmitted(id=f"s-{coid}", ts=0, producer="execution", client_order_id=coid,
                          account="default", venue="paper", request=req)


def bracket(n: int, side: Side, qty: D, ref: D, tp: D, sl: D,
            link: ContingencyType) -> list[OrderSubmitted]:
    e, t, s = f"e{n}", f"tp{n}", f"sl{n}"
    sign = side.sign
    common: dict[str, Any] = {"order_list_id": e}
    return [
        submit(e, side, qty, contingency=ContingencyType.OTO, linked_order_ids=[t, s],
               **common),
        submit(t, side.opposite, qty, order_type=OrderType.LIMIT, limit_price=ref + sign * tp,
               parent_order_id=e, contingency=link, linked_order_ids=[s], reduce_only=True,
               **common),
        submit(s, side.opposite, qty, order_type=OrderType.STOP, trigger_price=ref - sign * sl,
               parent_order_id=e, contingency=link, linked_order_ids=[t], reduce_only=True,
               **common),
    ]


money = st.integers(1, 40).map(lambda n: D(n) / 4)        # 0.25 .. 10
qtys = st.integers(1, 400).map(lambda n: D(n) / 4)          # 0.25 .. 100
moves = st.integers(-600, 600).map(lambda n: D(n) / 100)    # a bar's drift
step = st.one_of(
    st.tuples(st.just("bracket"), st.sampled_from([Side.BUY, Side.SELL]), qtys, money, money,
              st.sampled_from([ContingencyType.OUO, ContingencyType.OCO])),
    st.tuples(st.just("bar"), moves, money, money, st.integers(1, 2000)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(step, min_size=1, max_size=50))
def test_brackets_partly_filled_keep_the_books_exact(steps: list[Any]) -> None:
    paper = PaperBroker(convert_config({"max_volume_participation": "0.1", "lot_size": "0.25",
                                        "fee_bps": "2"}, PaperConfig, prefix="p"))
    portfolio = PortfolioCore(PortfolioConfig(initial_cash=D(100_000)), make)
    price = D(100)
    n = 0
    fills: list[OrderFilled] = []
    t = 0

    def feed(outs: list[Any]) -> None:
        for out in outs:
            if out.cls is OrderFilled:
                f = make(OrderFilled, **out.fields)
                fills.append(f)
                portfolio.apply(f)

    for s in steps:
        if s[0] == "bracket":
            _, side, qty, tp, sl, link = s
            n += 1
            for sub in bracket(n, side, qty, price, tp, sl, link):
                feed(paper.submit(sub))
        elif s[0] == "cancel":
            feed(paper.cancel(make(CancelRequested, client_order_id=f"e{s[1]}",
                                   account="default")))
        else:
            _, move, up, down, volume = s
            o = price
            c = max(price + move, D(1))
            bar = make(Bar, instrument="X", open_ts=t, interval_ns=1, open=o,
                       high=max(o, c) + up, low=max(min(o, c) - down, D("0.25")), close=c,
                       volume=D(volume))
            t += 1
            price = c
            feed(paper.on_bar(bar))
            portfolio.apply(bar)
        check(portfolio, paper, fills)
    kinds = {f.client_order_id.rstrip("0123456789") for f in fills}
    event(f"filled: {sorted(kinds)}")
    event("a partial fill" if any(f.leaves_qty > 0 for f in fills) else "no partial fill")


def check(portfolio: PortfolioCore, paper: PaperBroker, fills: list[OrderFilled]) -> None:
    book = portfolio.account("default")
    with localcontext(EXACT):
        assert book.equity == book.initial_cash + book.realized_pnl + book.unrealized_pnl
        assert book.equity == book.cash + sum(
            (p.qty * p.last_price for p in book.positions.values() if p.last_price is not None),
            D(0))
        net = sum((f.qty * f.side.sign for f in fills), D(0))
        pos = book.positions.get("X")
        assert (pos.qty if pos else D(0)) == net == paper.positions.get("default/X", D(0))
        by: dict[str, D] = {}
        for f in fills:
            by[f.client_order_id] = by.get(f.client_order_id, D(0)) + f.qty
        for coid, qty in by.items():
            if coid.startswith("e"):
                k = coid[1:]
                assert by.get(f"tp{k}", D(0)) + by.get(f"sl{k}", D(0)) <= qty, coid
        if net == 0 and fills:
            flows = sum((f.qty * f.price * -f.side.sign - f.fee for f in fills), D(0))
            assert book.realized_pnl == flows
