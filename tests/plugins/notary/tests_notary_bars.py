"""Bars for the notary tests."""

from __future__ import annotations

from decimal import Decimal

from contracts import Bar


def bars(n: int) -> list[Bar]:
    step = 60_000_000_000
    return [Bar(id=f"feed-{i}", ts=(i + 1) * step, producer="feed", instrument="X",
                open_ts=i * step, interval_ns=step, open=Decimal(1), high=Decimal(2),
                low=Decimal(1), close=Decimal("1.5"), volume=Decimal(10)) for i in range(n)]
