"""Where the correlation graph is kept: Neo4j when ``KEEL_NEO4J_URI`` is set, else PostgreSQL.

Both hold the same projection of the log: ``Asset`` nodes (community,
centrality per window), ``CORRELATES_WITH`` edges (correlation, window, as-of
ts; both directions, the latest per window), ``MarketRegime`` nodes and each
asset's current ``IN_REGIME`` link from the regime detector's ``RegimeInferred``.
``get_asset_correlations(asset)`` reads either, ordered by correlation (highest first).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from contracts import CorrelationGraphComputed, RegimeInferred
from kernel.registry import Migration, apply_migrations

__all__ = ["AssetCorrelation", "GraphStore", "PostgresGraphStore", "open_graph_store"]

MIGRATIONS = (Migration(1, "correlation graph tables", """
CREATE TABLE keel_graph_assets (
    id text NOT NULL, window_bars integer NOT NULL, community integer NOT NULL,
    centrality double precision NOT NULL, as_of_ts bigint NOT NULL,
    PRIMARY KEY (id, window_bars));
CREATE TABLE keel_graph_correlations (
    asset text NOT NULL, other text NOT NULL, window_bars integer NOT NULL,
    correlation double precision NOT NULL, observations integer NOT NULL,
    as_of_ts bigint NOT NULL, PRIMARY KEY (asset, other, window_bars));
CREATE TABLE keel_graph_regimes (
    name text PRIMARY KEY);
CREATE TABLE keel_graph_asset_regimes (
    asset text PRIMARY KEY, regime text NOT NULL REFERENCES keel_graph_regimes (name),
    probability double precision NOT NULL, model text NOT NULL, as_of_ts bigint NOT NULL);
