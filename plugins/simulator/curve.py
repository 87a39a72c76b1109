"""The equity curve, exact: positions, cash and equity as scaled integers at each close.

A curve point is a distinct close time of the merged bars (several
instruments closing together make one point). At each point:

* ``position[k]``: instrument k's position after every fill up to then,
  as integers at ``qty_scale`` (no float cumsum: buy 0.1, buy 0.2, sell 0.3
  is exactly 0);
* ``cash``: initial cash + every fill's cash flow (``-qty x price - fee``);
* ``equity``: cash + sum of position x the instrument's last close;

all integers at one money scale (int64 while the bounds allow, else Python
ints). Floats are derived for ratios and charts only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from contracts import OrderFilled
from kernel.bars import BarData, Scaled
from kernel.bars.exact import INT64_MAX, multiply

__all__ = ["Curve", "equity_curve"]

IntArray = npt.NDArray[Any]


def _exponent(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -int(exp)) if isinstance(exp, int) else 0


def _max_exponent(values: Iterable[Decimal]) -> int:
    """The most decimals any of ``values`` has (each distinct value looked at once)."""
    return max((_exponent(d) for d in set(values)), default=0)


def _int(d: Decimal, scale: int) -> int:
    return int(d.scaleb(scale))


@dataclass(frozen=True)
class Curve:
    """Per curve point: close time, exact positions/cash/equity, and last closes (float)."""

    ts: npt.NDArray[np.int64]
    instruments: tuple[str, ...]
    positions: tuple[Scaled, ...]
    cash: Scaled
    equity: Scaled
    #: Each instrument's last close at each point (float: charts and buy-and-hold only).
    closes: tuple[npt.NDArray[np.float64], ...]
    initial_cash: Decimal

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def equity_floats(self) -> npt.NDArray[np.float64]:
        return self.equity.floats()

    def exposed(self) -> npt.NDArray[np.bool_]:
        """Points at which any position is non-zero (exact)."""
        out = np.zeros(len(self), dtype=bool)
        for p in self.positions:
            out |= np.asarray(p.mantissa != 0, dtype=bool)
        return out

    def decimal(self, series: Scaled, i: int) -> Decimal:
        return Decimal(int(series.mantissa[i])).scaleb(-series.scale)


def equity_curve(series: Sequence[BarData], which: npt.NDArray[np.int64],
                 rows: npt.NDArray[np.int64], fills: Sequence[tuple[int, OrderFilled]],
                 initial_cash: Decimal) -> Curve:
    """The curve over the merged steps ``(which[j], rows[j])``; fills carry their step."""
    names = tuple(d.instrument for d in series)
    index = {name: k for k, name in enumerate(names)}
    steps = int(which.shape[0])
    qty_scale = _max_exponent(f.qty for _, f in fills)
    price_scale = max((d.price_scale for d in series), default=0)
    fill_prices = _max_exponent(f.price for _, f in fills)
    fees = _max_exponent(f.fee for _, f in fills)
    # the exponent of qty x price is at most the sum of theirs
    money = max(_exponent(initial_cash), qty_scale + max(fill_prices, price_scale), fees)
    flows = [-(f.qty * f.side.sign * f.price) - f.fee for _, f in fills]
    # Fill deltas per step (a fill for an instrument not in the data is ignored for marking).
    dpos: list[list[int]] = [[] for _ in names]
    pos_steps: list[list[int]] = [[] for _ in names]
    for (step, f) in fills:
        k = index.get(f.instrument)
        if k is not None:
            pos_steps[k].append(step)
            dpos[k].append(_int(f.qty, qty_scale) * f.side.sign)
    positions = [_cumulative(steps, pos_steps[k], dpos[k]) for k in range(len(names))]
    cash_deltas = [_int(v, money) for v in flows]
    cash = _cumulative(steps, [s for s, _ in fills], cash_deltas, start=_int(initial_cash, money))
    equity = cash
    closes: list[npt.NDArray[np.float64]] = []
    for k, d in enumerate(series):
        seen = np.cumsum(which == k) - 1  # index of k's latest bar at each step
        close_k = Scaled(d.close, d.price_scale).rescaled(price_scale).mantissa
        last = np.where(seen >= 0, close_k[np.maximum(seen, 0)] if len(d) else 0, 0)
        closes.append(np.where(seen >= 0, np.asarray(last, dtype=np.float64)
                               / 10.0**price_scale, np.nan))
        if pos_steps[k]:
            value = _product(positions[k], last, 10 ** (money - qty_scale - price_scale))
            equity = _add(equity, value)
    close_ts = np.zeros(steps, dtype=np.int64)
    for k, d in enumerate(series):
        mask = which == k
        close_ts[mask] = d.close_ts()[rows[mask]]
    keep = np.r_[close_ts[1:] != close_ts[:-1], True] if steps else np.zeros(0, dtype=bool)
    return Curve(
        ts=close_ts[keep],
        instruments=names,
        positions=tuple(Scaled(p[keep], qty_scale) for p in positions),
        cash=Scaled(cash[keep], money),
        equity=Scaled(equity[keep], money),
        closes=tuple(c[keep] for c in closes),
        initial_cash=initial_cash,
    )


def _cumulative(steps: int, at: list[int], deltas: list[int], start: int = 0) -> IntArray:
    """``start`` + the sum of ``deltas`` placed at steps ``at``, at every step (exact)."""
    bound = abs(start) + sum(abs(v) for v in deltas)
    dtype: Any = np.int64 if bound <= INT64_MAX else object
    out = np.zeros(steps, dtype=dtype)
    if dtype is object:
        out[:] = 0
    for s, v in zip(at, deltas, strict=True):
        if 0 <= s < steps:
            out[s] += v
    out = np.cumsum(out)
    if start:
        out = out + (np.int64(start) if dtype is not object else start)
    return out


def _product(pos: IntArray, price: IntArray, k: int) -> IntArray:
    """``pos * price * k`` exactly (int64 when the bound allows)."""
    if pos.dtype != object and price.dtype != object and pos.size:
        bound = int(np.max(np.abs(pos))) * int(np.max(np.abs(price))) * k
        if bound <= INT64_MAX:
            return pos * price * np.int64(k)
    out = pos.astype(object) * price.astype(object)
    return multiply(out, k)


def _add(a: IntArray, b: IntArray) -> IntArray:
    if a.dtype != object and b.dtype != object and a.size:
        bound = int(np.max(np.abs(a))) + int(np.max(np.abs(b)))
        if bound <= INT64_MAX:
            return a + b
    return a.astype(object) + b.astype(object)
