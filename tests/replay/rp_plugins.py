"""Small deterministic (and one non-deterministic) plugins for the replay tests."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec

from contracts import Bar, Event, OrderFilled, OrderRequested, Side
from kernel import Plugin, hookimpl


class SignalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    qty: str = "1"
    every: int = 2


class Signal(Plugin):
    """Orders on every ``every``-th bar, alternating sides; state is a counter."""

    name = "t_signal"
    version = "1.0.0"
    Config = SignalConfig

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.bars = 0
        self.orders = 0

    def subjects(self) -> list[str]:
        return ["keel.md.bar.>"]

    async def on_event(self, event: Event) -> None:
        if not isinstance(event, Bar):
            return
        self.bars += 1
        if self.bars % self.config.every:
            return
        self.orders += 1
        self.ctx.emit(self.ctx.event(
            OrderRequested, client_order_id=f"t_signal-{event.instrument}-{self.orders}",
            account="default", instrument=event.instrument,
            side=Side.BUY if self.orders % 2 else Side.SELL, qty=Decimal(self.config.qty),
            strategy="t_signal", ref_price=event.close))

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode([self.bars, self.orders])

    def restore(self, state: bytes) -> None:
        self.bars, self.orders = msgspec.msgpack.decode(state)


class Filler(Plugin):
    """Fills every requested order at its reference price."""

    name = "t_filler"
    version = "1.0.0"

    def __init__(self, ctx) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx)
        self.n = 0

    def subjects(self) -> list[str]:
        return ["keel.order.requested.>"]

    async def on_event(self, event: Event) -> None:
        if not isinstance(event, OrderRequested):
            return
        self.n += 1
        self.ctx.emit(self.ctx.event(
            OrderFilled, client_order_id=event.client_order_id, account=event.account,
            instrument=event.instrument, venue="paper", fill_id=f"f{self.n}", side=event.side,
            qty=event.qty, price=event.ref_price or Decimal(0), fee=Decimal("0.1"),
            cum_qty=event.qty, leaves_qty=Decimal(0)))


class WallClock(Plugin):
    """Non-deterministic on purpose: stamps the wall clock into its orders."""

    name = "t_wallclock"
    version = "1.0.0"

    def subjects(self) -> list[str]:
        return ["keel.md.bar.>"]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, Bar):
            self.ctx.emit(self.ctx.event(
                OrderRequested, client_order_id=f"wc-{event.ts}", account="wc",
                instrument=event.instrument, side=Side.BUY, qty=Decimal(1),
                limit_price=Decimal(time.time_ns() % 1_000_000)))  # the bug under test


@hookimpl
def keel_plugins() -> list[type[Plugin]]:
    return [Signal, Filler, WallClock]


def bars(n: int, instrument: str = "EURUSD", start: int = 1_700_000_000_000_000_000) -> list[Bar]:
    step = 60_000_000_000
    out = []
    for i in range(n):
        px = Decimal("1.1000") + Decimal(i % 7) / 1000
        out.append(Bar(id=f"feed-{instrument}-{i}", ts=start + (i + 1) * step, producer="feed",
                       instrument=instrument, open_ts=start + i * step, interval_ns=step,
                       open=px, high=px + Decimal("0.001"), low=px - Decimal("0.001"),
                       close=px, volume=Decimal(100)))
    return out
