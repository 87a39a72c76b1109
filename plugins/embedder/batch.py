"""Embedding a whole series at once (backfill, benchmarks)."""

from __future__ import annotations

import numpy as np

from .artifact import EmbeddingModel
from .bars import BarArrays
from .features import sliding_raw

__all__ = ["embed_series"]


def embed_series(model: EmbeddingModel, series: BarArrays, *, batch: int = 1
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Every full window of ``series`` -> (end indices, ``[n, dim]`` float32 vectors).

    ``batch=1`` runs one window per forward pass, exactly as the live plugin
    does, so the vectors are bitwise the plugin's; larger batches are faster
    and agree to about 1e-6 (matrix kernels sum in another order).
    """
    lookback = model.spec.lookback
    ends = np.arange(lookback - 1, len(series), dtype=np.int64)
    raw = series.raw()
    out = np.empty((len(ends), model.dim), dtype=np.float32)
    step = max(1, batch)
    chunk = max(step, 4096 // step * step)
    for i in range(0, len(ends), chunk):
        windows = sliding_raw(raw, lookback, ends[i:i + chunk])
        for j in range(0, len(windows), step):
            out[i + j:i + j + step] = model.embed_raw(windows[j:j + step])
    return ends, out
