"""The strategy registry's tables: a projection of the log in PostgreSQL.

* ``keel_strategies``: each (strategy, version, code hash) ever registered;
* ``keel_strategy_params``: each distinct parameter set seen (defaults, backtests,
  live configs), by its SHA-256;
* ``keel_strategy_backtests``: every logged backtest (summary, data file and hash, when);
* ``keel_plugin_deployments``: every plugin start and stop in the log (node, version,
  config): where a strategy runs live.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import asyncpg

from contracts import Event, PluginStarted, PluginStopped, StrategyBacktested, StrategyRegistered
from kernel.registry import Migration, apply_migrations

__all__ = ["StrategyStore", "params_hash"]

MIGRATIONS = (Migration(1, "strategy registry tables", """
CREATE TABLE keel_strategies (
    strategy text NOT NULL, version text NOT NULL, code_hash text NOT NULL,
    description text NOT NULL, distribution text NOT NULL, default_params jsonb NOT NULL,
    registered_ts bigint NOT NULL, event_id text NOT NULL,
    PRIMARY KEY (strategy, version, code_hash));
CREATE TABLE keel_strategy_params (
    strategy text NOT NULL, params_hash text NOT NULL, params jsonb NOT NULL,
    first_seen_ts bigint NOT NULL, source text NOT NULL,
    PRIMARY KEY (strategy, params_hash));
CREATE TABLE keel_strategy_backtests (
    event_id text PRIMARY KEY, strategy text NOT NULL, version text NOT NULL,
    code_hash text NOT NULL, params_hash text NOT NULL, data_file text NOT NULL,
    data_sha256 text NOT NULL, data_start_ts bigint NOT NULL, data_end_ts bigint NOT NULL,
    bars integer NOT NULL, summary jsonb NOT NULL, ts bigint NOT NULL);
CREATE INDEX keel_strategy_backtests_strategy
    ON keel_strategy_backtests (strategy, ts);
CREATE TABLE keel_plugin_deployments (
    plugin text NOT NULL, node text NOT NULL, started_ts bigint NOT NULL,
    version text NOT NULL, config_hash text NOT NULL, params_hash text NOT NULL,
    resumed_from_seq bigint NOT NULL, stopped_ts bigint, stop_reason text,
    PRIMARY KEY (plugin, node, started_ts));
"""),)


def params_hash(params_json: str) -> str:
    """SHA-256 of a parameter set in canonical JSON (sorted keys)."""
    canonical = json.dumps(json.loads(params_json or "{}"), sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class StrategyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str) -> StrategyStore:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        assert pool is not None
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, "strategies", MIGRATIONS)
        except BaseException:
            await pool.close()
            raise
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    async def reset(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute("TRUNCATE keel_strategies, keel_strategy_params, "
                               "keel_strategy_backtests, keel_plugin_deployments")

    async def project(self, event: Event) -> bool:
        """Write what one logged event says; True if it was one of the registry's."""
        async with self.pool.acquire() as conn, conn.transaction():
            if isinstance(event, StrategyRegistered):
                await conn.execute(
                    "INSERT INTO keel_strategies VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) "
                    "ON CONFLICT DO NOTHING", event.strategy, event.version, event.code_hash,
                    event.description, event.distribution, event.default_params_json,
                    event.ts, event.id)
                await self._params(conn, event.strategy, event.default_params_json, event.ts,
                                   "defaults")
                return True
            if isinstance(event, StrategyBacktested):
                ph = await self._params(conn, event.strategy, event.params_json, event.ts,
                                        "backtest")
                await conn.execute(
                    "INSERT INTO keel_strategy_backtests VALUES ($1, $2, $3, $4, $5, $6, $7, "
                    "$8, $9, $10, $11::jsonb, $12) ON CONFLICT DO NOTHING", event.id,
                    event.strategy, event.version, event.code_hash, ph, event.data_file,
                    event.data_sha256, event.data_start_ts, event.data_end_ts, event.bars,
                    event.summary_json, event.ts)
                return True
            if isinstance(event, PluginStarted):
                ph = await self._params(conn, event.plugin, event.config_json, event.ts, "live")
                await conn.execute(
                    "INSERT INTO keel_plugin_deployments (plugin, node, started_ts, version, "
                    "config_hash, params_hash, resumed_from_seq) VALUES ($1, $2, $3, $4, $5, $6, "
                    "$7) ON CONFLICT DO NOTHING", event.plugin, event.node, event.ts,
                    event.version, event.config_hash, ph, event.resumed_from_seq)
                return True
            if isinstance(event, PluginStopped):
                await conn.execute(
                    "UPDATE keel_plugin_deployments SET stopped_ts = $2, stop_reason = $3 "
                    "WHERE (plugin, node, started_ts) = (SELECT plugin, node, started_ts FROM "
                    "keel_plugin_deployments WHERE plugin = $1 AND started_ts <= $2 AND "
                    "stopped_ts IS NULL ORDER BY started_ts DESC LIMIT 1)",
                    event.plugin, event.ts, event.reason)
                return True
        return False

    async def _params(self, conn: asyncpg.Connection, strategy: str, params_json: str,
                      ts: int, source: str) -> str:
        ph = params_hash(params_json)
        await conn.execute(
            "INSERT INTO keel_strategy_params VALUES ($1, $2, $3::jsonb, $4, $5) "
            "ON CONFLICT DO NOTHING", strategy, ph, params_json or "{}", ts, source)
        return ph

    async def list_strategies(self) -> list[dict[str, Any]]:
        """One row per strategy: latest version, code hash, counts and live nodes."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("""
