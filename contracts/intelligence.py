"""Outputs of the intelligence plugins (regime detection, embeddings)."""

from __future__ import annotations

import msgspec

from .base import Event, Price, Symbol

__all__ = ["CorrelationEdge", "CorrelationGraphComputed", "EmbeddingComputed", "RegimeInferred"]


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
    """The market state of ``instrument`` at ``ts`` (a bar's close) as a vector.

    ``vector`` holds float32 values (widened exactly to float64) computed from
    the ``window`` bars whose first opened at ``window_start_ts``; bars after
    ``ts`` never enter it. ``model``/``model_version`` name the registered
    model and ``model_sha256`` its weights, so a replay loads exactly that
    model. ``close`` is the bar's close: forward returns are measured from it.
    """

    instrument: Symbol
    model: str
    window_start_ts: int
    vector: list[float]
    model_version: int = 0
    model_sha256: str = ""
    window: int = 0
    close: Price | None = None

    def subject(self) -> str:
        return f"keel.intel.embedding.{self.instrument}"


class CorrelationEdge(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Pearson correlation of two instruments' log returns over the window (a < b)."""

    a: str
    b: str
    correlation: float
    #: Returns both instruments had in the window.
    observations: int


class CorrelationGraphComputed(Event, frozen=True, kw_only=True,
                               tag="intel.correlation_graph"):
    """Rolling return correlations between instruments as of ``as_of_ts`` (bars closed by
    then), over the last ``window`` bar timestamps, with the graph's communities
    (greedy modularity on edges with correlation >= ``community_threshold``) and
    eigenvector centrality (weights |correlation|). Correlations are not money: floats.
    """

    as_of_ts: int
    window: int
    instruments: list[str]
    edges: list[CorrelationEdge]
    communities: list[list[str]] = []
    centrality: dict[str, float] = {}
    community_threshold: float = 0.0

    def subject(self) -> str:
        return f"keel.intel.graph.w{self.window}"
