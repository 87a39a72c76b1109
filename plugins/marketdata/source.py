"""The ``marketdata`` plugin: publishes configured bars (synthetic or from a file) in order."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from contracts import Bar
from kernel import Plugin, PluginError

from .config import MarketDataConfig
from .readers import read_events
from .synthetic import iter_random_walk, iter_regime_switching

__all__ = ["WINDOW", "MarketData", "configured_events"]

#: Most events a source window holds (their acks in flight at once).
WINDOW = 256


def configured_events(config: MarketDataConfig, producer: str = "marketdata") -> Iterator[Any]:
    """The events ``config`` describes, in publishing order (pure apart from reading the file)."""
    if config.source == "file":
        return read_events(config.path, instrument=config.instruments[0], kind=config.kind,
                           tz=config.tz or None, interval=config.interval or None,
                           producer=producer)
    interval = config.interval or "1m"
    streams: list[Iterator[Bar]] = []
    for i, instrument in enumerate(config.instruments):
        seed = config.seed + i
        if config.model == "random_walk":
            streams.append(iter_random_walk(
                seed, config.bars, config.start_price, config.vol, interval, instrument,
                config.start_ns, drift=config.drift, precision=config.precision,
                producer=producer,
            ))
        else:
            streams.append(bar for bar, _ in iter_regime_switching(
                seed, config.bars, config.start_price, stay=config.stay, interval=interval,
                instrument=instrument, start_ns=config.start_ns,
                precision=config.precision, producer=producer,
            ))
    if len(streams) == 1:
        return streams[0]
    # Same close time: instruments in configured order (merge is stable on ties).
    return heapq.merge(*streams, key=lambda bar: bar.ts)


class MarketData(Plugin):
    """Source of market data for demos and backtests: publishes, then finishes."""

    name = "marketdata"
    version = "0.1.0"
    description = "synthetic or file bars/ticks, published in time order"
    Config = MarketDataConfig

    published: int = 0
    _events: Iterator[Any] | None = None

    async def on_start(self) -> None:
        """Refuse to start on an unusable source: a missing or unreadable file, a bad
        first row. (Its events are then read once, by ``run()``.)"""
        config: MarketDataConfig = self.config
        if config.source == "file":
            path = Path(config.path)
            if not path.is_file():
                what = "is not a file" if path.exists() else "does not exist"
                raise PluginError(self.name, f"data file {config.path} {what} "
                                  "(plugin.marketdata.path)")
        try:
            events = configured_events(config, self.name)
            first = list(itertools.islice(events, 1))
        except OSError as exc:
            raise PluginError(self.name, f"cannot read {config.path}: {exc.strerror or exc}"
                              ) from None
        except ValueError as exc:  # MarketDataError names file, row and column
            raise PluginError(self.name, str(exc)) from None
        self._events = itertools.chain(first, events)

    async def run(self) -> None:
        """Publish every configured event, in order. Across a bus outage each publish
        is retried with the same id (the kernel's ``ctx.publish``), so the feed keeps
        its place and nothing is stored twice.

        Except in lockstep, events go out in windows (``ctx.publish_many``: their
        acks in flight at once, awaited before the next window): unpaced, up to
        ``WINDOW`` at a time; paced, every event that is due by then, on a
        schedule kept from the first event (wall time ``(ts - first ts) /
        realtime_factor`` after it), so sleeping late never slows the feed down.
        """
        config: MarketDataConfig = self.config
        pace = config.realtime_factor
        events = self._events if self._events is not None else configured_events(
            config, self.name)
        self._events = None
        self.published = 0
        # Only an in-process bus can tell when every consumer is done (duck-typed:
        # it is not part of the Bus protocol).
        settle = getattr(self.ctx.bus, "wait_idle", None) if config.lockstep else None
        if settle is not None:
            await self._run_lockstep(events, pace, settle)
        else:
            await self._run_windows(events, pace)
        self.ctx.log.info("marketdata: published %d events", self.published)

    async def _run_lockstep(self, events: Iterator[Any], pace: float,
                            settle: Callable[[], Awaitable[None]]) -> None:
        publish = self.ctx.publish
        prev_ts: int | None = None
        for event in events:
            if pace > 0 and prev_ts is not None:
                await asyncio.sleep((event.ts - prev_ts) / 1e9 / pace)
            prev_ts = event.ts
            await publish(event)
            self.published += 1
            await settle()

    async def _run_windows(self, events: Iterator[Any], pace: float) -> None:
        publish_many = self.ctx.publish_many
        loop = asyncio.get_running_loop()
        window: list[Any] = []
        start_wall = first_ts = 0.0
        for event in events:
            if pace > 0:
                # Wall-clock pacing only decides WHEN bars go out, never what
                # they contain, so replay is unaffected.
                if not self.published and not window:
                    start_wall, first_ts = loop.time(), event.ts
                due = start_wall + (event.ts - first_ts) / 1e9 / pace
                if due > loop.time():
                    if window:
                        await publish_many(window)
                        self.published += len(window)
                        window = []
                    delay = due - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
            window.append(event)
            if len(window) >= WINDOW:
                await publish_many(window)
                self.published += len(window)
                window = []
                await asyncio.sleep(0)  # let consumers run during a long burst
        if window:
            await publish_many(window)
            self.published += len(window)

    def replay_outputs(self) -> Iterator[Any]:
        """Exactly what ``run()`` publishes (a file source reads its file again)."""
        return configured_events(self.config, self.name)

    def health(self) -> dict[str, Any]:
        return {"published": self.published}

