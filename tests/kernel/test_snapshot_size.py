"""A snapshot larger than NATS takes is skipped, never a stall: on a real nats-server, a
plugin whose state outgrows ``snapshot_max_bytes`` keeps handling and publishing."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from contracts import Bar, Event, OrderRequested, PluginSnapshot, Side, decode, encode
from kernel import NoConfig, Plugin, PluginRunner, SimClock
from kernel.bus import Delivery
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from kernel.runner import SNAPSHOT_MAX_BYTES
from kernel.streams import StreamSettings

FAST = StreamSettings(storage="memory", publish_timeout_s=0.5, publish_attempts=2)


class Sized(Plugin):
    """Orders one unit per bar; its snapshot is ``size`` bytes."""

    name = "sized"
    size = 0

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.X"]

    def on_event(self, event: Event) -> None:
        self.ctx.emit(self.ctx.event(OrderRequested, client_order_id=f"o-{event.id}",
                                     account="a", instrument="X", side=Side.BUY,
                                     qty=Decimal(1)))

    def snapshot(self) -> bytes:
        return b"s" * self.size

    def restore(self, state: bytes) -> None:
        pass


def _bar(i: int) -> Delivery:
    one = Decimal(1)
    ev = Bar(id=f"md-{i}", ts=1_000 + i, producer="md", instrument="X", open_ts=i,
             interval_ns=1, open=one, high=one, low=one, close=one, volume=one)
    return Delivery("keel.md.bar.X", encode(ev), seq=i, attempt=1)


@pytest.mark.parametrize(("size", "logged"), [
    (SNAPSHOT_MAX_BYTES, True),        # exactly at the limit: published (NATS takes it)
    (SNAPSHOT_MAX_BYTES + 1, False),   # one byte over: skipped
    (2 * 1024 * 1024, False),          # over the server's 1 MiB max_payload: skipped
])
async def test_snapshots_over_the_limit_are_skipped_and_handling_goes_on(
        fresh_nats: NatsServer, size: int, logged: bool, caplog: Any) -> None:
    bus = await NatsBus.connect(fresh_nats.url, settings=FAST)
    Sized.size = size
    try:
        r = PluginRunner(Sized, NoConfig(), bus=bus, clock=SimClock(), tracing=False,
                         snapshot_every=1)
        for i in range(1, 4):
            await r.handle(_bar(i))  # a PublishError here would be the stall
        snapshots = orders = 0
        async for d in bus.read(["keel.>"], to_seq=await bus.tail_seq()):
            ev = decode(d.data)
            snapshots += isinstance(ev, PluginSnapshot)
            orders += isinstance(ev, OrderRequested)
        assert orders == 3
        assert snapshots == (3 if logged else 0)
        assert r.snapshots_skipped == (0 if logged else 3)
        assert r.stats.state != "failed"
        if not logged:
            assert any("snapshot_max_bytes" in m for m in caplog.messages)
    finally:
        await bus.close()
