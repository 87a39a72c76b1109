"""Round trips and realized PnL from fills, exactly (Decimal), per instrument.

* A round trip runs from flat to flat; a fill through zero closes one and
  opens the next at the same price. Its ``pnl`` is gross (what came in and
  went out, signed by direction), its ``fees`` those of its fills.
* Realized PnL follows the portfolio plugin's rule (netting, average cost):
  a reducing fill realizes ``(price - average price) x qty``; a full close
  releases the exact remaining cost, so a trip from flat to flat realizes
  exactly ``sells - buys``. ``realized_pnl`` = gross realized - all fees,
  the same figure ``keel portfolio`` reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from contracts import OrderFilled

__all__ = ["AVG_CONTEXT", "EXACT", "ZERO", "Realized", "Trade", "realized", "round_trips"]

ZERO = Decimal(0)
#: Sums and products: wide enough that nothing realistic rounds.
EXACT = Context(prec=60, rounding=ROUND_HALF_EVEN)
#: The one quotient, the average price (as the portfolio plugin rounds it).
AVG_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)

Fills = Iterable[tuple[int, OrderFilled]]


@dataclass
class Trade:
    """One round trip of one instrument: from flat to flat (or to a flip)."""

    instrument: str
    side: str  # LONG or SHORT
    qty: Decimal  # largest absolute position during the trip
    entry_ts: int
    entry_bar: int
    entry_price: Decimal  # average price of the opening fills
    exit_ts: int = 0
    exit_bar: int = -1
    exit_price: Decimal = ZERO  # average price of the closing fills
    pnl: Decimal = ZERO  # gross
    fees: Decimal = ZERO
    closed: bool = False
    _in_qty: Decimal = field(default=ZERO, repr=False)
    _in_cost: Decimal = field(default=ZERO, repr=False)
    _out_qty: Decimal = field(default=ZERO, repr=False)
    _out_cost: Decimal = field(default=ZERO, repr=False)

    @property
    def net_pnl(self) -> Decimal:
        return self.pnl - self.fees

    @property
    def entry_value(self) -> Decimal:
        """Money put in by the opening fills (the base of ``return_pct``)."""
        return self._in_cost

    @property
    def return_pct(self) -> float | None:
        """Net PnL as a percentage of the money put in (a ratio: float)."""
        if not self.closed or not self._in_cost:
            return None
        return float(self.net_pnl / self._in_cost) * 100

    @property
    def duration_ns(self) -> int | None:
        return self.exit_ts - self.entry_ts if self.closed else None

    def row(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument, "side": self.side, "qty": self.qty,
            "entry_ts": self.entry_ts, "entry_bar": self.entry_bar,
            "entry_price": self.entry_price,
            "exit_ts": self.exit_ts if self.closed else None,
            "exit_bar": self.exit_bar if self.closed else None,
            "exit_price": self.exit_price if self.closed else None,
            "pnl": self.pnl, "fees": self.fees, "net_pnl": self.net_pnl,
            "return_pct": self.return_pct,
            "bars_held": (self.exit_bar - self.entry_bar) if self.closed else None,
            "closed": self.closed,
        }


def round_trips(fills: Fills) -> list[Trade]:
    """Fold fills into round trips per instrument, in fill order; the last may be open."""
    trades: list[Trade] = []
    pos: dict[str, Decimal] = {}
    current: dict[str, Trade] = {}
    with localcontext(EXACT):
        for bar, f in fills:
            inst = f.instrument
            p = pos.get(inst, ZERO)
            cur = current.get(inst)
            fee = f.fee
            remaining = f.qty * f.side.sign
            while remaining:
                if cur is None or p == 0:
                    cur = Trade(instrument=inst, side="LONG" if remaining > 0 else "SHORT",
                                qty=ZERO, entry_ts=f.ts, entry_bar=bar, entry_price=f.price)
                    trades.append(cur)
                if p == 0 or (p > 0) == (remaining > 0):  # opening / adding
                    cur._in_qty += abs(remaining)
                    cur._in_cost += abs(remaining) * f.price
                    cur.entry_price = AVG_CONTEXT.divide(cur._in_cost, cur._in_qty)
                    p += remaining
                    cur.qty = max(cur.qty, abs(p))
                    remaining = ZERO
                else:  # reducing, possibly through zero
                    q = remaining if abs(remaining) <= abs(p) else -p
                    cur._out_qty += abs(q)
                    cur._out_cost += abs(q) * f.price
                    cur.exit_price = AVG_CONTEXT.divide(cur._out_cost, cur._out_qty)
                    p += q
                    remaining -= q
                    if p == 0:
                        sign = 1 if cur.side == "LONG" else -1
                        cur.pnl = (cur._out_cost - cur._in_cost) * sign
                        cur.closed, cur.exit_ts, cur.exit_bar = True, f.ts, bar
                cur.fees += fee  # a fill's fee goes to the trip it opened or reduced first
                fee = ZERO
                if p == 0:
                    cur = None
            pos[inst] = p
            if cur is None:
                current.pop(inst, None)
            else:
                current[inst] = cur
    return trades


@dataclass
class Realized:
    """Exact realized figures of one instrument (or all of them)."""

    gross: Decimal = ZERO
    fees: Decimal = ZERO
    position: Decimal = ZERO
    #: Signed cost basis of the open position.
    cost: Decimal = ZERO
    avg_price: Decimal = ZERO
    fills: int = 0

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees

    def add(self, other: Realized) -> None:
        with localcontext(EXACT):
            self.gross += other.gross
            self.fees += other.fees
            self.fills += other.fills


def realized(fills: Fills) -> dict[str, Realized]:
    """Per instrument: realized PnL by average cost (the portfolio plugin's rule), exact."""
    out: dict[str, Realized] = {}
    with localcontext(EXACT):
        for _, f in fills:
            r = out.setdefault(f.instrument, Realized())
            r.fills += 1
            r.fees += f.fee
            signed = f.qty * f.side.sign
            q = r.position
            if q == 0 or (q > 0) == (signed > 0):
                r.cost += signed * f.price
                r.position = q + signed
                r.avg_price = AVG_CONTEXT.divide(r.cost, r.position)
                continue
            size = abs(q)
            closing = f.qty if f.qty < size else size
            if closing == size:
                released = r.cost
            else:
                released = r.avg_price * closing if q > 0 else -(r.avg_price * closing)
            proceeds = f.price * closing if q > 0 else -(f.price * closing)
            r.gross += proceeds - released
            r.position = q + signed
            if closing == size:
                if r.position:
                    r.cost = r.position * f.price
                    r.avg_price = f.price
                else:
                    r.cost = ZERO
            else:
                r.cost -= released
    return out
