"""The strategy registry as a projection of the log (live and rebuilt)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from contracts import Event
from kernel import Bus, KeelConfig, Projection, Subscription, projection_handler, store_follower

from .store import StrategyStore

__all__ = ["CONSUMER", "PROJECTION", "SUBJECTS", "follow", "rebuild"]


SUBJECTS = ["keel.strategy.>", "keel.sys.started.>", "keel.sys.stopped.>"]
CONSUMER = "projection-strategies"


async def rebuild(store: StrategyStore, events: AsyncIterable[Event] | Iterable[Event]) -> int:
    await store.reset()
    n = 0
    if isinstance(events, AsyncIterable):
        async for event in events:
            n += await store.project(event)
    else:
        for event in events:
            n += await store.project(event)
    return n


async def follow(bus: Bus, store: StrategyStore, *, consumer: str = CONSUMER) -> Subscription:
    return await bus.subscribe(consumer, SUBJECTS,
                               projection_handler(consumer, bus, store.project))


async def _rebuild(config: KeelConfig, url: str, events: AsyncIterable[Event]) -> str:
    store = await StrategyStore.connect(url)
    try:
        n = await rebuild(store, events)
    finally:
        await store.close()
    return f"{n} strategy, backtest and plugin start/stop events"


PROJECTION = Projection(
    name="strategies", help="the strategy registry from strategy and plugin lifecycle events",
    subjects=tuple(SUBJECTS), rebuild=_rebuild,
    follow=store_follower(lambda config, url: StrategyStore.connect(url), follow))
