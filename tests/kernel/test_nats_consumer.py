"""The pull consumer on a real nats-server: slow handlers are not redelivered (``+WPI``),
and a plugin that failed for good stops its consumer instead of retrying forever."""

from __future__ import annotations

import asyncio

from contracts import Event
from kernel.bus import Delivery
from kernel.embedded import NatsServer
from kernel.errors import PluginFailedError
from kernel.nats_bus import NatsBus
from kernel.streams import StreamSettings
from kernel.testing.bus_suite import tick

SLOW = StreamSettings(storage="memory", publish_timeout_s=0.5, publish_attempts=3,
                      ack_wait_s=1.0)


async def test_a_handler_slower_than_ack_wait_is_not_redelivered(fresh_nats: NatsServer) -> None:
    bus = await NatsBus.connect(fresh_nats.url, settings=SLOW, batch=4)
    try:
        sent: list[Event] = [tick() for _ in range(12)]
        await bus.publish_many(sent)
        deliveries: list[tuple[int, int]] = []
        done = asyncio.Event()

        async def slow(d: Delivery) -> None:
            deliveries.append((d.seq, d.attempt))
            # Held messages wait several ack_waits before their turn; every third
            # handler alone takes longer than ack_wait.
            await asyncio.sleep(1.2 if d.seq % 3 == 0 else 0.3)
            if len(deliveries) >= len(sent):
                done.set()

        sub = await bus.subscribe("slow", ["keel.md.>"], slow)
        async with asyncio.timeout(30):
            await done.wait()
        await asyncio.sleep(1.5)  # a redelivery would show up now
        info = await bus._jsm.consumer_info(bus.stream_name, "slow")
        await sub.stop()
        assert [a for _, a in deliveries] == [1] * len(sent), deliveries
        # Every delivery the server made (redeliveries included) was a first one.
        assert info.delivered.consumer_seq == len(sent), "the server redelivered held messages"
        assert sub.stats.progress_acks > 0
        assert await bus.consumer_pending("slow") == 0
    finally:
        await bus.close()


async def test_a_failed_plugin_stops_its_consumer(fresh_nats: NatsServer) -> None:
    bus = await NatsBus.connect(fresh_nats.url, settings=SLOW)
    try:
        await bus.publish_many([tick() for _ in range(3)])
        calls: list[int] = []

        async def failing(d: Delivery) -> None:
            calls.append(d.seq)
            raise PluginFailedError("p", "cannot go on")

        sub = await bus.subscribe("failing", ["keel.md.>"], failing)
        for _ in range(50):
            if not sub.stats.running:
                break
            await asyncio.sleep(0.05)
        assert not sub.stats.running and calls == [calls[0]]
        assert "cannot go on" in sub.stats.last_error
        await asyncio.sleep(0.3)
        assert len(calls) == 1, "never retried"
    finally:
        await bus.close()
