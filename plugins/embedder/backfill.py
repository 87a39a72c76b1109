"""``keel embed``: embed a whole bar file with a registered model.

The vectors go to a Parquet file (``--out``) and into the vector store with
their forward returns, computed from the same file by the projection's own
``ForwardTracker``. Backfilled rows carry ``event_id = "backfill:<file
sha256[:12]>"``: they are not events of the log, and a rebuild of the
projection from the log keeps them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from kernel import KeelConfig, convert_config

from .bars import file_sha256, read_bar_file
from .batch import embed_series
from .config import EmbedderConfig
from .horizons import ForwardTracker, Pending
from .registry_io import load_model
from .store import DIM

__all__ = ["backfill"]


async def backfill(config: KeelConfig, *, data: str, ref: str, instrument: str | None,
                   out: str | None, batch: int = 1, store: bool = True) -> dict[str, Any]:
    model, name, version, _sha = await load_model(config, ref)
    series = read_bar_file(data, instrument)
    ends, vectors = embed_series(model, series, batch=batch)
    summary: dict[str, Any] = {"instrument": series.instrument, "model": f"{name}:{version}",
                               "bars": len(series), "embeddings": len(ends)}
    window = model.spec.window
    starts = series.open_ts[ends - window + 1]
    if out:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"instrument": [series.instrument] * len(ends),
                          "ts": series.ts[ends], "window_start_ts": starts,
                          "model": [name] * len(ends), "model_version": [version] * len(ends),
                          "vector": list(vectors)})
        pq.write_table(table, out)
        summary["out"] = str(Path(out))
    if store:
        if model.dim != DIM:
            raise ValueError(f"the vector store holds {DIM}-d vectors; {name}:{version} "
                             f"gives {model.dim}")
        cfg = convert_config(config.plugin_config("embedder"), EmbedderConfig,
                             prefix="plugin.embedder")
        summary["stored"] = await _store(config, cfg, series, ends, starts, vectors, name,
                                         version, f"backfill:{file_sha256(data)[:12]}")
    return summary


async def _store(config: KeelConfig, cfg: EmbedderConfig, series: Any, ends: np.ndarray,
                 starts: np.ndarray, vectors: np.ndarray, name: str, version: int,
                 event_id: str) -> int:
    from kernel.registry import database_url

    from .store import EmbeddingStore

    tracker = ForwardTracker(cfg.store.parsed_horizons())
    labels = {h.label for h in tracker.horizons}
    closes = series.exact_close or [Decimal(repr(float(c))) for c in series.close]
    is_end = np.zeros(len(series), dtype=bool)
    is_end[ends] = True
    pos = {int(e): i for i, e in enumerate(ends)}
    inserts, fills = [], []
    for i in range(len(series)):
        ts = int(series.ts[i])
        fills += tracker.on_bar(series.instrument, ts, closes[i])
        if is_end[i]:
            p = Pending(series.instrument, name, version, ts, closes[i], set(labels))
            tracker.add(p)
            j = pos[i]
            inserts.append((p, vectors[j], int(starts[j]), event_id, tracker.pending_until(p)))
    async with database_url(config) as url:
        store = await EmbeddingStore.connect(url, cfg.store)
        try:
            await store.insert(inserts)
            await store.apply_fills(fills)
            await store.ensure_index()
        finally:
            await store.close()
    return len(inserts)
