"""Replay of a live regime run with walk-forward refits verifies byte for byte.

Inference is exact on any platform (the filter reads the logged models); the
refits reproduce exactly on the same platform and library versions (recorded
in every ``RegimeModelFitted``)."""

from __future__ import annotations

import asyncio
import sys

import pytest
from recording import wait_for

from contracts import Bar, RegimeInferred, RegimeModelFitted
from kernel import LiveClock, PluginHost, PluginRunner, StreamSettings
from kernel.nats_bus import NatsBus
from kernel.testing.harness import Harness
from kernel.testing.regimes import THREE_REGIMES, switching_bars
from plugins.regime import RegimePlugin
from replay.source import StreamSource
from replay.verify import verify

pytestmark = pytest.mark.timeout(180)

CONFIG = {"train_window": 300, "refit_every": 120, "n_init": 2, "n_iter": 30}


async def _live(url: str, bars: list[Bar]) -> tuple[int, int]:
    """Run the plugin live on NATS, one bar at a time as a feed would deliver them."""
    host = PluginHost()
    bus = await NatsBus.connect(url, settings=StreamSettings())
    runner = PluginRunner(RegimePlugin, host.configure("regime", CONFIG), bus=bus,
                          clock=LiveClock(), tracing=False)
    await runner.start()
    plugin = runner.plugin
    assert isinstance(plugin, RegimePlugin)
    try:
        for n, bar in enumerate(bars, 1):
            await bus.publish(bar)
            # Wait until this bar, and any model it caused, are handled.
            async with asyncio.timeout(20):
                while runner.stats.handled < n + sum(t.fits for t in plugin.core.trackers.values()):
                    await asyncio.sleep(0.001)
        fits = sum(t.fits for t in plugin.core.trackers.values())
        await wait_for(bus, len(bars) + 1 + fits + runner.stats.published - fits)
    finally:
        await runner.stop()
        await bus.close()
    return fits, runner.stats.published - fits


async def test_a_live_run_with_refits_replays_byte_for_byte(fresh_nats) -> None:  # type: ignore[no-untyped-def]
    bars = switching_bars(THREE_REGIMES, 700, seed=31, instrument="EURUSD").bars
    h = Harness([RegimePlugin], config={"regime": CONFIG})
    async with h:
        await h.feed(bars)
    fits = len(h.outputs(RegimeModelFitted))
    inferred = len(h.outputs(RegimeInferred))
    assert fits >= 3 and inferred > 300
    live_fits, live_inferred = await _live(fresh_nats.url, bars)
    assert live_fits == fits and live_inferred > 300
    src = StreamSource(fresh_nats.url, "KEEL")
    try:
        report = await verify(src, host=PluginHost())
    finally:
        await src.close()
    text = report.text()
    print(text, file=sys.stderr)
    by = {p.plugin: p for p in report.plugins}
    assert report.ok, text
    assert by["regime"].matched == by["regime"].total == live_fits + live_inferred
