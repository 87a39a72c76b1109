"""The EMA-cross rule as a plain Python loop: the oracle the backtest must match exactly.

EMAs in float64 with alpha = 2/(n+1), seeded with the first close; d = fast - slow;
cross up (prev d <= 0 < d) while flat -> BUY qty; cross down (prev d >= 0 > d)
while long -> SELL to flat. ``next_open``: filled at the next bar's open (a
signal on the last bar never fills); ``bar_close``: at the signal bar's close.
Realized PnL counts closed round trips only.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path


def load(path: Path) -> list[tuple[Decimal, Decimal]]:
    with path.open() as f:
        return [(Decimal(r["open"]), Decimal(r["close"])) for r in csv.DictReader(f)]


def ema_cross(rows: list[tuple[Decimal, Decimal]], fast: int, slow: int, qty: Decimal,
              fill: str) -> tuple[list[tuple[int, str, Decimal]], Decimal]:
    af, as_ = 2.0 / (fast + 1), 2.0 / (slow + 1)
    ef = es = d = 0.0
    pos = Decimal(0)
    pending: str | None = None
    fills: list[tuple[int, str, Decimal]] = []
    for i, (open_, close) in enumerate(rows):
        if pending is not None:  # next_open: fill at this bar's open
            fills.append((i, pending, open_))
            pos = qty if pending == "BUY" else Decimal(0)
            pending = None
        x = float(close)
        signal = 0
        if i == 0:
            ef = es = x
            d = 0.0
        else:
            ef = af * x + (1 - af) * ef
            es = as_ * x + (1 - as_) * es
            prev, d = d, ef - es
            if prev <= 0.0 < d:
                signal = 1
            elif prev >= 0.0 > d:
                signal = -1
        side = "BUY" if signal == 1 and pos == 0 else "SELL" if signal == -1 and pos > 0 else None
        if side is None:
            continue
        if fill == "bar_close":
            fills.append((i, side, close))
            pos = qty if side == "BUY" else Decimal(0)
        else:
            pending = side
    realized = Decimal(0)
    entry: Decimal | None = None
    for _, side, price in fills:
        if side == "BUY":
            entry = price
        elif entry is not None:
            realized += (price - entry) * qty
            entry = None
    return fills, realized
