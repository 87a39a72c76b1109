"""The ``marketdata`` plugin publishes its configured bars, in order, then finishes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from contracts import (
    Bar,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderRequested,
    OrderSubmitted,
    Tick,
)
from kernel import ConfigError, MemoryBus, Plugin, PluginRunner, SimClock, convert_config
from kernel.testing.harness import Harness
from plugins.marketdata import (
    MarketData,
    MarketDataConfig,
    configured_events,
    random_walk,
    read_bars,
    regime_switching,
)
from plugins.marketdata.source import WINDOW
from plugins.paper import Paper
from plugins.strategies import EmaCrossStrategy

DATA = Path(__file__).resolve().parents[2] / "data"


async def run_source(config: dict[str, Any]) -> list[Any]:
    async with Harness([MarketData], config={"marketdata": config}) as h:
        await h.runners["marketdata"].wait_source()
        await h.settle()
        return h.events()


async def test_synthetic_source_publishes_random_walk_in_order() -> None:
    events = await run_source({"seed": 4, "bars": 50, "instruments": ["ABC"]})
    assert events == random_walk(4, 50, instrument="ABC")
    assert [e.subject() for e in events[:1]] == ["keel.md.bar.ABC"]


async def test_several_instruments_are_merged_by_time() -> None:
    events = await run_source({"seed": 1, "bars": 20, "instruments": ["A", "B"],
                               "model": "regime_switching", "interval": "1h"})
    assert len(events) == 40
    assert [e.instrument for e in events[:4]] == ["A", "B", "A", "B"]
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    # instrument i uses seed + i
    assert [e for e in events if e.instrument == "B"] == regime_switching(
        2, 20, interval="1h", instrument="B").bars


async def test_file_source() -> None:
    events = await run_source({"source": "file", "path": str(DATA / "ticks_sample.csv"),
                               "kind": "ticks", "instruments": ["EURUSD"]})
    assert len(events) == 3 and all(isinstance(e, Tick) for e in events)
    cfg = convert_config({"source": "file", "path": str(DATA / "bars_sample.csv"),
                          "instruments": ["EURUSD"]}, MarketDataConfig, prefix="p")
    assert list(configured_events(cfg)) == list(read_bars(DATA / "bars_sample.csv",
                                                          instrument="EURUSD"))


async def test_realtime_pacing_keeps_content() -> None:
    # 1m bars at 60_000x real time: 1 ms apart.
    events = await run_source({"bars": 5, "realtime_factor": 60_000.0})
    assert events == random_walk(0, 5)
    assert all(isinstance(e, Bar) for e in events)


@pytest.mark.parametrize(("raw", "key"), [
    ({"source": "file"}, "plugin.marketdata"),
    ({"source": "file", "path": "x.csv", "instruments": ["A", "B"]}, "plugin.marketdata"),
    ({"interval": "soon"}, "plugin.marketdata"),
    ({"tz": "Nowhere/Land"}, "plugin.marketdata"),
    ({"realtime_factor": -1.0}, "plugin.marketdata"),
    ({"bogus": 1}, "plugin.marketdata.bogus"),
])
def test_config_errors_name_the_plugin(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        convert_config(raw, MarketDataConfig, prefix="plugin.marketdata")
    assert err.value.key == key


class _Router(Plugin):
    """Stand-in for risk + execution: accepts every request and submits it to its venue
    (brokers work only orders risk accepted)."""

    name = "router"

    def subjects(self) -> list[str]:
        return ["keel.order.requested.>"]

    async def on_event(self, event: Event) -> None:
        if isinstance(event, OrderRequested):
            self.ctx.emit(self.ctx.event(OrderAccepted, client_order_id=event.client_order_id,
                                         account=event.account, request=event))
            self.ctx.emit(self.ctx.event(OrderSubmitted, client_order_id=event.client_order_id,
                                         account=event.account, venue=event.venue,
                                         request=event))


async def test_lockstep_pipeline_fills_at_the_bar_after_the_signal() -> None:
    config = {"marketdata": {"bars": 400, "seed": 3},
              "ema_cross": {"fast": 5, "slow": 20}}
    async with Harness([MarketData, EmaCrossStrategy, _Router, Paper], config=config) as h:
        await h.runners["marketdata"].wait_source()
        await h.settle()
        bars = h.outputs(Bar)
        orders = h.outputs(OrderRequested)
        fills = h.outputs(OrderFilled)
    assert len(bars) == 400 and len(orders) >= 4
    assert len(fills) >= len(orders) - 1  # only an order on the last bar may stay unfilled
    index = {b.id: i for i, b in enumerate(bars)}
    for order, fill in zip(orders, fills, strict=False):
        assert fill.client_order_id == order.client_order_id
        nxt = bars[index[order.causation] + 1]  # type: ignore[index]
        assert (fill.price, fill.causation) == (nxt.open, nxt.id)


class WindowBus(MemoryBus):
    """An in-process bus that, like ``NatsBus``, takes a window of events at once."""

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[int] = []

    async def publish_many(self, events: Sequence[Event], *,
                           headers: Mapping[str, str] | None = None) -> list[int]:
        self.windows.append(len(events))
        return [self.publish_nowait(e, headers=headers) for e in events]


async def run_windowed(config: dict[str, Any]) -> tuple[list[Any], list[int]]:
    bus = WindowBus()
    host_cfg = convert_config(config, MarketDataConfig, prefix="plugin.marketdata")
    runner = PluginRunner(MarketData, host_cfg, bus=bus, clock=SimClock(), tracing=False)
    await runner.start(announce=False)
    await runner.wait_source()
    await bus.wait_idle()
    await runner.stop(announce=False)
    events = [d.event for d in bus.messages()]
    await bus.close()
    return events, bus.windows


async def test_unpaced_source_publishes_in_windows_in_order() -> None:
    events, windows = await run_windowed({"seed": 3, "bars": 600, "lockstep": False})
    assert events == random_walk(3, 600)
    assert windows == [WINDOW, WINDOW, 600 - 2 * WINDOW]


async def test_paced_source_sends_what_is_due_together_and_keeps_content() -> None:
    # 1m bars at 6e7x real time: 1 us apart, so after the first bar the next
    # ones are due by the time it is acknowledged and go out together.
    events, windows = await run_windowed({"seed": 5, "bars": 300, "realtime_factor": 6e7,
                                             "lockstep": False})
    assert events == random_walk(5, 300)
    assert sum(windows) == 300 and max(windows) <= WINDOW and len(windows) < 300
