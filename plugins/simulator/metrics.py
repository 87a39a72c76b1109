"""Pure metrics: round trips from fills (exact), equity curve and summary statistics.

Definitions (also in docs/simulator.md):

* ``realized_pnl``: gross PnL of CLOSED round trips (position flat -> flat,
  a flip closes one trip and opens the next at the same price), exact
  Decimal; a position still open at the end is not realized. Fees are not in
  it; they are ``fees``.
* ``final_equity``: initial cash + all fill cash flows - fees + position x
  last close (exact Decimal).
* ``return``: final_equity / initial_cash - 1.
* ``sharpe``: mean / sample std of per-bar simple equity returns (marked at
  each bar's close, the first against the initial cash), times
  sqrt(bars per year) with a year of 365.25 days of the bar interval;
  null when the equity never moves.
* ``max_drawdown``: the largest fall from a running peak of per-bar equity,
  as a fraction of that peak (0.12 = 12%); ``max_drawdown_abs`` in money.
* ``win_rate``: share of closed round trips whose PnL net of their fees is
  > 0; null without closed trips.
* ``exposure_time``: share of bars whose closing position is non-zero.
Floats appear only in statistics, never in accounting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from contracts import OrderFilled

from .data import BarData

__all__ = ["YEAR_NS", "Trade", "equity_curve", "round_trips", "summarize"]

YEAR_NS = int(365.25 * 86_400 * 1_000_000_000)
ZERO = Decimal(0)


@dataclass
class Trade:
    """One round trip: from flat to flat (or to a flip)."""

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
    # running sums (exact)
    _in_qty: Decimal = ZERO
    _in_cost: Decimal = ZERO
    _out_qty: Decimal = ZERO
    _out_cost: Decimal = ZERO

    @property
    def net_pnl(self) -> Decimal:
        return self.pnl - self.fees

    def row(self) -> dict[str, Any]:
        return {
            "side": self.side, "qty": self.qty, "entry_ts": self.entry_ts,
            "entry_bar": self.entry_bar, "entry_price": self.entry_price,
            "exit_ts": self.exit_ts if self.closed else None,
            "exit_bar": self.exit_bar if self.closed else None,
            "exit_price": self.exit_price if self.closed else None,
            "pnl": self.pnl, "fees": self.fees, "net_pnl": self.net_pnl,
            "bars_held": (self.exit_bar - self.entry_bar) if self.closed else None,
            "closed": self.closed,
        }


def round_trips(fills: list[tuple[int, OrderFilled]]) -> list[Trade]:
    """Fold fills (one instrument) into round trips; the last may be open."""
    trades: list[Trade] = []
    pos = ZERO
    cur: Trade | None = None
    for bar, f in fills:
        signed = f.qty * f.side.sign
        fee = f.fee
        remaining = signed
        while remaining:
            if cur is None or pos == 0:
                cur = Trade(side="LONG" if remaining > 0 else "SHORT", qty=ZERO, entry_ts=f.ts,
                            entry_bar=bar, entry_price=f.price)
                trades.append(cur)
            if (pos >= 0) == (remaining > 0) or pos == 0:  # opening / adding
                q = remaining
                cur._in_qty += abs(q)
                cur._in_cost += abs(q) * f.price
                cur.entry_price = cur._in_cost / cur._in_qty
                pos += q
                cur.qty = max(cur.qty, abs(pos))
                cur.fees += fee
                fee = ZERO
                remaining = ZERO
            else:  # reducing, possibly through zero
                q = remaining if abs(remaining) <= abs(pos) else -pos
                cur._out_qty += abs(q)
                cur._out_cost += abs(q) * f.price
                cur.exit_price = cur._out_cost / cur._out_qty
                cur.fees += fee
                fee = ZERO
                pos += q
                remaining -= q
                if pos == 0:
                    # exact: what came in and went out, signed by direction
                    sign = 1 if cur.side == "LONG" else -1
                    cur.pnl = (cur._out_cost - cur._in_cost) * sign
                    cur.closed, cur.exit_ts, cur.exit_bar = True, f.ts, bar
                    cur = None
    return trades


def equity_curve(data: BarData, fills: list[tuple[int, OrderFilled]],
                 initial_cash: Decimal) -> dict[str, np.ndarray]:
    """Per-bar position, cash and equity marked at each close (floats: statistics only)."""
    n = len(data)
    dq = np.zeros(n)
    dcash = np.zeros(n)
    for bar, f in fills:
        q = float(f.qty) * f.side.sign
        dq[bar] += q
        dcash[bar] += -q * float(f.price) - float(f.fee)
    pos = np.cumsum(dq)
    cash = float(initial_cash) + np.cumsum(dcash)
    close = data.prices("close")
    equity = cash + pos * close
    eq0 = np.concatenate(([float(initial_cash)], equity))
    peak = np.maximum.accumulate(eq0)[1:]
    return {"ts": data.close_ts(), "close": close, "position": pos, "cash": cash,
            "equity": equity, "drawdown": (peak - equity) / peak, "peak": peak}


def summarize(data: BarData, fills: list[tuple[int, OrderFilled]], initial_cash: Decimal,
              *, wall_s: float = 0.0) -> tuple[dict[str, Any], list[Trade], dict[str, np.ndarray]]:
    """The summary dict (money as exact decimal strings), the trades and the equity curve."""
    trades = round_trips(fills)
    closed = [t for t in trades if t.closed]
    realized = sum((t.pnl for t in closed), ZERO)
    fees = sum((f.fee for _, f in fills), ZERO)
    cash = initial_cash - fees - sum((f.qty * f.side.sign * f.price for _, f in fills), ZERO)
    pos = sum((f.qty * f.side.sign for _, f in fills), ZERO)
    n = len(data)
    last = Decimal(int(data.close[-1])) / Decimal(10) ** data.price_scale if n else ZERO
    final = cash + pos * last
    curve = equity_curve(data, fills, initial_cash)
    eq0 = np.concatenate(([float(initial_cash)], curve["equity"]))
    rets = np.diff(eq0) / eq0[:-1]
    sharpe = None
    if rets.size > 1:
        sd = float(np.std(rets, ddof=1))
        if sd > 0 and math.isfinite(sd):
            sharpe = float(np.mean(rets)) / sd * math.sqrt(YEAR_NS / data.interval_ns)
    peak = np.maximum.accumulate(eq0)
    dd_abs = float(np.max(peak - eq0)) if n else 0.0
    wins = sum(1 for t in closed if t.net_pnl > 0)
    summary: dict[str, Any] = {
        "instrument": data.instrument,
        "bars": n,
        "fills": len(fills),
        "trades": len(closed),
        "open_position": str(pos),
        "realized_pnl": str(realized),
        "fees": str(fees),
        "initial_cash": str(initial_cash),
        "final_equity": str(final),
        "return": float(final / initial_cash - 1) if initial_cash else None,
        "sharpe": sharpe,
        "max_drawdown": float(np.max((peak - eq0) / peak)) if n else 0.0,
        "max_drawdown_abs": dd_abs,
        "win_rate": wins / len(closed) if closed else None,
        "exposure_time": float(np.mean(curve["position"] != 0)) if n else 0.0,
        "start_ts": int(data.open_ts[0]) if n else None,
        "end_ts": int(data.close_ts()[-1]) if n else None,
        "wall_s": wall_s,
        "bars_per_s": n / wall_s if wall_s > 0 else None,
    }
    return summary, trades, curve
