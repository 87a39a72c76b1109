"""Correlation graph of instruments (Neo4j or PostgreSQL), communities and centrality."""

from .shell import Graph
from .store import AssetCorrelation, open_graph_store

__all__ = ["AssetCorrelation", "Graph", "open_graph_store"]
