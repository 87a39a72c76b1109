"""The correlation graph's pure core: bars in, correlation graphs out.

Bars are grouped by close time. When the first bar of a later time arrives,
the previous time is complete; after every ``every`` completed times the
graph of each window is computed from bars up to that time only (no bar of a
later time is used). Returns are log returns of consecutive bars of one
instrument; correlations are Pearson over the timestamps both instruments
have in the last ``window`` completed times.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contracts import Bar, CorrelationEdge

from .config import GraphConfig

__all__ = ["GraphCore", "analyse"]


def analyse(instruments: list[str], edges: list[CorrelationEdge], threshold: float
            ) -> tuple[list[list[str]], dict[str, float]]:
    """Communities (greedy modularity over edges >= ``threshold``) and eigenvector
    centrality (weights |correlation|), both deterministic: nodes and edges enter in
    sorted order."""
    import networkx as nx  # here: importing it costs 0.2-0.3 s in every process

    strong = nx.Graph()
    strong.add_nodes_from(instruments)
    strong.add_weighted_edges_from((e.a, e.b, e.correlation) for e in edges
                                   if e.correlation >= threshold)
    if strong.number_of_edges():
        found = nx.community.greedy_modularity_communities(strong, weight="weight")
        communities = [sorted(c) for c in found]
    else:
        communities = [[i] for i in instruments]
    communities.sort(key=lambda c: (-len(c), c[0]))
    full = nx.Graph()
    full.add_nodes_from(instruments)
    full.add_weighted_edges_from((e.a, e.b, abs(e.correlation)) for e in edges)
    rank: dict[str, float] = {}
    if full.number_of_edges():
        try:
            rank = nx.eigenvector_centrality(full, weight="weight", max_iter=1000, tol=1e-9)
        except nx.PowerIterationFailedConvergence:
            rank = {}
    if not rank:  # no edges, or no convergence: mean |correlation| with the others
        n = max(full.number_of_nodes() - 1, 1)
        rank = {v: full.degree(v, weight="weight") / n for v in full.nodes}
    return communities, {k: float(rank[k]) for k in sorted(rank)}


@dataclass
class GraphCore:
    config: GraphConfig
    #: Completed timestamps, newest last (at most the largest window + 1).
    times: deque[int] = field(default_factory=deque)
    #: instrument -> {ts: log return} for the retained times.
    returns: dict[str, dict[int, float]] = field(default_factory=dict)
    last_close: dict[str, float] = field(default_factory=dict)
    current_ts: int | None = None
    completed: int = 0

    def on_bar(self, bar: Bar) -> list[dict[str, Any]]:
        """Fields of the graphs this bar's arrival completes (often none)."""
        out: list[dict[str, Any]] = []
        if self.current_ts is not None and bar.ts > self.current_ts:
            out = self._complete(self.current_ts)
        if self.current_ts is None or bar.ts > self.current_ts:
            self.current_ts = bar.ts
        close = float(bar.close)
        prev = self.last_close.get(bar.instrument)
        if prev is not None and prev > 0 and close > 0:
            self.returns.setdefault(bar.instrument, {})[bar.ts] = math.log(close / prev)
        self.last_close[bar.instrument] = close
        return out

    def _complete(self, ts: int) -> list[dict[str, Any]]:
        self.times.append(ts)
        keep = max(self.config.windows)
        while len(self.times) > keep:
            old = self.times.popleft()
            for series in self.returns.values():
                series.pop(old, None)
        self.completed += 1
        if self.completed % self.config.every:
            return []
        return [self._graph(ts, w) for w in self.config.windows if len(self.times) >= w]

    def _graph(self, as_of: int, window: int) -> dict[str, Any]:
        times = list(self.times)[-window:]
        names = sorted(n for n, s in self.returns.items() if s)
        matrix = np.array([[self.returns[n].get(t, np.nan) for t in times] for n in names])
        need = max(3, math.ceil(self.config.min_observations * window))
        edges: list[CorrelationEdge] = []
        present = [n for i, n in enumerate(names) if np.isfinite(matrix[i]).sum() >= need]
        for i, a in enumerate(names):
            for j in range(i + 1, len(names)):
                both = np.isfinite(matrix[i]) & np.isfinite(matrix[j])
                n = int(both.sum())
                if n < need:
                    continue
                x, y = matrix[i, both], matrix[j, both]
                sx, sy = x.std(), y.std()
                if sx == 0 or sy == 0:
                    continue
                corr = float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))
                edges.append(CorrelationEdge(a=a, b=names[j], correlation=corr,
                                             observations=n))
        communities, centrality = analyse(present, edges, self.config.community_threshold)
        return {"as_of_ts": as_of, "window": window, "instruments": present, "edges": edges,
                "communities": communities, "centrality": centrality,
                "community_threshold": self.config.community_threshold}
