"""Outputs of the intelligence plugins (regime detection, embeddings)."""

from __future__ import annotations

from .base import Event, Symbol

__all__ = ["EmbeddingComputed", "RegimeInferred"]


class RegimeInferred(Event, frozen=True, kw_only=True, tag="intel.regime"):
    """Filtered (causal) regime posterior at ``ts``; probabilities are not money."""

    instrument: Symbol
    regime: int
    label: str
    probabilities: list[float]
    model: str = ""

    def subject(self) -> str:
        return f"keel.intel.regime.{self.instrument}"


class EmbeddingComputed(Event, frozen=True, kw_only=True, tag="intel.embedding"):
    instrument: Symbol
    model: str
    window_start_ts: int
    vector: list[float]

    def subject(self) -> str:
        return f"keel.intel.embedding.{self.instrument}"
