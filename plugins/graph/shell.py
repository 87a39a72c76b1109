"""The graph plugin: rolling correlations on the bus, and a ``correlations`` query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from contracts import Bar, CorrelationGraphComputed, Event
from kernel import Context, Plugin, Query

from .config import GraphConfig
from .core import GraphCore

__all__ = ["Graph"]


class Graph(Plugin):
    """Correlation graph of instruments: edges, communities, centrality per window."""

    name = "graph"
    version = "0.1.0"
    description = "rolling return correlations between instruments; communities, centrality"
    Config = GraphConfig

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.core = GraphCore(self.config)
        self.latest: dict[int, CorrelationGraphComputed] = {}

    def subjects(self) -> Sequence[str]:
        cfg: GraphConfig = self.config
        return [f"keel.md.bar.{'>' if i == '*' else i}" for i in cfg.instruments]

    def on_event(self, event: Event) -> None:
        if type(event) is Bar:
            for fields in self.core.on_bar(event):  # type: ignore[arg-type]
                out = self.ctx.event(CorrelationGraphComputed, **fields)
                self.latest[out.window] = out
                self.ctx.emit(out)

    def health(self) -> dict[str, Any]:
        return {"instruments": len(self.core.last_close), "completed_times": self.core.completed,
                "graphs": {w: g.as_of_ts for w, g in sorted(self.latest.items())}}

    def queries(self) -> Mapping[str, Query]:
        return {"correlations": self._q_correlations}

    async def _q_correlations(self, args: dict[str, Any]) -> dict[str, Any]:
        """``{"asset": X, "window": N?}`` -> X's correlations in the latest graph(s),
        highest first, with X's community and centrality."""
        asset = args.get("asset")
        if not isinstance(asset, str) or not asset:
            raise ValueError("asset: required (str)")
        window = args.get("window")
        graphs = [g for w, g in sorted(self.latest.items()) if window in (None, w)]
        rows = []
        for g in graphs:
            for e in g.edges:
                if asset in (e.a, e.b):
                    rows.append({"asset": e.b if e.a == asset else e.a,
                                 "correlation": e.correlation, "window": g.window,
                                 "as_of_ts": g.as_of_ts})
        rows.sort(key=lambda r: (-r["correlation"], r["window"], r["asset"]))
        return {"asset": asset, "correlations": rows,
                "community": {g.window: next((i for i, c in enumerate(g.communities)
                                              if asset in c), None) for g in graphs},
                "centrality": {g.window: g.centrality.get(asset) for g in graphs}}
