"""Publishing a command's events to the log: the running bus, else a NATS started for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from contracts import Event
from kernel import KeelConfig

__all__ = ["publish_events"]


async def publish_events(config: KeelConfig, events: Sequence[Event]) -> None:
    """Publish ``events`` in order; with no bus configured or running, start the
    embedded NATS (its data under ``data_dir/nats``, so the log keeps them) for the call."""
    from kernel.node import NoBusError, open_bus

    try:
        async with open_bus(config, name="keel-cli") as bus:
            for e in events:
                await bus.publish(e)
        return
    except NoBusError:
        pass
    from kernel.embedded import NatsServer

    server = NatsServer(Path(config.data_dir) / "nats",
                        sync_always=config.stream.sync_always)
    await asyncio.to_thread(server.start)
    try:
        from kernel import NatsBus

        bus = await NatsBus.connect(server.url, settings=config.stream, name="keel-cli")
        try:
            for e in events:
                await bus.publish(e)
        finally:
            await bus.close()
    finally:
        await asyncio.to_thread(server.stop)
