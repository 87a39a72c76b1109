"""The vector store as a projection of the log.

Inputs, in log order: ``EmbeddingComputed`` (a new row) and ``Bar`` (fills
forward returns of earlier rows of its instrument). ``Projector`` is the pure
part; ``follow`` applies it live through a durable consumer (a row is written
only after its event is stored in the log, and an input is acknowledged only
after its rows are written), ``rebuild`` empties the table and applies it to
the whole log in memory, then bulk-loads. Both run the same ``Projector``, so
a rebuild equals the live table (a test checks it row for row).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contracts import Bar, EmbeddingComputed, Event
from kernel import Bus, KeelConfig, Projection, Subscription, projection_handler, store_follower

from .horizons import Fill, ForwardTracker, Pending
from .settings import StoreSettings
from .store import DIM, TABLE, EmbeddingStore

__all__ = ["CONSUMER", "PROJECTION", "SUBJECTS", "Projector", "follow", "rebuild"]


SUBJECTS = ["keel.intel.embedding.>", "keel.md.bar.>"]
CONSUMER = "projection-embeddings"

_Insert = tuple[Pending, np.ndarray, int, str, int | None]


@dataclass
class Projector:
    tracker: ForwardTracker
    skipped: list[str] = field(default_factory=list)

    def apply(self, event: Event) -> tuple[list[_Insert], list[Fill]]:
        if isinstance(event, Bar):
            return [], self.tracker.on_bar(event.instrument, event.ts, event.close)
        if isinstance(event, EmbeddingComputed):
            if len(event.vector) != DIM or event.close is None:
                self.skipped.append(f"{event.id}: {len(event.vector)}-d vector (store holds "
                                    f"{DIM}) or no close")
                return [], []
            p = Pending(event.instrument, event.model, event.model_version, event.ts,
                        event.close, {h.label for h in self.tracker.horizons})
            self.tracker.add(p)
            vec = np.asarray(event.vector, dtype=np.float32)
            return [(p, vec, event.window_start_ts, event.id, self.tracker.pending_until(p))], []
        return [], []


async def rebuild(store: EmbeddingStore, events: AsyncIterable[Event] | Iterable[Event]
                  ) -> tuple[int, list[str]]:
    """Empty the table and project ``events`` (the whole log, in order) into it."""
    projector = Projector(ForwardTracker(store.settings.parsed_horizons()))
    rows: dict[tuple[str, str, int, int], list[Any]] = {}

    def one(event: Event) -> None:
        inserts, fills = projector.apply(event)
        for p, vec, ws, eid, until in inserts:
            key = (p.instrument, p.model, p.model_version, p.ts)
            if key not in rows:
                rows[key] = [p.instrument, p.model, p.model_version, p.ts, ws, p.close, vec,
                             {}, until, eid]
        for f in fills:
            row = rows.get((f.instrument, f.model, f.model_version, f.ts))
            if row is not None:
                row[7][f.horizon] = [None if f.value != f.value else f.value, f.filled_ts]
                row[8] = f.pending_until

    if isinstance(events, AsyncIterable):
        async for event in events:
            one(event)
    else:
        for event in events:
            one(event)
    await store.reset()
    await store.copy_in((*tuple(r[:7]), json.dumps(r[7]), r[8], r[9]) for r in rows.values())
    await store.ensure_index(rebuild=True)
    return len(rows), projector.skipped


async def follow(bus: Bus, store: EmbeddingStore, *, consumer: str = CONSUMER) -> Subscription:
    """Project embeddings and bars into ``store`` as they are logged.

    States still waiting for forward returns are reloaded first, so a restarted
    projection goes on where it stopped. A database error raises (the input is
    delivered again); an input that does not decode is dead-lettered and skipped
    (``kernel.projection_handler``).
    """
    tracker = ForwardTracker(store.settings.parsed_horizons())
    for p in await store.pending([h.label for h in tracker.horizons]):
        tracker.add(p)
    projector = Projector(tracker)
    await store.ensure_index()

    async def apply(event: Event) -> None:
        inserts, fills = projector.apply(event)
        try:
            if inserts:
                await store.insert(inserts)
            if fills:
                await store.apply_fills(fills)
        except BaseException:
            # The input will be delivered again: forget what it did in memory.
            tracker.queues.clear()
            for p in await store.pending([h.label for h in tracker.horizons]):
                tracker.add(p)
            raise

    return await bus.subscribe(consumer, SUBJECTS, projection_handler(consumer, bus, apply))


def _store_settings(config: KeelConfig) -> StoreSettings:
    from kernel import convert_config

    from .config import EmbedderConfig

    cfg = convert_config(config.plugin_config("embedder"), EmbedderConfig,
                         prefix="plugin.embedder")
    return cfg.store


async def _rebuild(config: KeelConfig, url: str, events: AsyncIterable[Event]) -> str:
    store = await EmbeddingStore.connect(url, _store_settings(config))
    try:
        rows, skipped = await rebuild(store, events)
    finally:
        await store.close()
    return f"{rows} states in {TABLE}" + (f", {len(skipped)} skipped" if skipped else "")


PROJECTION = Projection(
    name="embeddings", help=f"{TABLE} (pgvector) from EmbeddingComputed and Bar events",
    subjects=tuple(SUBJECTS), rebuild=_rebuild,
    follow=store_follower(
        lambda config, url: EmbeddingStore.connect(url, _store_settings(config)), follow))
