"""`keel query`'s errors answer at once and name what exists."""

from __future__ import annotations

import time

import msgspec
import pytest

from kernel import KeelConfig, KeelError, PluginHost
from kernel.ask import (
    PluginNotRunningError,
    UnknownPluginError,
    UnknownQueryError,
    ask,
    heartbeat_of,
)
from kernel.nats_bus import NatsBus
from kernel.node import Node

pytestmark = pytest.mark.timeout(60)


async def test_queries_of_a_running_plugin_and_the_errors_around_them(fresh_nats: object
                                                                       ) -> None:
    url = fresh_nats.url  # type: ignore[attr-defined]
    config = msgspec.convert({"nats_url": url}, KeelConfig)
    host = PluginHost()
    bus = await NatsBus.connect(url, settings=config.stream, name="test")
    node = Node(config, host, ["risk", "portfolio"], bus)
    installed = host.names()
    try:
        await node.start()
        beat = await heartbeat_of(bus, "portfolio", 2.0)
        assert beat is not None and beat["queries"] == ["positions", "summary"]
        reply = await ask(bus, "portfolio", "summary", "{}", installed=installed)
        assert reply["ok"] and reply["result"]["accounts"] == []

        t0 = time.monotonic()
        with pytest.raises(UnknownQueryError) as info:
            await ask(bus, "portfolio", "nonexistent", "{}", installed=installed, timeout=60)
        # Answered from the heartbeat, not after the 60 s query timeout.
        assert time.monotonic() - t0 < 30
        assert str(info.value) == ("plugin 'portfolio' has no query 'nonexistent'; its "
                                   "queries: positions, summary")

        with pytest.raises(PluginNotRunningError, match="keel run paper"):
            await ask(bus, "paper", "book", "{}", installed=installed, timeout=60)
        with pytest.raises(UnknownPluginError) as unknown:
            await ask(bus, "portfolo", "summary", "{}", installed=installed, timeout=60)
        assert "portfolio" in unknown.value.known and "portfolio" in str(unknown.value)
        with pytest.raises(KeelError, match="not JSON"):
            await ask(bus, "portfolio", "summary", "{account", installed=installed)
    finally:
        await node.stop()
        await bus.close()
