"""Graceful stop: a node drains, and a handler that never returns cannot hang it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from contracts import Bar, Event
from kernel import KeelConfig, Plugin, PluginHost, hookimpl
from kernel.config import TelemetrySettings
from kernel.embedded import NatsServer
from kernel.nats_bus import NatsBus
from kernel.node import Node

ONE = Decimal(1)


class Stuck(Plugin):
    """Its handler waits forever on the first input."""

    name = "stuck"
    started: asyncio.Event
    seen: list[str] = []

    def subjects(self) -> Sequence[str]:
        return ["keel.md.bar.>"]

    async def on_event(self, event: Event) -> None:
        Stuck.seen.append(event.id)
        Stuck.started.set()
        await asyncio.Event().wait()


class Package:
    @hookimpl
    def keel_plugins(self) -> list[type[Plugin]]:
        return [Stuck]


def bar() -> Bar:
    return Bar(id="md-1", ts=1, producer="md", instrument="X", open_ts=0, interval_ns=1,
               open=ONE, high=ONE, low=ONE, close=ONE, volume=ONE)


async def test_a_hung_handler_cannot_block_shutdown_and_its_input_is_kept(
    fresh_nats: NatsServer,
) -> None:
    config = KeelConfig(nats_url=fresh_nats.url, drain_timeout_s=0.5,
                        telemetry=TelemetrySettings(enabled=False))
    host = PluginHost(entry_points=False, extra=[Package()])
    Stuck.started, Stuck.seen = asyncio.Event(), []
    bus = await NatsBus.connect(fresh_nats.url)
    node = Node(config, host, ["stuck"], bus)
    await node.start()
    await bus.publish(bar())
    await asyncio.wait_for(Stuck.started.wait(), 10)
    await asyncio.wait_for(node.stop(), 5)  # returns despite the hung handler
    await bus.close()
    # The unacknowledged input comes back to the restarted plugin.
    Stuck.started = asyncio.Event()
    bus = await NatsBus.connect(fresh_nats.url)
    node = Node(config, host, ["stuck"], bus)
    await node.start()
    await asyncio.wait_for(Stuck.started.wait(), 10)
    assert Stuck.seen == ["md-1", "md-1"]
    await asyncio.wait_for(node.stop(), 5)
    await bus.close()