"""),)


@dataclass(frozen=True)
class AssetCorrelation:
    asset: str
    correlation: float
    window: int
    as_of_ts: int


class GraphStore(Protocol):
    async def apply_graph(self, event: CorrelationGraphComputed) -> None: ...
    async def apply_regime(self, event: RegimeInferred) -> None: ...
    async def get_asset_correlations(self, asset: str, window: int | None = None
                                     ) -> list[AssetCorrelation]: ...
    async def reset(self) -> None: ...
    async def close(self) -> None: ...


def _pairs(event: CorrelationGraphComputed) -> list[tuple[str, str, float, int]]:
    out = []
    for e in event.edges:
        out.append((e.a, e.b, e.correlation, e.observations))
        out.append((e.b, e.a, e.correlation, e.observations))
    return out


def _membership(event: CorrelationGraphComputed) -> dict[str, int]:
    return {m: i for i, members in enumerate(event.communities) for m in members}


class PostgresGraphStore:
    """The graph as four tables (used when no Neo4j is configured)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str) -> PostgresGraphStore:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        assert pool is not None
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, "graph", MIGRATIONS)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    async def apply_graph(self, event: CorrelationGraphComputed) -> None:
        w = event.window
        member = _membership(event)
        async with self.pool.acquire() as conn, conn.transaction():
            # The latest graph of a window replaces the previous one.
            await conn.execute("DELETE FROM keel_graph_correlations WHERE window_bars = $1", w)
            await conn.execute("DELETE FROM keel_graph_assets WHERE window_bars = $1", w)
            await conn.executemany(
                "INSERT INTO keel_graph_correlations VALUES ($1, $2, $3, $4, $5, $6)",
                [(a, b, w, c, n, event.as_of_ts) for a, b, c, n in _pairs(event)])
            await conn.executemany(
                "INSERT INTO keel_graph_assets VALUES ($1, $2, $3, $4, $5)",
                [(i, w, member.get(i, -1), event.centrality.get(i, 0.0), event.as_of_ts)
                 for i in event.instruments])

    async def apply_regime(self, event: RegimeInferred) -> None:
        prob = event.probabilities[event.regime] if event.regime < len(event.probabilities) \
            else 0.0
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO keel_graph_regimes VALUES ($1) ON CONFLICT DO "
                               "NOTHING", event.label)
            await conn.execute(
                "INSERT INTO keel_graph_asset_regimes VALUES ($1, $2, $3, $4, $5) ON CONFLICT "
                "(asset) DO UPDATE SET regime = $2, probability = $3, model = $4, as_of_ts = $5",
                event.instrument, event.label, float(prob), event.model, event.ts)

    async def get_asset_correlations(self, asset: str, window: int | None = None
                                     ) -> list[AssetCorrelation]:
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT other, correlation, window_bars, as_of_ts FROM keel_graph_correlations "
                "WHERE asset = $1 AND ($2::int IS NULL OR window_bars = $2) "
                "ORDER BY correlation DESC, window_bars, other", asset, window)
        return [AssetCorrelation(r[0], r[1], r[2], r[3]) for r in rows]

    async def asset_regime(self, asset: str) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            r = await conn.fetchrow("SELECT * FROM keel_graph_asset_regimes WHERE asset = $1",
                                    asset)
        return None if r is None else dict(r)

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        order = {"keel_graph_assets": "1, 2", "keel_graph_correlations": "1, 2, 3",
                 "keel_graph_regimes": "1", "keel_graph_asset_regimes": "1"}
        async with self.pool.acquire() as conn:
            return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY {o}")]
                    for t, o in order.items()}

    async def reset(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute("TRUNCATE keel_graph_asset_regimes, keel_graph_regimes, "
                               "keel_graph_correlations, keel_graph_assets")

    async def close(self) -> None:
        await self.pool.close()


_CONSTRAINTS = (
    # As in the seed's schema: created idempotently.
    "CREATE CONSTRAINT asset_id IF NOT EXISTS FOR (a:Asset) REQUIRE a.id IS UNIQUE",
    "CREATE CONSTRAINT regime_name IF NOT EXISTS FOR (r:MarketRegime) REQUIRE r.name IS UNIQUE",
)


class Neo4jGraphStore:
    """The graph in Neo4j through the official async driver."""

    def __init__(self, driver: Any, database: str | None = None) -> None:
        self.driver = driver
        self.database = database

    @classmethod
    async def connect(cls, uri: str, user: str, password: str,
                      database: str | None = None) -> Neo4jGraphStore:
        from neo4j import AsyncGraphDatabase

        driver = AsyncGraphDatabase.driver(uri, auth=(user, password))
        await driver.verify_connectivity()
        store = cls(driver, database)
        for statement in _CONSTRAINTS:
            await store._run(statement)
        return store

    async def _run(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.driver.session(database=self.database) as session:
            result = await session.run(query, **params)
            return [r.data() async for r in result]

    async def apply_graph(self, event: CorrelationGraphComputed) -> None:
        member = _membership(event)
        assets = [{"id": i, "community": member.get(i, -1),
                   "centrality": event.centrality.get(i, 0.0)} for i in event.instruments]
        edges = [{"a": a, "b": b, "c": c, "n": n} for a, b, c, n in _pairs(event)]
        await self._run(
            "MATCH (:Asset)-[r:CORRELATES_WITH {window: $w}]->(:Asset) DELETE r", w=event.window)
        await self._run(
            "UNWIND $assets AS x MERGE (a:Asset {id: x.id}) "
            "SET a['community_' + toString($w)] = x.community, "
            "a['centrality_' + toString($w)] = x.centrality", assets=assets, w=event.window)
        await self._run(
            "UNWIND $edges AS e MATCH (a:Asset {id: e.a}), (b:Asset {id: e.b}) "
            "CREATE (a)-[:CORRELATES_WITH {correlation: e.c, observations: e.n, window: $w, "
            "as_of_ts: $ts}]->(b)", edges=edges, w=event.window, ts=event.as_of_ts)

    async def apply_regime(self, event: RegimeInferred) -> None:
        prob = event.probabilities[event.regime] if event.regime < len(event.probabilities) \
            else 0.0
        await self._run(
            "MERGE (a:Asset {id: $asset}) MERGE (m:MarketRegime {name: $label}) "
            "WITH a, m OPTIONAL MATCH (a)-[old:IN_REGIME]->() DELETE old "
            "WITH a, m CREATE (a)-[:IN_REGIME {probability: $p, model: $model, "
            "as_of_ts: $ts}]->(m)", asset=event.instrument, label=event.label, p=float(prob),
            model=event.model, ts=event.ts)

    async def get_asset_correlations(self, asset: str, window: int | None = None
                                     ) -> list[AssetCorrelation]:
        rows = await self._run(
            "MATCH (a:Asset {id: $asset_id})-[r:CORRELATES_WITH]->(b:Asset) "
            "WHERE $w IS NULL OR r.window = $w "
            "RETURN b.id AS asset, r.correlation AS correlation, r.window AS window, "
            "r.as_of_ts AS as_of_ts ORDER BY r.correlation DESC, r.window, b.id",
            asset_id=asset, w=window)
        return [AssetCorrelation(r["asset"], r["correlation"], r["window"], r["as_of_ts"])
                for r in rows]

    async def reset(self) -> None:
        await self._run("MATCH (n) WHERE n:Asset OR n:MarketRegime DETACH DELETE n")

    async def close(self) -> None:
        await self.driver.close()


async def open_graph_store(database_url: str, env: dict[str, str] | None = None) -> GraphStore:
    """Neo4j if ``KEEL_NEO4J_URI`` is set (``KEEL_NEO4J_USER``/``KEEL_NEO4J_PASSWORD``,
    ``KEEL_NEO4J_DATABASE``), else the PostgreSQL at ``database_url``."""
    env = dict(os.environ) if env is None else env
    uri = env.get("KEEL_NEO4J_URI", "")
    if uri:
        return await Neo4jGraphStore.connect(
            uri, env.get("KEEL_NEO4J_USER", "neo4j"), env.get("KEEL_NEO4J_PASSWORD", ""),
            env.get("KEEL_NEO4J_DATABASE") or None)
    return await PostgresGraphStore.connect(database_url)

