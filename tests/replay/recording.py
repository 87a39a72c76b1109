"""Record a live run on a real NATS server, in-process (helpers for the replay tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from contracts import Event
from kernel import LiveClock, PluginHost, PluginRunner, StreamSettings
from kernel.nats_bus import NatsBus


async def wait_for(bus: NatsBus, count: int, timeout: float = 20.0) -> int:
    """Wait until the stream holds at least ``count`` messages and stops growing."""
    last, stable = -1, 0
    async with asyncio.timeout(timeout):
        while True:
            n = (await bus.stream_info())["messages"]
            if n >= count and n == last:
                stable += 1
                if stable >= 3:
                    return int(n)
            else:
                stable = 0
            last = n
            await asyncio.sleep(0.1)


async def record(
    url: str,
    host: PluginHost,
    names: Sequence[str],
    inputs: Sequence[Event],
    *,
    configs: dict[str, dict] | None = None,  # type: ignore[type-arg]
    expect: int = 0,
    snapshot_every: int = 0,
    stream: str = "KEEL",
) -> None:
    bus = await NatsBus.connect(url, settings=StreamSettings(name=stream))
    runners = [
        PluginRunner(host.get(n), host.configure(n, (configs or {}).get(n)), bus=bus,
                     clock=LiveClock(), tracing=False, snapshot_every=snapshot_every)
        for n in names
    ]
    try:
        for r in runners:
            await r.start()
        for ev in inputs:
            await bus.publish(ev)
        await wait_for(bus, expect or len(inputs))
    finally:
        for r in reversed(runners):
            await r.stop()
        await bus.close()
