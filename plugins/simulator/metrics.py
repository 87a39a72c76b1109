"""The summary of a backtest: exact money, the data's calendar, and the tearsheet.

Money (cash, equity, PnL, fees, positions) is exact: Decimal, written as
decimal strings. Ratios (returns, Sharpe, win rate...) are floats and
percentages are in percent, as ``keel portfolio`` prints them. The keys and
their definitions are listed in docs/simulator.md; the ratios' formulas in
``stats``; round trips and realized PnL in ``trades``.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import numpy as np

from contracts import OrderFilled
from kernel.bars import BarSet, format_duration

from .curve import Curve, equity_curve
from .stats import drawdowns, return_stats, trade_stats
from .trades import EXACT, ZERO, Realized, Trade, realized, round_trips

__all__ = ["Fills", "Trade", "buy_and_hold_pct", "summarize"]

Fills = list[tuple[int, OrderFilled]]


def _money(d: Decimal) -> str:
    return str(d)


def buy_and_hold_pct(curve: Curve) -> float | None:
    """Equal-weighted buy-and-hold of every instrument, first close to last, in percent."""
    moves = []
    for closes in curve.closes:
        seen = closes[np.isfinite(closes)]
        if seen.size and seen[0] > 0:
            moves.append(seen[-1] / seen[0] - 1)
    return float(np.mean(moves)) * 100 if moves else None


def buy_and_hold_curve(curve: Curve) -> np.ndarray:  # type: ignore[type-arg]
    """Equity of putting the initial cash into every instrument equally at its first close."""
    initial = float(curve.initial_cash)
    parts = []
    for closes in curve.closes:
        seen = closes[np.isfinite(closes)]
        if not seen.size:
            continue
        first = seen[0]
        parts.append(np.where(np.isfinite(closes), closes / first, 1.0))
    if not parts:
        return np.full(len(curve), initial)
    return initial * np.mean(parts, axis=0)


def summarize(bars: BarSet, which: np.ndarray, rows: np.ndarray,  # type: ignore[type-arg]
              fills: Fills, initial_cash: Decimal, *, wall_s: float = 0.0,
              ) -> tuple[dict[str, Any], list[Trade], Curve]:
    """The summary dict, the round trips and the exact curve of one run."""
    trades = round_trips(fills)
    if len(bars.series) > 1:  # a trade's bars: its instrument's own, not the merged steps
        for t in trades:
            t.entry_bar = int(rows[t.entry_bar]) if 0 <= t.entry_bar < rows.size else -1
            if t.closed:
                t.exit_bar = int(rows[t.exit_bar]) if 0 <= t.exit_bar < rows.size else -1
    per = realized(fills)
    total = Realized()
    for r in per.values():
        total.add(r)
    curve = equity_curve(bars.series, which, rows, fills, initial_cash)
    n = len(curve)
    cal = bars.calendar
    equity = curve.equity_floats()
    final = curve.decimal(curve.equity, n - 1) if n else initial_cash
    peak_i = _argmax(curve.equity.mantissa)
    peak = max(curve.decimal(curve.equity, peak_i), initial_cash) if n else initial_cash
    start = bars.start_ns()
    end = int(curve.ts[-1]) if n else start
    duration = (end - start) if start is not None and end is not None else 0
    dd = drawdowns(equity, curve.ts, float(initial_cash), start or 0)
    dd_money = _max_drawdown_money(curve, initial_cash)
    steps = int(which.shape[0])
    with localcontext(EXACT):
        unrealized = final - initial_cash - total.net
    exposed = curve.exposed()
    summary: dict[str, Any] = {
        "status": "OK",
        "instruments": list(curve.instruments),
        "start": bars.iso(start) if start is not None else None,
        "end": bars.iso(end) if end is not None else None,
        "duration": format_duration(duration),
        "bars": steps,
        "interval": cal.interval,
        "bars_per_year": cal.bars_per_year,
        "calendar": cal.describe(),
        "fills": len(fills),
        "initial_cash": _money(initial_cash),
        "final_equity": _money(final),
        "peak_equity": _money(peak),
        "return_pct": float(final / initial_cash - 1) * 100 if initial_cash else None,
        "buy_and_hold_return_pct": buy_and_hold_pct(curve),
        **return_stats(equity, float(initial_cash), cal.bars_per_year, duration),
        "calmar": None,
        "max_drawdown_pct": dd.max_pct,
        "avg_drawdown_pct": dd.avg_pct,
        "max_drawdown": _money(dd_money),
        "max_drawdown_duration": format_duration(max(dd.durations_ns, default=0)),
        "avg_drawdown_duration": format_duration(
            int(sum(dd.durations_ns) / len(dd.durations_ns)) if dd.durations_ns else 0),
        "exposure_pct": float(np.mean(exposed)) * 100 if n else 0.0,
        "realized_pnl": _money(total.net),
        "realized_pnl_gross": _money(total.gross),
        "fees": _money(total.fees),
        "unrealized_pnl": _money(unrealized),
        "open_position": _money(sum((r.position for r in per.values()), ZERO))
        if len(curve.instruments) <= 1 else None,
        **trade_stats(trades),
        "wall_s": wall_s,
        "bars_per_s": steps / wall_s if wall_s > 0 else None,
    }
    cagr = summary.get("cagr_pct")
    if cagr is not None and dd.max_pct > 0:
        summary["calmar"] = cagr / dd.max_pct
    summary["per_instrument"] = _per_instrument(curve, per, trades, summary)
    return summary, trades, curve


def _argmax(m: np.ndarray) -> int:  # type: ignore[type-arg]
    if m.size == 0:
        return 0
    if m.dtype != object:
        return int(np.argmax(m))
    return max(range(m.size), key=lambda i: m[i])


def _max_drawdown_money(curve: Curve, initial_cash: Decimal) -> Decimal:
    """Largest fall from a running peak of equity, in money, exact."""
    if not len(curve):
        return ZERO
    m = curve.equity.mantissa
    start = int(initial_cash.scaleb(curve.equity.scale))
    if m.dtype != object:
        eq = np.concatenate(([start], m)).astype(np.int64)
        fall = int(np.max(np.maximum.accumulate(eq) - eq))
    else:
        best, fall = start, 0
        for v in m.tolist():
            best = max(best, v)
            fall = max(fall, best - v)
    return Decimal(fall).scaleb(-curve.equity.scale)


def _per_instrument(curve: Curve, per: dict[str, Realized], trades: list[Trade],
                    total: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    n = len(curve)
    for k, name in enumerate(curve.instruments):
        r = per.get(name, Realized())
        closes = curve.closes[k]
        seen = closes[np.isfinite(closes)]
        if len(curve.instruments) == 1:
            stats = total  # one instrument: its trades are all the trades
        else:
            stats = trade_stats([t for t in trades if t.instrument == name])
        pos = curve.positions[k]
        out[name] = {
            "fills": r.fills,
            "trades": stats["trades"],
            "win_rate_pct": stats["win_rate_pct"],
            "realized_pnl": _money(r.net),
            "realized_pnl_gross": _money(r.gross),
            "fees": _money(r.fees),
            "position": _money(r.position),
            "exposure_pct": float(np.mean(pos.mantissa != 0)) * 100 if n else 0.0,
            "buy_and_hold_return_pct": (float(seen[-1] / seen[0] - 1) * 100
                                        if seen.size and seen[0] > 0 else None),
        }
    return out
