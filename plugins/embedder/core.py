"""The embedder's pure core: bars and model announcements in, embeddings out.

State: per instrument the last ``lookback`` raw bars; the model in use. A
model arrives as an event of the log (``ModelRegistered``, whose card's
weights hash to ``weights_sha256``); bars before the first matching model are
counted but not embedded. The output for a bar depends only on that bar and
the bars before it (a ring buffer), never on later ones.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from contracts import Bar

if TYPE_CHECKING:  # torch is imported when a model is loaded, not with the plugin:
    from .artifact import EmbeddingModel  # every `keel` command loads every plugin

__all__ = ["KIND_PREFIX", "EmbedderCore", "LoadedModel", "ModelLoadError"]

#: Registry kinds of embedder models: ``embedder.tcn``, ``embedder.vae``.
KIND_PREFIX = "embedder."
#: Bars kept per instrument before a model arrives (enough for any usual window).
_KEEP_BEFORE_MODEL = 1024


class ModelLoadError(ValueError):
    """A model announcement names this plugin's model but its weights cannot be used."""

    def __init__(self, name: str, version: int, problem: str) -> None:
        self.name = name
        self.version = version
        super().__init__(f"model {name}:{version}: {problem}")


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: int
    sha256: str
    model: EmbeddingModel


@dataclass
class _Series:
    rows: deque[tuple[int, float, float, float, float]]
    bars: int = 0


@dataclass
class EmbedderCore:
    model_name: str
    model_version: int | None = None
    every: int = 1
    current: LoadedModel | None = None
    series: dict[str, _Series] = field(default_factory=dict)
    waiting: int = 0

    def wants(self, card: Any) -> bool:
        return (card.name == self.model_name and str(card.kind).startswith(KIND_PREFIX)
                and (self.model_version is None or card.version == self.model_version))

    def on_model(self, card: Any) -> LoadedModel | None:
        """Take a model card (from a logged model event) if it is the configured model."""
        if not self.wants(card):
            return None
        weights = bytes(card.weights)
        if not weights:
            raise ModelLoadError(card.name, card.version, "the event carries no inline weights")
        actual = hashlib.sha256(weights).hexdigest()
        if actual != card.weights_sha256:
            raise ModelLoadError(card.name, card.version, f"weights hash to {actual[:16]}..., "
                                 f"the card says {card.weights_sha256[:16]}...")
        from .artifact import EmbeddingModel

        model = EmbeddingModel.from_bytes(weights)
        self.current = LoadedModel(card.name, card.version, actual, model)
        need = model.spec.lookback
        for s in self.series.values():
            if s.rows.maxlen != need:
                s.rows = deque(s.rows, maxlen=need)
        return self.current

    def on_bar(self, bar: Bar) -> dict[str, Any] | None:
        """Fields of the ``EmbeddingComputed`` for ``bar``, or None (warming up, no model,
        or not an ``every``-th bar)."""
        loaded = self.current
        need = loaded.model.spec.lookback if loaded is not None else _KEEP_BEFORE_MODEL
        s = self.series.get(bar.instrument)
        if s is None:
            s = self.series[bar.instrument] = _Series(deque(maxlen=need))
        s.rows.append((bar.open_ts, float(bar.high), float(bar.low), float(bar.close),
                       float(bar.volume)))
        s.bars += 1
        if loaded is None:
            self.waiting += 1
            return None
        if len(s.rows) < need or s.bars % self.every:
            return None
        spec = loaded.model.spec
        raw = np.array([r[1:] for r in s.rows], dtype=np.float64)[None, :, :]
        vector = loaded.model.embed_raw(raw)[0]
        return {
            "instrument": bar.instrument,
            "model": loaded.name,
            "model_version": loaded.version,
            "model_sha256": loaded.sha256,
            "window_start_ts": s.rows[need - spec.window][0],
            "window": spec.window,
            "vector": vector.astype(np.float64).tolist(),
            "close": bar.close,
        }
