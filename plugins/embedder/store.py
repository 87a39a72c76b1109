"""``market_state_embeddings``: the vector store, in PostgreSQL with pgvector.

A projection of the log (see ``projection``): one row per ``EmbeddingComputed``
(instrument, model, model version, ts), its 128-d vector, the close it was
taken at, and forward returns ``{horizon: [log_return, filled_ts]}`` filled in
as later bars arrive. The nearest-neighbour index (HNSW or IVFFlat) follows
``StoreSettings``; ``ensure_index`` builds or replaces it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector

from .horizons import Fill, Pending
from .migrations import migrate
from .settings import StoreSettings

log = logging.getLogger(__name__)

__all__ = ["DIM", "TABLE", "EmbeddingStore", "Neighbour", "StoredState"]

TABLE = "market_state_embeddings"
DIM = 128
_INDEX = f"{TABLE}_ann"


@dataclass(frozen=True)
class StoredState:
    instrument: str
    model: str
    model_version: int
    ts: int
    window_start_ts: int
    close: Decimal | None
    vector: np.ndarray
    forward_returns: dict[str, list[float]]
    event_id: str


@dataclass(frozen=True)
class Neighbour:
    instrument: str
    ts: int
    distance: float
    close: Decimal | None
    forward_returns: dict[str, list[float]]


async def _init(conn: asyncpg.Connection) -> None:
    await register_vector(conn)


def _build_notice(conn: object, message: asyncpg.PostgresLogMessage) -> None:
    """pgvector's notices during an index build, above all "hnsw graph no longer fits
    into maintenance_work_mem": the build goes on on disk, many times slower."""
    text = str(message)
    if "maintenance_work_mem" in text:
        log.warning("%s: raise [plugin.embedder.store] build_memory (now the build "
                    "continues on disk, many times slower)", text)
    else:
        log.info("index build: %s", text)