SELECT s.strategy, s.version, s.code_hash, s.description, s.registered_ts,
  (SELECT count(*) FROM keel_strategy_params p WHERE p.strategy = s.strategy) AS param_sets,
  (SELECT count(*) FROM keel_strategy_backtests b WHERE b.strategy = s.strategy) AS backtests,
  (SELECT coalesce(array_agg(DISTINCT d.node ORDER BY d.node), '{}') FROM keel_plugin_deployments d
     WHERE d.plugin = s.strategy AND d.stopped_ts IS NULL) AS live_on
FROM (SELECT DISTINCT ON (strategy) * FROM keel_strategies
      ORDER BY strategy, registered_ts DESC, version DESC) s
ORDER BY s.strategy""")
        return [dict(r) | {"live_on": list(r["live_on"])} for r in rows]

    async def show(self, strategy: str) -> dict[str, Any] | None:
        """Everything known of one strategy (None if never registered nor run)."""
        async with self.pool.acquire() as conn:
            versions = await conn.fetch(
                "SELECT version, code_hash, description, distribution, default_params, "
                "registered_ts FROM keel_strategies WHERE strategy = $1 ORDER BY registered_ts",
                strategy)
            params = await conn.fetch(
                "SELECT params_hash, params, first_seen_ts, source FROM keel_strategy_params "
                "WHERE strategy = $1 ORDER BY first_seen_ts, params_hash", strategy)
            backtests = await conn.fetch(
                "SELECT event_id, version, code_hash, params_hash, data_file, data_sha256, "
                "data_start_ts, data_end_ts, bars, summary, ts FROM keel_strategy_backtests "
                "WHERE strategy = $1 ORDER BY ts, event_id", strategy)
            deployments = await conn.fetch(
                "SELECT node, started_ts, version, config_hash, params_hash, resumed_from_seq, "
                "stopped_ts, stop_reason FROM keel_plugin_deployments WHERE plugin = $1 "
                "ORDER BY started_ts, node", strategy)
        if not (versions or backtests or deployments):
            return None

        def rows(rs: list[asyncpg.Record], *json_cols: str) -> list[dict[str, Any]]:
            return [{k: (json.loads(v) if k in json_cols else v) for k, v in dict(r).items()}
                    for r in rs]

        return {"strategy": strategy, "versions": rows(versions, "default_params"),
                "param_sets": rows(params, "params"), "backtests": rows(backtests, "summary"),
                "deployments": rows(deployments),
                "live_on": sorted({d["node"] for d in deployments if d["stopped_ts"] is None})}

    async def known(self) -> list[str]:
        async with self.pool.acquire() as conn:
            return [r[0] for r in await conn.fetch(
                "SELECT DISTINCT strategy FROM keel_strategies ORDER BY 1")]
