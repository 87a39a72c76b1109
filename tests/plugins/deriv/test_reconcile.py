"""Reconciliation in the pure core: what it asks, in which order, and each correction.

The core is driven directly (no bus): its ``VenueRequest`` outputs go to the fake
venue's call logic (``LoggedVenue``), the answers come back as ``VenueMessage``.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from typing import Any

import msgspec

from contracts import (
    BalanceCorrected,
    ContractAdopted,
    ContractTerms,
    ContractType,
    DurationUnit,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderRequested,
    OrderSubmitted,
    Side,
    VenueLinkChanged,
    VenueMessage,
    VenueReconciled,
    VenueRequest,
)
from plugins.deriv.config import DerivConfig
from plugins.deriv.core import DerivCore
from plugins.deriv.fake.logged import LoggedVenue
from plugins.deriv.market import Out
from plugins.deriv.messages import OpenContract, StatementRow
from plugins.deriv.reconcile import STATEMENT_PAGE, _itemize, _match

_ids = itertools.count()
RISE = ContractTerms(contract_type=ContractType.CALL, amount=D(10), duration=5,
                     duration_unit=DurationUnit.TICKS)


class Driver:
    """The pure core and the fake venue, wired by hand."""

    def __init__(self) -> None:
        cfg = msgspec.convert({"app_id": "1089", "trading": True, "account": "acct",
                               "instrument_list": False, "contracts": False,
                               "rate_limits": False}, DerivConfig)
        self.core = DerivCore(cfg, link="deriv")
        self.venue = LoggedVenue()
        self.events: list[Event] = []

    def _stamp(self, out: Out) -> Event:
        return out.cls(id=f"core-{next(_ids)}", ts=out.ts or self.venue.ts, producer="deriv",
                       **out.fields)

    def feed(self, events: list[Event], *, answer: bool = True) -> None:
        queue = list(events)
        while queue:
            ev = queue.pop(0)
            self.events.append(ev)
            if isinstance(ev, VenueMessage):
                outs = self.core.on_message(ev)
            elif isinstance(ev, VenueLinkChanged):
                outs = self.core.on_link(ev)
            elif isinstance(ev, VenueRequest):
                if answer:
                    queue += self.venue.answer([ev])
                continue
            else:
                outs = self.core.on_order_event(ev)
            queue += [self._stamp(o) for o in outs]

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    def calls(self) -> list[str]:
        return [r.call for r in self.of(VenueRequest)]

    def order(self, coid: str) -> list[Event]:
        req = OrderRequested(id=f"r-{coid}", ts=5, producer="t", client_order_id=coid,
                             account="acct", instrument="R_100", side=Side.BUY, qty=D(1),
                             venue="deriv", contract=RISE)
        return [OrderAccepted(id=f"a-{coid}", ts=5, producer="risk", client_order_id=coid,
                              account="acct", request=req),
                OrderSubmitted(id=f"s-{coid}", ts=5, producer="execution",
                               client_order_id=coid, account="acct", venue="deriv",
                               request=req)]


def test_the_first_reconciliation_asks_the_ledger_then_the_balance() -> None:
    d = Driver()
    d.feed(d.venue.connect(ts=1))
    assert d.calls() == ["portfolio", "statement", "balance"]
    statement = d.of(VenueRequest)[1].text
    assert '"limit":1' in statement and "date_from" not in statement
    (opening,) = d.of(BalanceCorrected)
    assert (opening.balance, opening.expected, opening.difference) == (
        D("10000.00"), None, D("10000.00"))
    (done,) = d.of(VenueReconciled)
    assert done.ok and done.corrections == 1 and done.reason.startswith("connected: 1 corr")


def test_a_long_statement_is_read_page_by_page() -> None:
    d = Driver()
    d.feed(d.venue.connect(ts=1))
    d.feed(d.order("o-1"))  # a buy: keel now knows the newest transaction
    for _ in range(STATEMENT_PAGE + 5):
        d.venue.fake.deposit(D("1.00"))
    d.feed(d.venue.disconnect())
    d.feed(d.venue.connect())
    pages = [r.text for r in d.of(VenueRequest) if r.call == "statement"][1:]
    assert len(pages) == 2 and '"offset"' not in pages[0]
    assert f'"offset":{STATEMENT_PAGE}' in pages[1] and f'"limit":{STATEMENT_PAGE}' in pages[1]
    correction = d.of(BalanceCorrected)[-1]
    assert correction.difference == D(STATEMENT_PAGE + 5)
    assert correction.reason.count("deposit +1.00") == STATEMENT_PAGE + 5
    assert "unexplained" not in correction.reason


def test_lost_buys_are_matched_oldest_first_and_the_rest_adopted_or_rejected() -> None:
    d = Driver()
    d.feed(d.venue.connect(ts=1))
    d.venue.lose_buy_answers = 1
    d.feed(d.order("lost-1"))  # bought, answer lost
    d.feed(d.order("lost-2"), answer=False)  # proposal asked, then...
    d.feed(d.venue.answer(d.of(VenueRequest)), answer=False)  # ...answered: buy asked, unsent
    d.feed(d.venue.disconnect())
    # meanwhile someone buys a PUT on the account
    outside = LoggedVenue(d.venue.fake)
    outside.venue = "elsewhere"
    outside.connect()
    req = {"proposal": 1, "contract_type": "PUT", "symbol": "R_100", "currency": "USD",
           "amount": 5, "basis": "stake", "duration": 3, "duration_unit": "t"}
    conn = outside.conn
    assert conn is not None
    p = d.venue.fake.call_proposal(conn, req)
    d.venue.fake.call_buy(conn, {"buy": p["proposal"]["id"], "price": 5})
    d.feed(d.venue.connect())
    (fill,) = d.of(OrderFilled)
    assert fill.client_order_id == "lost-1" and fill.price == D("10.00")
    (adopted,) = d.of(ContractAdopted)
    assert adopted.contract_type == "PUT" and adopted.buy_price == D("5.00")
    (rejected,) = d.of(OrderRejected)
    assert rejected.client_order_id == "lost-2" and rejected.code == "CONNECTION_LOST"
    last = d.of(VenueReconciled)[-1]
    assert last.ok and last.corrections == 3 and last.open_contracts == 2


def _view(**kw: Any) -> OpenContract:
    base: dict[str, Any] = {"contract_id": 1, "contract_type": "CALL", "underlying": "R_100",
                            "buy_price": D("10.00")}
    return msgspec.convert({**base, **kw}, OpenContract)


def test_the_match_rule() -> None:
    from plugins.deriv.book import WorkingOrder

    def lost(coid: str, max_price: str, **kw: Any) -> WorkingOrder:
        return WorkingOrder(client_order_id=coid, account="acct", instrument="R_100",
                            terms=RISE, order_type="MARKET",  # type: ignore[arg-type]
                            stage="unknown", max_price=D(max_price), **kw)

    a, b = lost("a", "9.99"), lost("b", "10.00")
    assert _match([a, b], _view()) is b, "bought for more than a's max price: not a's"
    assert _match([b, lost("c", "10.00")], _view()) is b, "oldest first"
    assert _match([b], _view(contract_type="PUT")) is None
    assert _match([b], _view(underlying="R_50")) is None
    assert _match([b], _view(buy_price=None)) is None


def test_itemized_cash_moves_and_the_unexplained_rest() -> None:
    rows = [msgspec.convert(r, StatementRow) for r in [
        {"transaction_id": 5, "action_type": "deposit", "amount": "100", "balance_after": "1",
         "transaction_time": 1},
        {"transaction_id": 7, "action_type": "withdrawal", "amount": "-30.50",
         "balance_after": "1", "transaction_time": 2},
        {"transaction_id": 8, "action_type": "buy", "amount": "-10", "balance_after": "1",
         "transaction_time": 3, "contract_id": 1},
        {"transaction_id": 4, "action_type": "deposit", "amount": "999", "balance_after": "1",
         "transaction_time": 0},
    ]]
    assert _itemize(rows, 4, D("69.50")) == ("deposit +100 (transaction 5); "
                                             "withdrawal -30.50 (transaction 7)")
    assert _itemize(rows, 4, D("70.00")).endswith("; unexplained +0.50")
    assert _itemize([], 0, D("-1")) == "unexplained -1"
