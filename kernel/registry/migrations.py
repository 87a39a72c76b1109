"""Schema migrations owned by the project, applied idempotently at start.

Each component (``models``, and later others such as ``embeddings``) has an
ordered list of ``Migration``s. ``apply_migrations`` records what it applied
in ``keel_migrations`` and applies only what is missing, inside one
transaction under an advisory lock, so concurrent starts and
repeated starts are both safe. No ORM: plain SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from ..errors import KeelError

__all__ = ["Migration", "MigrationError", "applied_versions", "apply_migrations"]

_LEDGER = """
CREATE TABLE IF NOT EXISTS keel_migrations (
    component   text        NOT NULL,
    version     integer     NOT NULL,
    description text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` (1, 2, ...), what it does, and its SQL."""

    version: int
    description: str
    sql: str


class MigrationError(KeelError):
    """A component's migration list is malformed, or the database is ahead of this code."""

    def __init__(self, component: str, problem: str) -> None:
        self.component = component
        self.problem = problem
        super().__init__(f"migrations of {component!r}: {problem}")


async def applied_versions(conn: asyncpg.Connection, component: str) -> list[int]:
    """Versions of ``component`` already applied, ascending."""
    await conn.execute(_LEDGER)
    rows = await conn.fetch(
        "SELECT version FROM keel_migrations WHERE component = $1 ORDER BY version", component)
    return [int(r["version"]) for r in rows]


async def apply_migrations(
    conn: asyncpg.Connection, component: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply the missing migrations of ``component``; return the versions applied now."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(component, f"versions must be 1..n in order, got {versions}")
    async with conn.transaction():
        # Serialise concurrent starts (of every component: they share the
        # ledger table); the lock ends with the transaction.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('keel:migrations'))")
        done = set(await applied_versions(conn, component))
        ahead = sorted(v for v in done if v > len(migrations))
        if ahead:
            raise MigrationError(
                component, f"the database has versions {ahead} that this keel does not know: "
                "it was migrated by a newer keel; upgrade this one")
        applied = []
        for m in migrations:
            if m.version in done:
                continue
            await conn.execute(m.sql)
            await conn.execute(
                "INSERT INTO keel_migrations (component, version, description) "
                "VALUES ($1, $2, $3)", component, m.version, m.description)
            applied.append(m.version)
    return applied
