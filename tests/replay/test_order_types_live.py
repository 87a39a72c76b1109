"""Every order type and contingent list end to end over a real nats-server: the live run
reaches the hand-computed ends, and ``replay verify`` reproduces every output."""

from __future__ import annotations

import sys

import order_plugins
import pytest
from order_plugins import EXPECT, bars
from recording import wait_for

from contracts import OrderFilled, decode
from kernel import LiveClock, PluginHost, PluginRunner, StreamSettings
from kernel.nats_bus import NatsBus
from replay.source import StreamSource
from replay.verify import verify

pytestmark = pytest.mark.timeout(180)

PIPELINE = ["t_orders2", "risk", "execution", "paper", "portfolio"]


async def test_every_order_type_live_over_nats_then_replay_verifies(fresh_nats) -> None:
    host = PluginHost(extra=[order_plugins])
    bus = await NatsBus.connect(fresh_nats.url, settings=StreamSettings(name="KEEL"))
    configs = {"t_orders2": {"instrument": "X", "scenario": "every"}}
    runners = [PluginRunner(host.get(n), host.configure(n, configs.get(n)), bus=bus,
                            clock=LiveClock(), tracing=False) for n in PIPELINE]
    try:
        for r in runners:
            await r.start()
        count = len(PIPELINE)
        for bar in bars():  # one bar at a time: each plugin reacts before the next
            await bus.publish(bar)
            count = await wait_for(bus, count + 1)
    finally:
        for r in reversed(runners):
            await r.stop()
    fills: list[OrderFilled] = []
    async for msg in _messages(fresh_nats.url):
        event = decode(msg)
        if isinstance(event, OrderFilled):
            fills.append(event)
    await bus.close()
    # The live run reaches the same ends as the in-memory one (hand-computed there).
    filled = {f.client_order_id for f in fills}
    expected_fills = sum(1 for name, e in EXPECT.items() if name != "cancel_parent"
                         for state, _, _ in e.values() if state == "FILLED")
    assert len(filled) == expected_fills

    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=host)
    finally:
        await src.close()
    text = report.text()
    print(text, file=sys.stderr)
    assert report.ok, text
    by = {p.plugin: p for p in report.plugins}
    for name in PIPELINE:
        assert by[name].total > 0 and by[name].matched == by[name].total, text


async def _messages(url: str):  # type: ignore[no-untyped-def]
    src = StreamSource(url, "KEEL")
    try:
        async for rec in src.records():
            yield rec.data
    finally:
        await src.close()
