"""Settings of the vector store (``[plugin.embedder.store]``) and how they are checked."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from .horizons import Horizon, parse_horizons

__all__ = ["StoreSettings"]


class StoreSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Index and forward-return settings of ``market_state_embeddings``.

    ``index``: ``hnsw`` (default; no training step, fine with inserts), ``ivfflat``
    (faster build, less memory; centroids go stale as data changes, so rebuild it
    after large loads) or ``none`` (exact scans). ``metric``: ``cosine`` or ``l2``.
    HNSW: ``m``, ``ef_construction`` at build, ``ef_search`` per query (a setting
    of the store's connections; pgvector's iterative scan keeps filtered searches
    complete).
    IVFFlat: ``lists`` (0 = rows / 1000, at least 10) and ``probes`` per query.
    ``horizons``: forward returns kept per state (``1h``, ``1d``, ``30m``...).
    The defaults are measured in ``tests/plugins/embedder/test_store_recall.py``
    and ``benchmarks/intelligence.py`` (see docs/plugins/embedder.md).
    """

    index: Literal["hnsw", "ivfflat", "none"] = "hnsw"
    metric: Literal["cosine", "l2"] = "cosine"
    m: int = 16
    ef_construction: int = 64
    ef_search: int = 100
    lists: int = 0
    probes: int = 10
    #: PostgreSQL's maintenance_work_mem for the index build (kB, MB or GB). An HNSW
    #: graph that does not fit builds on disk, many times slower.
    build_memory: str = "512MB"
    horizons: list[str] = msgspec.field(default_factory=lambda: ["1h", "1d"])

    def __post_init__(self) -> None:
        parse_horizons(self.horizons)
        for key in ("m", "ef_construction", "ef_search", "probes"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1")
        if self.lists < 0:
            raise ValueError("lists must be >= 0 (0: rows / 1000)")
        if not re.fullmatch(r"[1-9][0-9]*(kB|MB|GB)", self.build_memory):
            raise ValueError(f"build_memory must be a size such as '512MB' or '2GB', "
                             f"not {self.build_memory!r}")

    def parsed_horizons(self) -> list[Horizon]:
        return parse_horizons(self.horizons)

    @property
    def operator(self) -> str:
        return "<=>" if self.metric == "cosine" else "<->"

    @property
    def query_settings(self) -> dict[str, str]:
        """pgvector's per-query knobs, set once per connection (not per query: a
        search is then one round trip)."""
        if self.index == "hnsw":
            return {"hnsw.ef_search": str(self.ef_search), "hnsw.iterative_scan": "relaxed_order"}
        if self.index == "ivfflat":
            return {"ivfflat.probes": str(self.probes), "ivfflat.iterative_scan": "relaxed_order"}
        return {}

    @property
    def opclass(self) -> str:
        return "vector_cosine_ops" if self.metric == "cosine" else "vector_l2_ops"
