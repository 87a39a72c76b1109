from __future__ import annotations

import asyncio

import asyncpg
import pytest

from kernel.registry import Migration, MigrationError, applied_versions, apply_migrations
from kernel.registry.models import MIGRATIONS

STEPS = (
    Migration(1, "table", "CREATE TABLE t_demo (a int)"),
    Migration(2, "column", "ALTER TABLE t_demo ADD COLUMN b text"),
)


async def test_applies_once_and_is_idempotent(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        assert await apply_migrations(conn, "demo", STEPS[:1]) == [1]
        assert await apply_migrations(conn, "demo", STEPS) == [2]
        assert await apply_migrations(conn, "demo", STEPS) == []
        assert await applied_versions(conn, "demo") == [1, 2]
        await conn.execute("INSERT INTO t_demo (a, b) VALUES (1, 'x')")
    finally:
        await conn.close()


async def test_concurrent_starts_apply_each_migration_once(db_url: str) -> None:
    conns = [await asyncpg.connect(db_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, "models", MIGRATIONS)
                                         for c in conns))
        assert sorted(results) == [[], [], [], [1]]
        count = await conns[0].fetchval(
            "SELECT count(*) FROM keel_migrations WHERE component = 'models'")
        assert count == 1
    finally:
        for c in conns:
            await c.close()


async def test_a_database_ahead_of_the_code_is_refused(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await apply_migrations(conn, "demo", STEPS)
        with pytest.raises(MigrationError, match="newer keel") as info:
            await apply_migrations(conn, "demo", STEPS[:1])
        assert info.value.component == "demo"
    finally:
        await conn.close()


async def test_malformed_lists_are_refused(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        with pytest.raises(MigrationError, match=r"1\.\.n"):
            await apply_migrations(conn, "demo", (STEPS[1],))
    finally:
        await conn.close()
