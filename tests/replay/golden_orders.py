"""``t_orders``: a scripted order source for the order-lifecycle golden log.

A plain plugin (not the ``Strategy`` base) so its outputs never change: the
golden log it produced stands for a run of an earlier keel, and this plugin
must replay it byte for byte forever. Do not edit the script below.
"""

from __future__ import annotations

from decimal import Decimal

from contracts import (
    Bar,
    CancelRequested,
    Event,
    OrderRequested,
    OrderType,
    Side,
    TimeInForce,
)
from kernel import Plugin, hookimpl

#: bar index -> orders: (coid suffix, side, qty, limit or None, tif) or ("cancel", suffix)
SCRIPT: dict[int, list[tuple[str, ...]]] = {
    1: [("mkt-buy", "BUY", "10", "", "GTC")],
    2: [("rest-buy", "BUY", "5", "50", "GTC")],
    3: [("lmt-sell", "SELL", "4", "101.5", "GTC")],
    4: [("too-big", "BUY", "1000000", "", "GTC")],
    5: [("cancel", "rest-buy")],
    6: [("ioc-sell", "SELL", "6", "200", "IOC")],
    8: [("big-buy", "BUY", "500", "", "GTC")],
    9: [("day-buy", "BUY", "2", "99", "DAY")],
    16: [("big-sell", "SELL", "300", "", "GTC")],
    20: [("cancel", "never-sent")],
}


class GoldenOrders(Plugin):
    name = "t_orders"
    version = "1.0.0"

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.bars = 0

    def subjects(self) -> list[str]:
        return ["keel.md.bar.>"]

    def on_event(self, event: Event) -> None:
        if not isinstance(event, Bar):
            return
        for row in SCRIPT.get(self.bars, []):
            coid = f"t_orders-{row[1] if row[0] == 'cancel' else row[0]}"
            if row[0] == "cancel":
                self.ctx.emit(self.ctx.event(CancelRequested, client_order_id=coid,
                                             account="default", reason="script"))
                continue
            _, side, qty, limit, tif = row
            self.ctx.emit(self.ctx.event(
                OrderRequested, client_order_id=coid, account="default",
                instrument=event.instrument, side=Side(side), qty=Decimal(qty),
                order_type=OrderType.LIMIT if limit else OrderType.MARKET,
                limit_price=Decimal(limit) if limit else None, time_in_force=TimeInForce(tif),
                strategy="t_orders", ref_price=event.close))
        self.bars += 1


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [GoldenOrders]


def bar_rows(n: int = 30) -> list[tuple[int, str, str, str, str, str]]:
    """Deterministic bars around 100 (ts_ns, open, high, low, close, volume)."""
    rows = []
    t0 = 1_704_067_200_000_000_000
    for i in range(n):
        base = Decimal(100) + Decimal((i * 7) % 11 - 5) / 4
        o, c = base, base + Decimal((i % 3) - 1) / 2
        rows.append((t0 + i * 60_000_000_000, str(o), str(max(o, c) + 1), str(min(o, c) - 1),
                     str(c), "1000"))
    return rows
