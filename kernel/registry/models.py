"""The model registry: every model version keel fitted or trained, in PostgreSQL.

A projection of the log (see ``projection``): a row is written only after
the event that describes the model (one with a ``model_card()``, under
``keel.model.>``) is logged, and ``keel project rebuild models`` rebuilds the
table from the log. ``(name, version)`` identifies a model; writing the same
model again is a no-op, and a different model under a taken ``(name,
version)`` is refused (``ModelVersionConflictError``).

Weights are kept inline (``bytea``) or as a path relative to the node's data
dir; either way with their SHA-256, checked whenever they are read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import asyncpg
import msgspec

from contracts import ModelCard

from ..errors import KeelError
from .migrations import Migration, apply_migrations

__all__ = [
    "MIGRATIONS",
    "ModelNotFoundError",
    "ModelRecord",
    "ModelRegistry",
    "ModelVersionConflictError",
    "WeightsMismatchError",
]

MIGRATIONS = (
    Migration(1, "model registry", """
CREATE TABLE keel_models (
    name           text        NOT NULL,
    version        integer     NOT NULL,
    kind           text        NOT NULL,
    parameters     jsonb       NOT NULL,
    data_start_ts  bigint      NOT NULL,
    data_end_ts    bigint      NOT NULL,
    data_hash      text        NOT NULL,
    metrics        jsonb       NOT NULL,
    weights        bytea,
    weights_path   text,
    weights_sha256 text        NOT NULL,
    weights_size   bigint      NOT NULL,
    libraries      jsonb       NOT NULL,
    created_ts     bigint      NOT NULL,
    event_id       text        NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);
CREATE INDEX keel_models_kind ON keel_models (kind, name);
"""),
)

_COLUMNS = ("name, version, kind, parameters, data_start_ts, data_end_ts, data_hash, metrics, "
            "weights_path, weights_sha256, weights_size, libraries, created_ts, event_id, "
            "registered_at")


class ModelNotFoundError(KeelError):
    def __init__(self, name: str, version: int | None, known: list[str]) -> None:
        self.name = name
        self.version = version
        what = name if version is None else f"{name} version {version}"
        super().__init__(f"model {what} is not in the registry; models: "
                         f"{', '.join(known) or 'none'}")


class ModelVersionConflictError(KeelError):
    """A different model (other weights) is already registered under ``(name, version)``."""

    def __init__(self, name: str, version: int, existing: str, new: str) -> None:
        self.name = name
        self.version = version
        self.existing_sha256 = existing
        self.new_sha256 = new
        super().__init__(
            f"model {name} version {version} is already registered with weights "
            f"sha256 {existing[:16]}..., not {new[:16]}...: give the new model another "
            "name or version")


class WeightsMismatchError(KeelError):
    """Stored weights do not hash to the checksum the model was registered with."""

    def __init__(self, name: str, version: int, expected: str, actual: str, where: str) -> None:
        self.name = name
        self.version = version
        self.expected = expected
        self.actual = actual
        super().__init__(f"weights of {name} version {version} ({where}) have sha256 "
                         f"{actual[:16]}..., registered {expected[:16]}...: they were altered")


class ModelRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A registry row (without the weight bytes)."""

    name: str
    version: int
    kind: str
    parameters: dict[str, Any]
    data_start_ts: int
    data_end_ts: int
    data_hash: str
    metrics: dict[str, Any]
    weights_path: str
    weights_sha256: str
    weights_size: int
    libraries: dict[str, str]
    #: Event time of the logged event that registered it (ns).
    created_ts: int
    event_id: str
    #: When the row was written (wall clock, ISO 8601): a fact of the projection, not the log.
    registered_at: str

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> ModelRecord:
        return cls(
            name=row["name"], version=row["version"], kind=row["kind"],
            parameters=json.loads(row["parameters"]), data_start_ts=row["data_start_ts"],
            data_end_ts=row["data_end_ts"], data_hash=row["data_hash"],
            metrics=json.loads(row["metrics"]), weights_path=row["weights_path"] or "",
            weights_sha256=row["weights_sha256"], weights_size=row["weights_size"],
            libraries=json.loads(row["libraries"]), created_ts=row["created_ts"],
            event_id=row["event_id"], registered_at=row["registered_at"].isoformat())


