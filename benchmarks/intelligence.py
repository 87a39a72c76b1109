"""Embedder and vector-store figures, each beside a baseline measured in the same run.

    .venv/bin/python -m benchmarks.intelligence [--sizes 100000,1000000] [--index hnsw,ivfflat]
                                                [--probes 1,10] [--ef-search 40,100]
                                                [--build-memory 4GB]

* embedding throughput (windows/s, CPU, 1 torch thread): one window per call (as
  the live plugin runs) and batches of 512, beside the bare network forward on
  ready tensors (the baseline: what feature computation and conversion cost);
* training time per epoch (TCN and VAE, default sizes, 20k windows);
* k-NN on ``market_state_embeddings`` at each size: load, index build time,
  p50/p99 per query (client round trip and PostgreSQL's execution time) and
  recall@10 against exact search, beside the exact sequential scan (baseline).

Vectors are embeddings of a seeded regime-switching walk by a model trained here.
Run by hand; not a test. 1M vectors take a long time on 2 cores (tens of minutes
for an HNSW build): choose --sizes accordingly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import numpy as np
import torch

from kernel.embedded import EmbeddedPostgres
from plugins.embedder.batch import embed_series
from plugins.embedder.features import features, sliding_raw
from plugins.embedder.settings import StoreSettings
from plugins.embedder.store import TABLE, EmbeddingStore
from plugins.embedder.synthetic import vectors, walk
from plugins.embedder.train import TrainOptions, train


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def embedding_throughput() -> None:
    torch.set_num_threads(1)
    series = walk(30_000, seed=1)
    model = train([series.slice(0, 6000)], TrainOptions(epochs=1)).model
    n_single, n_batch = 2000, 20_000
    t = time.perf_counter()
    embed_series(model, series.slice(0, n_single + model.spec.lookback - 1), batch=1)
    single = time.perf_counter() - t
    t = time.perf_counter()
    embed_series(model, series.slice(0, n_batch + model.spec.lookback - 1), batch=512)
    batch = time.perf_counter() - t
    raw = sliding_raw(series.raw(), model.spec.lookback,
                      np.arange(model.spec.lookback - 1, model.spec.lookback - 1 + n_batch))
    x = torch.from_numpy(model.normalise(features(raw, model.spec)))
    t = time.perf_counter()
    with torch.no_grad():
        for i in range(0, n_batch, 512):
            model.net.embed(x[i:i + 512])
    bare = time.perf_counter() - t
    params = sum(p.numel() for p in model.net.parameters())
    print(f"embedding (window {model.spec.window}, {params:,} parameters, 1 thread):")
    print(f"  one window per call  {_rate(n_single, single):>12}")
    print(f"  batches of 512       {_rate(n_batch, batch):>12}   baseline: bare forward on "
          f"ready tensors {_rate(n_batch, bare)} (ratio {bare / batch:.2f})")


def training_time() -> None:
    torch.set_num_threads(1)
    series = walk(20_000 + 200, seed=2)
    for kind in ("tcn", "vae"):
        r = train([series], TrainOptions(kind=kind, epochs=2, holdout=0.0001))
        print(f"training {kind}: {np.mean(r.seconds_per_epoch):.1f} s/epoch over "
              f"{r.train_windows:,} windows (batch 256, 1 thread)")


async def knn(sizes: list[int], indexes: list[str], queries: int,
              probes: list[int], ef_search: list[int], build_memory: str) -> None:
    series = walk(8000, seed=3)
    model = train([series], TrainOptions(epochs=1, window=32)).model
    with tempfile.TemporaryDirectory() as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg")
        await asyncio.to_thread(pg.start)
        try:
            await pg.ensure_database("bench")
            for n in sizes:
                t = time.perf_counter()
                data = vectors(model, n, seed=4)
                qs = vectors(model, queries, seed=5)
                print(f"k-NN at {n:,} vectors ({time.perf_counter() - t:.0f} s to embed them):")
                unit = data / np.linalg.norm(data, axis=1, keepdims=True)
                truth = [set(np.argsort(-(unit @ (q / np.linalg.norm(q))))[:10].tolist())
                         for q in qs]
                for index in indexes:
                    await _one(pg.dsn("bench"), data, qs, truth, index, probes, ef_search,
                               build_memory)
        finally:
            await asyncio.to_thread(pg.stop)


async def _one(url: str, data: np.ndarray, qs: np.ndarray, truth: list[set[int]],
               index: str, probes: list[int], ef_search: list[int], build_memory: str) -> None:
    settings = StoreSettings(index=index, build_memory=build_memory)  # type: ignore[arg-type]
    store = await EmbeddingStore.connect(url, settings)
    try:
        async with store.pool.acquire() as conn:
            await conn.execute(f"DROP INDEX IF EXISTS {TABLE}_ann")
        await store.reset()
        t = time.perf_counter()
        chunk = 100_000
        for i in range(0, len(data), chunk):
            await store.copy_in(("SYN", "m", 1, j, j, Decimal(1), data[j], "{}", None, "e")
                                for j in range(i, min(i + chunk, len(data))))
        load = time.perf_counter() - t
        async with store.pool.acquire() as conn:
            await conn.execute(f"VACUUM ANALYZE {TABLE}")
        t = time.perf_counter()
        await store.ensure_index(rebuild=True)
        build = time.perf_counter() - t
        exact_ms = []
        async with store.pool.acquire() as conn:
            for q in qs[:20]:
                async with conn.transaction():
                    await conn.execute("SET LOCAL enable_indexscan = off")
                    plan = await conn.fetchval(
                        f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT ts FROM {TABLE} ORDER BY "
                        f"embedding {settings.operator} $1 LIMIT 10", q)
                exact_ms.append(json.loads(plan)[0]["Execution Time"])
        knobs = (ef_search or [settings.ef_search]) if index == "hnsw" else (
            probes or [settings.probes])
        for knob_value in knobs:
            await _measure(url, settings, index, knob_value, data, qs, truth, exact_ms,
                           load, build)
    finally:
        await store.close()


async def _measure(url: str, settings: StoreSettings, index: str, knob_value: int,
                   data: np.ndarray, qs: np.ndarray, truth: list[set[int]],
                   exact_ms: list[float], load: float, build: float) -> None:
    """Recall@10 and latency at one query knob (HNSW ef_search, IVFFlat probes)."""
    settings = msgspec.structs.replace(
        settings, **({"ef_search": knob_value} if index == "hnsw" else {"probes": knob_value}))
    store = await EmbeddingStore.connect(url, settings)  # the plugin's own query path
    client, server, recall = [], [], []
    for q in qs[:20]:  # warm the index
        await store.nearest(q, model="m", model_version=1, k=10, before=len(data),
                            instrument="SYN")
    for q, want in zip(qs, truth, strict=True):
        t = time.perf_counter()
        got = await store.nearest(q, model="m", model_version=1, k=10, before=len(data),
                                  instrument="SYN")
        client.append((time.perf_counter() - t) * 1e3)
        recall.append(len({g.ts for g in got} & want) / 10)
        plan = await store.pool.fetchval(  # the same connection settings as nearest()
            f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT ts FROM {TABLE} WHERE model = 'm' "
            f"AND model_version = 1 AND ts <= $2 AND instrument = 'SYN' ORDER BY "
            f"embedding {settings.operator} $1 LIMIT 10", q, len(data))
        server.append(json.loads(plan)[0]["Execution Time"])
    await store.close()
    params = (f"m={settings.m} ef_construction={settings.ef_construction} "
              f"ef_search={knob_value}" if index == "hnsw"
              else f"lists={settings.lists or max(10, len(data) // 1000)} probes={knob_value}")
    print(f"  {index} ({params}): load {load:.1f} s, build {build:.1f} s, recall@10 "
          f"{np.mean(recall):.3f}, client p50/p99 {np.percentile(client, 50):.2f}/"
          f"{np.percentile(client, 99):.2f} ms, server p50/p99 "
          f"{np.percentile(server, 50):.2f}/{np.percentile(server, 99):.2f} ms; "
          f"baseline exact scan p50 {np.percentile(exact_ms, 50):.1f} ms "
          f"({np.percentile(exact_ms, 50) / np.percentile(server, 50):.0f}x slower)")


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100000", help="comma-separated vector counts")
    p.add_argument("--index", default="hnsw,ivfflat", help="comma-separated index kinds")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--probes", default="", help="IVFFlat probes to measure, comma-separated "
                   "(default: the store's setting)")
    p.add_argument("--ef-search", default="", help="HNSW ef_search values, comma-separated "
                   "(default: the store's setting)")
    p.add_argument("--build-memory", default=StoreSettings().build_memory,
                   help="maintenance_work_mem for the index build (e.g. 4GB for HNSW at 1M)")
    p.add_argument("--skip", default="", help="comma-separated: embed,train,knn")
    args = p.parse_args()
    skip = set(args.skip.split(","))
    if "embed" not in skip:
        embedding_throughput()
    if "train" not in skip:
        training_time()
    if "knn" not in skip:
        asyncio.run(knn(_ints(args.sizes), args.index.split(","), args.queries,
                        _ints(args.probes), _ints(args.ef_search), args.build_memory))


if __name__ == "__main__":
    main()
