"""Contracts bought from a venue that sells them (Deriv), booked as positions of their own.

A contract is a position keyed by its venue and contract id
(``contract_key``), never netted with the instrument's position: its
``OrderFilled`` (``position_id`` set) books one contract at the stake paid;
``ContractUpdated`` marks it at the venue's ``bid_price`` (what it would pay
now); ``ContractSettled`` closes it at ``sell_price`` (the payout of a won
option, zero for a lost one, what it was sold for), realizing
``sell_price - stake`` exactly. ``ContractAdopted`` (a reconciliation
correction: a contract bought outside keel) books it like a buy.
``BalanceCorrected`` sets the account's cash to the venue's balance; the
change is a capital flow (a deposit or withdrawal), so ``initial_cash`` and
the drawdown peak move with it and the identity ``equity == initial_cash +
realized_pnl + unrealized_pnl`` keeps holding.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from contracts import (
    BalanceCorrected,
    ContractAdopted,
    ContractSettled,
    ContractUpdated,
    Event,
    Side,
)

from .ledger import AVG_CONTEXT, EXACT

if TYPE_CHECKING:
    from .core import AccountBook, PortfolioCore

__all__ = ["CONTRACT_EVENTS", "apply_contract_event", "contract_key"]

CONTRACT_EVENTS = (ContractUpdated, ContractSettled, ContractAdopted, BalanceCorrected)
_ONE = Decimal(1)
_ZERO = Decimal(0)


def contract_key(venue: str, position_id: str) -> str:
    """The key of a contract's position in an account's ``positions``."""
    return f"{venue}:{position_id}"


def apply_contract_event(core: PortfolioCore, event: Event) -> AccountBook | None:
    """Book one contract event or balance correction; the account if a snapshot is due."""
    assert isinstance(event, CONTRACT_EVENTS)
    book = core.account(event.account)
    if isinstance(event, BalanceCorrected):
        delta = EXACT.subtract(event.balance, book.cash)
        book.cash = event.balance
        book.initial_cash = EXACT.add(book.initial_cash, delta)
        book.peak_equity = EXACT.add(book.peak_equity, delta)
        book.last_ts = event.ts
        book.track_drawdown()
        return book
    key = contract_key(event.venue, event.contract_id)
    pos = book.positions.get(key)
    if isinstance(event, ContractUpdated):
        if pos is not None and pos.qty:
            old = pos.last_price
            pos.last_price = event.bid_price
            book.last_ts = event.ts
            if old is not None and old != event.bid_price:
                book.market_value = EXACT.add(book.market_value, EXACT.multiply(
                    pos.qty, EXACT.subtract(event.bid_price, old)))
                book.track_drawdown()
        return None
    if isinstance(event, ContractAdopted):
        if pos is not None and pos.qty:
            return None  # already held
        core.book_trade(book, key, event.instrument, Side.BUY, _ONE, event.buy_price, _ZERO,
                        event.ts, position_id=event.contract_id, fill=False)
        return book
    if pos is None or not pos.qty:
        return None  # not held (already settled): nothing to realize
    qty = pos.qty
    price = event.sell_price if qty == _ONE else AVG_CONTEXT.divide(event.sell_price, qty)
    core.book_trade(book, key, event.instrument, Side.SELL, qty, price, _ZERO, event.ts,
                    position_id=event.contract_id, fill=False)
    return book
