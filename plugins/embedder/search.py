"""Analog search: the nearest past market states and what followed them.

For instrument X at time t: the query is X's latest stored state at or before
t (of the given model, else the model of that latest state). Candidates are
states of the same model version with ``ts < t - exclusion`` (the default
exclusion is the query's own window span, so no analog shares bars with the
query), of X only unless ``any_instrument``. A forward return is shown only if
it was known at t (its ``filled_ts <= t``): nothing after t leaks into the answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .horizons import parse_horizons
from .store import EmbeddingStore

__all__ = ["NoStateError", "distribution", "similar"]


class NoStateError(LookupError):
    """No stored state of the instrument at or before the time asked."""

    def __init__(self, instrument: str, at: int | None, model: str | None) -> None:
        self.instrument = instrument
        self.at = at
        self.model = model
        when = "at all" if at is None else f"at or before ts {at}"
        which = f" of model {model}" if model else ""
        super().__init__(f"no embedding{which} of {instrument} {when}: run the embedder "
                         f"(or `keel embed --data FILE --model NAME`) and the embeddings "
                         "projection first")


def distribution(values: Sequence[float]) -> dict[str, Any]:
    """Summary of forward returns: n, mean, std, min, quantiles, max, share positive."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
    return {"n": int(v.size), "mean": float(v.mean()),
            "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "p10": float(q[0]), "p25": float(q[1]),
            "median": float(q[2]), "p75": float(q[3]), "p90": float(q[4]),
            "max": float(v.max()), "positive_share": float((v > 0).mean())}


async def similar(store: EmbeddingStore, *, instrument: str, at: int | None, k: int = 10,
                  model: str | None = None, model_version: int | None = None,
                  horizons: Sequence[str] | None = None, exclusion_ns: int | None = None,
                  any_instrument: bool = False) -> dict[str, Any]:
    """The analog report (a JSON-ready dict); ``NoStateError`` if X has no state by ``at``."""
    if k < 1:
        raise ValueError("k must be >= 1")
    labels = [h.label for h in parse_horizons(horizons or store.settings.horizons)]
    query = await store.state_at(instrument, at, model, model_version)
    if query is None:
        raise NoStateError(instrument, at, model)
    t = query.ts if at is None else at
    span = query.ts - query.window_start_ts
    exclusion = span if exclusion_ns is None else exclusion_ns
    found = await store.nearest(query.vector, model=query.model,
                                model_version=query.model_version, k=k,
                                before=t - exclusion - 1,
                                instrument=None if any_instrument else instrument)
    analogs = []
    per_horizon: dict[str, list[float]] = {h: [] for h in labels}
    for n in found:
        shown: dict[str, float | None] = {}
        for h in labels:
            pair = n.forward_returns.get(h)
            known = pair is not None and pair[1] <= t and pair[0] is not None
            shown[h] = float(pair[0]) if known and pair is not None else None
            if shown[h] is not None:
                per_horizon[h].append(shown[h])  # type: ignore[arg-type]
        analogs.append({"instrument": n.instrument, "ts": n.ts, "distance": n.distance,
                        "close": None if n.close is None else str(n.close),
                        "forward_returns": shown})
    return {
        "instrument": instrument, "at": t, "query_ts": query.ts, "model": query.model,
        "model_version": query.model_version, "k": k, "exclusion_ns": exclusion,
        "metric": store.settings.metric, "analogs": analogs,
        "distribution": {h: distribution(per_horizon[h]) for h in labels},
    }
