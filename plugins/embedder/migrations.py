"""The vector store's schema: the project's migrations, applied idempotently at connect."""

from __future__ import annotations

import asyncpg

from kernel.registry import Migration, apply_migrations

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS = (
    Migration(1, "market_state_embeddings with pgvector", """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE market_state_embeddings (
    instrument      text             NOT NULL,
    model           text             NOT NULL,
    model_version   integer          NOT NULL,
    ts              bigint           NOT NULL,
    window_start_ts bigint           NOT NULL,
    close           numeric,
    embedding       vector(128)      NOT NULL,
    forward_returns jsonb            NOT NULL DEFAULT '{}',
    pending_until   bigint,
    event_id        text             NOT NULL,
    PRIMARY KEY (instrument, model, model_version, ts)
);
CREATE INDEX market_state_embeddings_model_ts
    ON market_state_embeddings (model, model_version, ts);
CREATE INDEX market_state_embeddings_pending
    ON market_state_embeddings (instrument, pending_until) WHERE pending_until IS NOT NULL;
"""),
)


async def migrate(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, "embeddings", MIGRATIONS)
