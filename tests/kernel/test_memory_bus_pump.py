"""``MemoryBus.pump_nowait``: the simulator's synchronous delivery gives the same order
as ``run_until_idle``, falls back to it without losing or reordering anything, and
leaves consumer positions right for whatever looks at them next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from contracts import Bar, Event, OrderRequested, Side
from kernel import MemoryBus
from kernel.bus import Delivery

Trace = list[tuple[str, int, int]]


def bar(i: int) -> Bar:
    return Bar(id=f"md-{i}", ts=1000 + i, producer="md", instrument="X", open_ts=i,
               interval_ns=1, open=Decimal(1), high=Decimal(2), low=Decimal(1),
               close=Decimal(1), volume=Decimal(1))


def order(cause: Event, n: int) -> OrderRequested:
    return OrderRequested(id=f"{cause.id}/o{n}", ts=cause.ts, producer="relay",
                          client_order_id=f"c-{cause.id}-{n}", account="a", instrument="X",
                          side=Side.BUY, qty=Decimal(1))


class Consumers:
    """Three consumers: a relay that reacts to bars with two orders (fast path), a
    watcher of everything that has no fast path on odd bars, and a flaky one whose
    fast path raises once on bar 2."""

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus
        self.trace: Trace = []
        self.flaky_failed = False

    def relay(self, d: Delivery) -> bool:
        self.trace.append(("relay", d.seq, d.attempt))
        if isinstance(d.event, Bar):
            for n in range(2):
                self.bus.publish_nowait(order(d.event, n))
        return True

    async def relay_async(self, d: Delivery) -> None:
        self.relay(d)

    def watch(self, d: Delivery) -> bool:
        if isinstance(d.event, Bar) and d.event.open_ts % 2:
            return False  # declined: served by the async handler instead
        self.trace.append(("watch", d.seq, d.attempt))
        return True

    async def watch_async(self, d: Delivery) -> None:
        self.trace.append(("watch-async", d.seq, d.attempt))

    def flaky(self, d: Delivery) -> bool:
        if isinstance(d.event, Bar) and d.event.open_ts == 2 and not self.flaky_failed:
            self.flaky_failed = True
            raise RuntimeError("once")
        self.trace.append(("flaky", d.seq, d.attempt))
        return True

    async def flaky_async(self, d: Delivery) -> None:
        self.trace.append(("flaky-async", d.seq, d.attempt))

    async def subscribe(self, *, fast: bool) -> None:
        pairs: list[tuple[str, list[str], Callable[[Delivery], Awaitable[None]],
                          Callable[[Delivery], bool]]] = [
            ("relay", ["keel.md.bar.*"], self.relay_async, self.relay),
            ("watch", [">"], self.watch_async, self.watch),
            ("flaky", ["keel.md.bar.*", "keel.order.requested.*"], self.flaky_async,
             self.flaky),
        ]
        for name, subjects, handler, nowait in pairs:
            await self.bus.subscribe(name, subjects, handler, nowait=nowait if fast else None)


async def drive(*, pump: bool, retain: bool = True) -> tuple[Trace, list[str], MemoryBus]:
    bus = MemoryBus(autodispatch=False, retain=retain)
    consumers = Consumers(bus)
    await consumers.subscribe(fast=True)
    for i in range(5):
        bus.publish_nowait(bar(i))
        if not pump or not bus.pump_nowait():
            await bus.run_until_idle()
    log = [d.event.id for d in bus.messages() if d.event is not None]
    return consumers.trace, log, bus


async def test_pump_gives_the_order_of_run_until_idle() -> None:
    slow, slow_log, a = await drive(pump=False)
    fast, fast_log, b = await drive(pump=True)
    assert fast == slow
    assert fast_log == slow_log and len(fast_log) == 15  # 5 bars + 2 orders each
    # the fallbacks really happened: declined, and a raise retried as attempt 2
    assert any(name == "watch-async" for name, _, _ in fast)
    assert any(name == "flaky-async" and attempt == 2 for name, _, attempt in fast)
    for bus in (a, b):
        await bus.close()


async def test_cursors_are_right_after_pumping() -> None:
    _, _, bus = await drive(pump=True)
    for name in ("relay", "watch", "flaky"):
        assert await bus.ack_floor(name) == bus.last_seq == 15
    # a consumer subscribing now, from the start, still gets the whole retained log
    seen: list[int] = []

    async def late(d: Delivery) -> None:
        seen.append(d.seq)

    await bus.subscribe("late", [">"], late)
    await bus.run_until_idle()
    assert seen == list(range(1, 16))
    await bus.close()


async def test_without_retain_pumped_messages_are_forgotten() -> None:
    trace, _, bus = await drive(pump=True, retain=False)
    assert bus.messages() == [] and bus.last_seq == 15
    assert len(trace) == len((await drive(pump=False, retain=False))[0])
    bus.publish_nowait(bar(8))
    assert bus.pump_nowait()
    assert await bus.ack_floor("watch") == bus.last_seq == 18  # the bar and its 2 orders
    await bus.close()


def test_pump_is_refused_on_an_autodispatch_bus() -> None:
    assert MemoryBus(autodispatch=True).pump_nowait() is False


@pytest.mark.parametrize("window", [1, 3, 100])
async def test_an_id_is_remembered_for_at_least_the_dedup_window(window: int) -> None:
    bus = MemoryBus(autodispatch=False, dedup_window=window)
    first = bus.publish_nowait(bar(0))
    for i in range(1, window):  # window - 1 other ids in between
        bus.publish_nowait(bar(i))
    assert bus.publish_nowait(bar(0)) == first, "still a duplicate within the window"
    assert bus.last_seq == window
    await bus.close()
