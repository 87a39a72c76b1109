"""Usefulness, measured: analogs found by the embedding share the query's TRUE regime
far more often than chance, on a seeded synthetic regime-switching series."""

from __future__ import annotations

import dataclasses

import numpy as np

from contracts import EmbeddingComputed
from plugins.embedder.bars import from_bars
from plugins.embedder.projection import rebuild
from plugins.embedder.search import similar
from plugins.embedder.settings import StoreSettings
from plugins.embedder.store import EmbeddingStore
from plugins.embedder.train import train
from plugins.marketdata.synthetic import Regime, regime_switching

from .conftest import TINY, embedding_log

REGIMES = (Regime("calm_up", 0.0004, 0.003), Regime("choppy", 0.0, 0.008),
           Regime("volatile_down", -0.0008, 0.016))


async def test_analogs_agree_with_the_true_regime_far_above_chance(db_url: str) -> None:
    data = regime_switching(21, 3000, regimes=REGIMES, stay=0.985, instrument="SYN")
    regime_at = dict(zip([b.ts for b in data.bars], data.regimes, strict=True))
    # Trained on the first half only; searched over the whole series.
    model = train([from_bars(data.bars[:1500])], dataclasses.replace(TINY, epochs=2)).model
    log = embedding_log(data.bars, model)
    store = await EmbeddingStore.connect(db_url, StoreSettings())
    try:
        await rebuild(store, log)
        states = [e for e in log if isinstance(e, EmbeddingComputed)]
        rng = np.random.default_rng(0)
        queries = sorted(rng.choice(np.arange(1500, len(states)), size=120, replace=False))
        agree, chance = [], []
        for q in queries:
            at = states[q].ts
            report = await similar(store, instrument="SYN", at=at, k=10)
            truth = regime_at[at]
            agree += [regime_at[a["ts"]] == truth for a in report["analogs"]]
            earlier = [regime_at[s.ts] for s in states if s.ts < at - report["exclusion_ns"]]
            chance.append(np.mean(np.asarray(earlier) == truth))
    finally:
        await store.close()
    rate, base = float(np.mean(agree)), float(np.mean(chance))
    print(f"\nanalog regime agreement {rate:.3f} vs chance {base:.3f} "
          f"(k=10, {len(queries)} queries, 3 regimes)")
    assert rate > base + 0.2 and rate > 0.6
