"""Tearsheet ratios: returns, risk and trade statistics (floats: they are ratios).

Per-bar simple returns ``r`` are taken over the equity curve with the
initial cash as its first point; ``B`` is the data's bars per year (its
calendar, ``kernel.bars.Calendar``) and a year is 365.25 days.

* ``annual_return_pct`` = ((final / initial) ** (B / len(r)) - 1) x 100
  (the geometric mean per-bar return compounded over a year);
* ``cagr_pct`` = ((final / initial) ** (year / duration) - 1) x 100,
  duration = first bar's open to last bar's close;
* ``annual_volatility_pct`` = std(r, ddof=1) x sqrt(B) x 100;
* ``sharpe`` = mean(r) / std(r, ddof=1) x sqrt(B) (risk-free rate 0);
* ``sortino`` = mean(r) / sqrt(mean(min(r, 0)**2)) x sqrt(B);
* ``calmar`` = CAGR / max drawdown;
* drawdowns: a drawdown runs from a peak of equity to the next new peak
  (or the end); its depth is the largest fall from that peak, as a
  percentage of it; its duration is peak time to recovery time (or end);
* trades (closed round trips): ``return_pct`` = net PnL / money put in;
  win rate = share with net PnL > 0; average trade = geometric mean of
  (1 + return) - 1; expectancy = arithmetic mean; profit factor = sum of
  winning net PnL / |sum of losing net PnL|; SQN = sqrt(n) x mean(net PnL)
  / std(net PnL, ddof=1) (Van Tharp).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kernel.bars import format_duration

from .trades import Trade

__all__ = ["Drawdowns", "drawdowns", "return_stats", "trade_stats"]

YEAR_NS = 31_557_600_000_000_000
Floats = npt.NDArray[np.float64]


def _f(x: float) -> float | None:
    return x if math.isfinite(x) else None


def return_stats(equity: Floats, initial: float, bars_per_year: float,
                 duration_ns: int) -> dict[str, float | None]:
    """Annualized return and volatility, CAGR, Sharpe, Sortino (see the module text)."""
    out: dict[str, float | None] = dict.fromkeys(
        ("annual_return_pct", "annual_volatility_pct", "cagr_pct", "sharpe", "sortino"))
    if equity.size == 0 or initial <= 0:
        return out
    eq0 = np.concatenate(([initial], equity))
    with np.errstate(all="ignore"):
        r = np.diff(eq0) / eq0[:-1]
    r = r[np.isfinite(r)]
    growth = equity[-1] / initial
    if growth > 0 and r.size:
        out["annual_return_pct"] = _f((growth ** (bars_per_year / r.size) - 1) * 100)
        if duration_ns > 0:
            out["cagr_pct"] = _f((growth ** (YEAR_NS / duration_ns) - 1) * 100)
    if r.size > 1:
        sd = float(np.std(r, ddof=1))
        out["annual_volatility_pct"] = _f(sd * math.sqrt(bars_per_year) * 100)
        if sd > 0:
            out["sharpe"] = _f(float(np.mean(r)) / sd * math.sqrt(bars_per_year))
        down = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
        if down > 0:
            out["sortino"] = _f(float(np.mean(r)) / down * math.sqrt(bars_per_year))
    return out


@dataclass(frozen=True)
class Drawdowns:
    """Drawdown periods of an equity curve (depths as fractions of the peak)."""

    #: Fall from the running peak at each point (fraction, 0 at a peak).
    series: Floats
    depths: list[float]
    durations_ns: list[int]

    @property
    def max_pct(self) -> float:
        return max(self.depths, default=0.0) * 100

    @property
    def avg_pct(self) -> float | None:
        return float(np.mean(self.depths)) * 100 if self.depths else None


def drawdowns(equity: Floats, ts: npt.NDArray[np.int64], initial: float,
              start_ns: int) -> Drawdowns:
    """Each drawdown period: from a peak until equity regains it (or the data ends)."""
    eq0 = np.concatenate(([initial], equity))
    t0 = np.concatenate(([start_ns], ts)).astype(np.int64)
    peak = np.maximum.accumulate(eq0)
    with np.errstate(all="ignore"):
        dd = np.where(peak > 0, (peak - eq0) / peak, 0.0)
    depths: list[float] = []
    durations: list[int] = []
    under = dd > 0
    if under.any():
        edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)  # first point back at a peak (or len: the end)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            depths.append(float(dd[s:e].max()))
            end_ts = int(t0[e]) if e < t0.size else int(t0[-1])
            durations.append(end_ts - int(t0[s - 1]))
    return Drawdowns(dd[1:], depths, durations)


def trade_stats(trades: Sequence[Trade]) -> dict[str, Any]:
    """Win rate, best/worst/average trade %, durations, profit factor, expectancy, SQN."""
    closed = [t for t in trades if t.closed]
    out: dict[str, Any] = dict.fromkeys(
        ("win_rate_pct", "best_trade_pct", "worst_trade_pct", "avg_trade_pct",
         "max_trade_duration", "avg_trade_duration", "profit_factor", "expectancy_pct",
         "sqn"))
    out["trades"] = len(closed)
    if not closed:
        return out
    pnl = np.array([float(t.net_pnl) for t in closed])
    pct = np.array([t.return_pct if t.return_pct is not None else 0.0 for t in closed])
    out["win_rate_pct"] = float(np.mean(pnl > 0)) * 100
    out["best_trade_pct"] = float(pct.max())
    out["worst_trade_pct"] = float(pct.min())
    growth = 1 + pct / 100
    if bool(np.all(growth > 0)):
        out["avg_trade_pct"] = float(np.exp(np.mean(np.log(growth))) - 1) * 100
    out["expectancy_pct"] = float(np.mean(pct))
    wins, losses = float(pnl[pnl > 0].sum()), float(-pnl[pnl < 0].sum())
    out["profit_factor"] = wins / losses if losses > 0 else None
    if pnl.size > 1:
        sd = float(np.std(pnl, ddof=1))
        out["sqn"] = math.sqrt(pnl.size) * float(np.mean(pnl)) / sd if sd > 0 else None
    durations = [t.duration_ns or 0 for t in closed]
    out["max_trade_duration"] = format_duration(max(durations))
    out["avg_trade_duration"] = format_duration(int(sum(durations) / len(durations)))
    return out