class ModelRegistry:
    """The registry over one PostgreSQL database (asyncpg pool). Migrates on connect.

    ``data_dir`` resolves the ``weights_path`` of models whose weights are files.
    """

    def __init__(self, pool: asyncpg.Pool, *, data_dir: str | Path = ".keel") -> None:
        self.pool = pool
        self.data_dir = Path(data_dir)

    @classmethod
    async def connect(cls, url: str, *, data_dir: str | Path = ".keel") -> ModelRegistry:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        assert pool is not None
        try:
            async with pool.acquire() as conn:
                await apply_migrations(conn, "models", MIGRATIONS)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, data_dir=data_dir)

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, et: type[BaseException] | None, ev: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def put(self, card: ModelCard, *, event_id: str, created_ts: int) -> bool:
        """Register ``card``; True if written now, False if this exact model was there."""
        weights = card.weights if not card.weights_path else None
        size = len(card.weights) if weights is not None else self._file_size(card.weights_path)
        async with self.pool.acquire() as conn:
            written = await conn.fetchval(
                "INSERT INTO keel_models (name, version, kind, parameters, data_start_ts, "
                "data_end_ts, data_hash, metrics, weights, weights_path, weights_sha256, "
                "weights_size, libraries, created_ts, event_id) VALUES ($1, $2, $3, $4, $5, "
                "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
                "ON CONFLICT (name, version) DO NOTHING RETURNING 1",
                card.name, card.version, card.kind, card.parameters, card.data_start_ts,
                card.data_end_ts, card.data_hash, card.metrics, weights,
                card.weights_path or None, card.weights_sha256, size,
                json.dumps(card.libraries, sort_keys=True), created_ts, event_id)
            if written:
                return True
            existing = await conn.fetchval(
                "SELECT weights_sha256 FROM keel_models WHERE name = $1 AND version = $2",
                card.name, card.version)
        if existing != card.weights_sha256:
            raise ModelVersionConflictError(card.name, card.version, existing,
                                            card.weights_sha256)
        return False

    def _file_size(self, rel: str) -> int:
        path = self.data_dir / rel
        return path.stat().st_size if path.exists() else 0

    async def list_models(
        self, name: str | None = None, kind: str | None = None
    ) -> list[ModelRecord]:
        """Models (all versions), by name then version; optionally of one name or kind."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM keel_models WHERE ($1::text IS NULL OR name = $1) "
                "AND ($2::text IS NULL OR kind = $2) ORDER BY name, version", name, kind)
        return [ModelRecord.from_row(r) for r in rows]

    async def get(self, name: str, version: int | None = None) -> ModelRecord:
        """One model version; the latest of ``name`` when ``version`` is None."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM keel_models WHERE name = $1 "
                "AND ($2::integer IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
                name, version)
            if row is None:
                names = await conn.fetch(
                    "SELECT DISTINCT name FROM keel_models ORDER BY name LIMIT 20")
                raise ModelNotFoundError(name, version, [r["name"] for r in names])
        return ModelRecord.from_row(row)

    async def weights(self, name: str, version: int) -> bytes:
        """The model's weight bytes, checked against their registered SHA-256."""
        record = await self.get(name, version)
        if record.weights_path:
            path = self.data_dir / record.weights_path
            data = path.read_bytes()
            where = str(path)
        else:
            async with self.pool.acquire() as conn:
                data = await conn.fetchval(
                    "SELECT weights FROM keel_models WHERE name = $1 AND version = $2",
                    name, version) or b""
            where = "inline"
        actual = hashlib.sha256(data).hexdigest()
        if actual != record.weights_sha256:
            raise WeightsMismatchError(name, version, record.weights_sha256, actual, where)
        return bytes(data)

    async def export(self, name: str, version: int | None, out_dir: str | Path) -> Path:
        """Write ``model.json`` (the record) and ``weights.bin`` into ``out_dir``."""
        record = await self.get(name, version)
        data = await self.weights(record.name, record.version)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "weights.bin").write_bytes(data)
        card = msgspec.to_builtins(record)
        (out / "model.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        return out

    async def reset(self) -> int:
        """Empty the registry (before a rebuild from the log); the number of rows removed."""
        async with self.pool.acquire() as conn:
            status = await conn.execute("DELETE FROM keel_models")
        return int(status.split()[-1])
