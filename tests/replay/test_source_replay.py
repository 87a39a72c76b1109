"""A source plugin's outputs are verified too, through its replay_outputs()."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from contracts import Bar
from kernel import MemoryBus, NoConfig, Plugin, PluginHost, PluginRunner, SimClock, hookimpl
from kernel.logfile import LogWriter
from replay.source import FileSource
from replay.verify import verify


class Feed(Plugin):
    name = "t_feed"
    drift = False  # the replayed account disagrees with what was published

    def _bars(self, replaying: bool) -> list[Bar]:
        out = []
        for i in range(5):
            close = Decimal(10 + i)
            if replaying and self.drift and i == 3:
                close += Decimal("0.5")
            out.append(Bar(id=self.ctx.ids.natural("bar", i), ts=(i + 1) * 60, producer=self.name,
                           instrument="X", open_ts=i * 60, interval_ns=60, open=close,
                           high=close + 1, low=close - 1, close=close, volume=Decimal(1)))
        return out

    async def run(self) -> None:
        for bar in self._bars(replaying=False):
            await self.ctx.publish(bar)

    def replay_outputs(self) -> list[Bar]:
        return self._bars(replaying=True)


class DriftingFeed(Feed):
    name = "t_drift"
    drift = True


class Package:
    @hookimpl
    def keel_plugins(self) -> list[type[Plugin]]:
        return [Feed, DriftingFeed]


async def record(cls: type[Plugin], path: Path) -> Path:
    bus = MemoryBus()
    runner = PluginRunner(cls, NoConfig(), bus=bus, clock=SimClock(), tracing=False)
    await runner.start()
    await runner.wait_source()
    await bus.wait_idle()
    await runner.stop()
    with LogWriter(path, source="test") as out:
        for d in bus.messages():
            out.write_delivery(d, bus.data_of(d))
    await bus.close()
    return path


async def test_a_reproducible_source_verifies_event_by_event(tmp_path: Path) -> None:
    log = await record(Feed, tmp_path / "feed.keellog")
    report = await verify(FileSource(log), host=PluginHost(entry_points=False,
                                                           extra=[Package()]))
    text = report.text()
    assert "VERIFIED" in text and "5/5" in text, text


async def test_a_source_that_no_longer_reproduces_its_outputs_is_caught(tmp_path: Path) -> None:
    log = await record(DriftingFeed, tmp_path / "drift.keellog")
    report = await verify(FileSource(log), host=PluginHost(entry_points=False,
                                                           extra=[Package()]))
    text = report.text()
    assert "DIVERGED" in text and "4/5" in text, text
    assert "close" in text and "13.5" in text, "the first divergence names the field"
