from __future__ import annotations

import math
from decimal import Decimal

import pytest

from contracts import Bar, EmbeddingComputed
from kernel import MemoryBus
from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.projection import follow, rebuild
from plugins.embedder.settings import StoreSettings
from plugins.embedder.store import EmbeddingStore
from plugins.marketdata.synthetic import regime_switching

from .conftest import embedding_log

SETTINGS = StoreSettings(horizons=["30m", "1h"])


def _two_instruments(model: EmbeddingModel) -> list:
    a = regime_switching(1, 300, instrument="AAA", interval="1m").bars
    b = regime_switching(2, 300, instrument="BBB", interval="1m").bars
    merged = sorted(a + b, key=lambda x: (x.ts, x.instrument))
    return embedding_log(merged, model)


async def test_live_projection_fills_forward_returns_and_a_rebuild_equals_it(
        db_url: str, tiny_model: EmbeddingModel) -> None:
    log = _two_instruments(tiny_model)
    store = await EmbeddingStore.connect(db_url, SETTINGS)
    bus = MemoryBus()
    try:
        sub = await follow(bus, store)
        for event in log:
            await bus.publish(event)
        await bus.wait_idle()
        await sub.stop()
        live = await store.dump()
        embeddings = [e for e in log if isinstance(e, EmbeddingComputed)]
        assert len(live) == len(embeddings) > 300
        # One state checked by hand: the 30m return is ln(close at the first bar >= s+30m / close).
        bars = {(e.instrument, e.ts): e for e in log if isinstance(e, Bar)}
        row = next(r for r in live if r[0] == "AAA")
        s, close = row[3], row[5]
        later = bars[("AAA", s + 30 * 60 * 10**9)]
        value, filled = row[7]["30m"]
        assert value == pytest.approx(math.log(later.close / close)) and filled == later.ts
        # The last states are still waiting for their 1h outcome.
        assert live[-1][8] is not None and "1h" not in live[-1][7]
        rows, skipped = await rebuild(store, log)
        assert (rows, skipped) == (len(live), [])
        assert await store.dump() == live
    finally:
        await store.close()
        await bus.close()


async def test_a_restarted_projection_resumes_pending_states(
        db_url: str, tiny_model: EmbeddingModel) -> None:
    log = _two_instruments(tiny_model)
    half = len(log) // 2
    store = await EmbeddingStore.connect(db_url, SETTINGS)
    try:
        bus = MemoryBus()
        sub = await follow(bus, store)
        for event in log[:half]:
            await bus.publish(event)
        await bus.wait_idle()
        await sub.stop()
        await bus.close()
        # A new projection process: pending states come back from the table.
        bus = MemoryBus()
        sub = await follow(bus, store, consumer="projection-embeddings-2")
        for event in log[half:]:
            await bus.publish(event)
        await bus.wait_idle()
        await sub.stop()
        await bus.close()
        resumed = await store.dump()
        await rebuild(store, log)
        assert await store.dump() == resumed
    finally:
        await store.close()


async def test_a_state_without_close_or_of_another_size_is_reported_not_stored(
        db_url: str) -> None:
    store = await EmbeddingStore.connect(db_url, SETTINGS)
    try:
        bad = EmbeddingComputed(id="x-1", ts=10, producer="x", instrument="AAA", model="m",
                                window_start_ts=0, vector=[0.0] * 3, close=Decimal(1))
        rows, skipped = await rebuild(store, [bad])
        assert rows == 0 and skipped and "3-d vector" in skipped[0]
    finally:
        await store.close()
