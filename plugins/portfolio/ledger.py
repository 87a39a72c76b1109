"""Exact position accounting for one instrument: average cost and realized PnL.

Rules (netting, average cost):

* a fill in the direction of the position (or from flat) adds its cost; the
  average price becomes cost / qty;
* a reducing fill realizes ``(price - avg) x qty`` (sign-adjusted for shorts)
  and leaves the average price unchanged (a flat position keeps the average
  entry price of the round trip it closed, until the next fill opens a new one);
* a fill through zero closes the whole position, and the remainder opens a
  new one at the fill price;
* fees are subtracted from realized PnL (realized PnL is net of fees).

Every sum and product is exact (a 60-digit context never rounds realistic
money). The one quotient, the average price, is rounded to 28 significant
digits; the cost basis itself is kept exactly and a full close releases all
of it, so the realized PnL of a round trip from flat to flat is exactly
``sells - buys - fees``, however many fills it took.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import NamedTuple

import msgspec

from contracts import Side

__all__ = ["AVG_CONTEXT", "EXACT", "ZERO", "FillEffect", "InvalidFillError", "PositionState",
           "apply_fill"]

ZERO = Decimal(0)
#: Context for sums and products: wide enough that nothing realistic rounds.
EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)
#: Context for the average price, the one quotient.
AVG_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


class InvalidFillError(ValueError):
    """A fill that cannot be booked (non-positive quantity)."""

    def __init__(self, client_order_id: str, fill_id: str, qty: Decimal) -> None:
        super().__init__(
            f"fill {fill_id!r} of order {client_order_id!r} has qty {qty}; a fill's qty must "
            "be > 0 (the broker that emitted it is wrong)"
        )
        self.client_order_id = client_order_id
        self.fill_id = fill_id
        self.qty = qty


class PositionState(msgspec.Struct, kw_only=True):
    """Net position in one instrument of one account."""

    instrument: str
    qty: Decimal = ZERO
    avg_price: Decimal = ZERO
    #: Signed cost basis of the open quantity (qty x avg, kept exactly).
    cost: Decimal = ZERO
    last_price: Decimal | None = None
    #: Realized PnL net of fees, since the account started.
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    #: Realized PnL (net of fees) of the current round trip, since last flat.
    trade_pnl: Decimal = ZERO
    fills: int = 0
    turnover: Decimal = ZERO
    #: A venue position of its own (a contract's id); ``None``: the instrument's netting one.
    position_id: str | None = None

    @property
    def market_value(self) -> Decimal:
        return self.qty * self.last_price if self.last_price is not None else ZERO

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.market_value - self.cost if self.qty else ZERO


class FillEffect(NamedTuple):
    """What one fill did: realized PnL net of its fee, and a closed round trip (if any)."""

    realized: Decimal
    closed_trade: bool
    trade_pnl: Decimal


def apply_fill(pos: PositionState, side: Side, qty: Decimal, price: Decimal,
               fee: Decimal) -> FillEffect:
    """Book one fill into ``pos`` (in place) and return its effect."""
    with localcontext(EXACT):
        signed = qty if side is Side.BUY else -qty
        q = pos.qty
        gross = ZERO
        closed = False
        if q == 0 or (q > 0) == (signed > 0):
            pos.cost += signed * price
            pos.qty = q + signed
            pos.avg_price = AVG_CONTEXT.divide(pos.cost, pos.qty)
        else:
            size = abs(q)
            closing = qty if qty < size else size
            if closing == size:
                released = pos.cost  # a full close releases the exact remaining cost
            else:
                released = pos.avg_price * closing if q > 0 else -(pos.avg_price * closing)
            proceeds = price * closing if q > 0 else -(price * closing)
            gross = proceeds - released
            new_q = q + signed
            pos.qty = new_q
            if closing == size:
                closed = True
                if new_q:  # flipped through zero: the remainder opens at the fill price
                    pos.cost = new_q * price
                    pos.avg_price = price
                else:  # flat; avg_price keeps the closed round trip's entry price
                    pos.cost = ZERO
            else:
                pos.cost -= released
        net = gross - fee
        pos.realized_pnl += net
        pos.fees += fee
        pos.fills += 1
        pos.turnover += qty * abs(price)
        pos.last_price = price
        if closed:
            trade = pos.trade_pnl + net
            pos.trade_pnl = ZERO
            return FillEffect(net, True, trade)
        pos.trade_pnl += net
        return FillEffect(net, False, ZERO)
