"""The vector store's schema, applied idempotently at connect."""

from __future__ import annotations

import asyncpg

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS = (
    (1, "market_state_embeddings with pgvector", """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS market_state_embeddings (
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
CREATE INDEX IF NOT EXISTS market_state_embeddings_model_ts
    ON market_state_embeddings (model, model_version, ts);
CREATE INDEX IF NOT EXISTS market_state_embeddings_pending
    ON market_state_embeddings (instrument, pending_until) WHERE pending_until IS NOT NULL;
"""),
)


async def migrate(conn: asyncpg.Connection) -> None:
    """Apply the schema. Until the kernel's migration ledger is in this tree, the SQL
    itself is idempotent (IF NOT EXISTS) and runs under an advisory lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('keel:migrations'))")
        for _, _, sql in MIGRATIONS:
            await conn.execute(sql)