class EmbeddingStore:
    """The table over an asyncpg pool (migrated, pgvector codec registered)."""

    def __init__(self, pool: asyncpg.Pool, settings: StoreSettings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, url: str, settings: StoreSettings | None = None,
                      *, max_size: int = 4) -> EmbeddingStore:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        settings = settings or StoreSettings()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, init=_init,
                                         server_settings=settings.query_settings)
        assert pool is not None
        return cls(pool, settings)

    async def close(self) -> None:
        await self.pool.close()

    # -- writes --------------------------------------------------------------
    async def insert(self, rows: Sequence[tuple[Pending, np.ndarray, int, str, int | None]]
                     ) -> None:
        """Insert states: (pending, vector, window_start_ts, event_id, pending_until).

        A state already stored (same key) is left as it is: the log is the truth
        and a redelivered event carries the same values.
        """
        records = [(p.instrument, p.model, p.model_version, p.ts, ws, p.close, vec, "{}",
                    until, eid) for p, vec, ws, eid, until in rows]
        async with self.pool.acquire() as conn:
            await conn.executemany(
                f"INSERT INTO {TABLE} (instrument, model, model_version, ts, window_start_ts, "
                "close, embedding, forward_returns, pending_until, event_id) VALUES ($1, $2, $3, "
                "$4, $5, $6, $7, $8::jsonb, $9, $10) ON CONFLICT DO NOTHING", records)

    async def copy_in(self, records: Iterable[tuple[Any, ...]]) -> int:
        """Bulk load full rows (rebuild): instrument, model, model_version, ts,
        window_start_ts, close, embedding, forward_returns (JSON text), pending_until,
        event_id."""
        rows = list(records)
        async with self.pool.acquire() as conn:
            await conn.copy_records_to_table(
                TABLE, records=rows,
                columns=["instrument", "model", "model_version", "ts", "window_start_ts",
                         "close", "embedding", "forward_returns", "pending_until", "event_id"])
        return len(rows)

    async def apply_fills(self, fills: Sequence[Fill]) -> None:
        if not fills:
            return
        async with self.pool.acquire() as conn:
            await conn.executemany(
                f"UPDATE {TABLE} SET forward_returns = forward_returns || "
                "jsonb_build_object($5::text, jsonb_build_array($6::float8, $7::bigint)), "
                "pending_until = $8 WHERE instrument = $1 AND model = $2 AND model_version = $3 "
                "AND ts = $4",
                [(f.instrument, f.model, f.model_version, f.ts, f.horizon,
                  None if f.value != f.value else f.value, f.filled_ts, f.pending_until)
                 for f in fills])

    async def pending(self, horizons: Sequence[str]) -> list[Pending]:
        """States still missing a horizon, oldest first (to resume the live projection)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT instrument, model, model_version, ts, close, forward_returns FROM {TABLE} "
                "WHERE pending_until IS NOT NULL ORDER BY instrument, ts, model, model_version")
        out = []
        for r in rows:
            done = json.loads(r["forward_returns"])
            missing = {h for h in horizons if h not in done}
            if missing and r["close"] is not None:
                out.append(Pending(r["instrument"], r["model"], r["model_version"], r["ts"],
                                   r["close"], missing))
        return out

    async def reset(self) -> int:
        """Empty the table (before a rebuild); the number of rows removed."""
        async with self.pool.acquire() as conn:
            status = await conn.execute(f"DELETE FROM {TABLE}")
        return int(status.split()[-1])

    # -- index ---------------------------------------------------------------
    async def ensure_index(self, *, rebuild: bool = False) -> str:
        """Create the configured ANN index (replacing one of other settings); its name."""
        s = self.settings
        if s.index == "none":
            async with self.pool.acquire() as conn:
                await conn.execute(f"DROP INDEX IF EXISTS {_INDEX}")
            return ""
        if s.index == "hnsw":
            ddl = (f"CREATE INDEX {_INDEX} ON {TABLE} USING hnsw (embedding {s.opclass}) "
                   f"WITH (m = {s.m}, ef_construction = {s.ef_construction})")
        else:
            async with self.pool.acquire() as conn:
                n = int(await conn.fetchval(f"SELECT count(*) FROM {TABLE}"))
            lists = s.lists or max(10, n // 1000)
            ddl = (f"CREATE INDEX {_INDEX} ON {TABLE} USING ivfflat (embedding {s.opclass}) "
                   f"WITH (lists = {lists})")
        async with self.pool.acquire() as conn:
            current = await conn.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE indexname = $1", _INDEX)
            if current is not None and not rebuild and _same(current, ddl):
                return _INDEX
            conn.add_log_listener(_build_notice)
            try:
                async with conn.transaction():
                    await conn.execute(f"DROP INDEX IF EXISTS {_INDEX}")
                    await conn.execute(f"SET LOCAL maintenance_work_mem = '{s.build_memory}'")
                    await conn.execute(ddl)
            finally:
                conn.remove_log_listener(_build_notice)
            # Fresh statistics, or the planner may prefer a scan and sort to the index.
            await conn.execute(f"ANALYZE {TABLE}")
        return _INDEX

    # -- reads ---------------------------------------------------------------
    async def state_at(self, instrument: str, at: int | None, model: str | None = None,
                       model_version: int | None = None) -> StoredState | None:
        """The latest state of ``instrument`` at or before ``at`` (None: the latest)."""
        async with self.pool.acquire() as conn:
            r = await conn.fetchrow(
                f"SELECT * FROM {TABLE} WHERE instrument = $1 AND ($2::bigint IS NULL OR "
                "ts <= $2) AND ($3::text IS NULL OR model = $3) AND ($4::int IS NULL OR "
                "model_version = $4) ORDER BY ts DESC, model_version DESC LIMIT 1",
                instrument, at, model, model_version)
        return None if r is None else _state(r)

    async def nearest(self, vector: np.ndarray, *, model: str, model_version: int, k: int,
                      before: int, instrument: str | None) -> list[Neighbour]:
        """The ``k`` states nearest to ``vector`` with ``ts <= before`` (one model version;
        one instrument unless None), nearest first."""
        op = self.settings.operator
        # LIMIT is a literal and the instrument filter present or absent, never "$n IS
        # NULL OR ...": a generic prepared plan must still see an ordered index scan.
        where = "model = $2 AND model_version = $3 AND ts <= $4"
        args: list[Any] = [vector, model, model_version, before]
        if instrument is not None:
            where += " AND instrument = $5"
            args.append(instrument)
        sql = (f"SELECT instrument, ts, close, forward_returns, embedding {op} $1 AS distance "
               f"FROM {TABLE} WHERE {where} ORDER BY embedding {op} $1 LIMIT {int(k)}")
        rows = await self.pool.fetch(sql, *args)  # knobs: the pool's query_settings
        out = [Neighbour(r["instrument"], r["ts"], float(r["distance"]), r["close"],
                         json.loads(r["forward_returns"])) for r in rows]
        # relaxed_order may return neighbours slightly out of order: sort exactly.
        out.sort(key=lambda n: (n.distance, n.ts, n.instrument))
        return out

    async def exact_nearest(self, vector: np.ndarray, *, k: int) -> list[tuple[str, int]]:
        """Exact k-NN over the whole table (a sequential scan): the recall reference."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_indexscan = off")
            await conn.execute("SET LOCAL enable_bitmapscan = off")
            rows = await conn.fetch(
                f"SELECT instrument, ts FROM {TABLE} ORDER BY embedding {self.settings.operator}"
                " $1 LIMIT $2", vector, k)
        return [(r["instrument"], r["ts"]) for r in rows]

    async def dump(self) -> list[tuple[Any, ...]]:
        """Every row in key order (for comparing a rebuild with the live table)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT instrument, model, model_version, ts, window_start_ts, close, "
                f"embedding, forward_returns, pending_until, event_id FROM {TABLE} "
                "ORDER BY instrument, model, model_version, ts")
        return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6].to_list(),
                 json.loads(r[7]), r[8], r[9]) for r in rows]

    async def count(self) -> int:
        async with self.pool.acquire() as conn:
            return int(await conn.fetchval(f"SELECT count(*) FROM {TABLE}"))


def _same(indexdef: str, ddl: str) -> bool:
    # pg_indexes normalises the statement; compare the method, opclass and parameters.
    norm = indexdef.lower().replace("'", "").replace(" ", "")
    want = ddl.lower().replace(" ", "")
    method = want.split("using")[1].split("(")[0]
    params = want.split("with(")[1].rstrip(")").split(",")
    opclass = want.split("(embedding")[1].split(")")[0]
    return f"using{method}" in norm and opclass in norm and all(p in norm for p in params)


def _state(r: asyncpg.Record) -> StoredState:
    return StoredState(r["instrument"], r["model"], r["model_version"], r["ts"],
                       r["window_start_ts"], r["close"], r["embedding"].to_numpy(),
                       json.loads(r["forward_returns"]), r["event_id"])
