"""The graph store as a projection of the log: correlation graphs and regime labels."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from contracts import CorrelationGraphComputed, Event, RegimeInferred
from kernel import Bus, KeelConfig, Projection, Subscription, projection_handler, store_follower

from .store import GraphStore, open_graph_store

__all__ = ["CONSUMER", "PROJECTION", "SUBJECTS", "follow", "project", "rebuild"]


SUBJECTS = ["keel.intel.graph.>", "keel.intel.regime.>"]
CONSUMER = "projection-graph"


async def project(store: GraphStore, event: Event) -> bool:
    """Write what one logged event says; True if it was a graph or regime event."""
    if isinstance(event, CorrelationGraphComputed):
        await store.apply_graph(event)
        return True
    if isinstance(event, RegimeInferred):
        await store.apply_regime(event)
        return True
    return False


async def rebuild(store: GraphStore, events: AsyncIterable[Event] | Iterable[Event]) -> int:
    """Empty the graph and project the log's events into it, in order; events used."""
    await store.reset()
    n = 0
    if isinstance(events, AsyncIterable):
        async for event in events:
            n += await project(store, event)
    else:
        for event in events:
            n += await project(store, event)
    return n


async def follow(bus: Bus, store: GraphStore, *, consumer: str = CONSUMER) -> Subscription:
    """Keep the store up to date as events are logged (a durable consumer)."""

    async def apply(event: Event) -> None:
        await project(store, event)

    return await bus.subscribe(consumer, SUBJECTS, projection_handler(consumer, bus, apply))


async def _rebuild(config: KeelConfig, url: str, events: AsyncIterable[Event]) -> str:
    store = await open_graph_store(url)
    try:
        n = await rebuild(store, events)
    finally:
        await store.close()
    return f"{n} graph and regime events into {type(store).__name__}"


PROJECTION = Projection(
    name="graph", help="the correlation graph (Neo4j if KEEL_NEO4J_URI, else PostgreSQL)",
    subjects=tuple(SUBJECTS), rebuild=_rebuild,
    follow=store_follower(lambda config, url: open_graph_store(url), follow))
