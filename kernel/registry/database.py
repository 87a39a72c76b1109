"""Which PostgreSQL the registry uses: ``database_url`` (``KEEL_DATABASE_URL``), else
the embedded one a running ``keel up``/``keel servers`` started, else an
embedded one started for the duration of the command (data under
``data_dir/postgres``, so what it stores is there next time)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from ..config import KeelConfig
from ..node import read_servers_file
from .models import ModelRegistry

__all__ = ["database_url", "open_registry", "running_database_url"]

log = logging.getLogger("keel.registry")


def running_database_url(config: KeelConfig) -> str:
    """The configured URL, else that of a running embedded server; "" if neither."""
    if config.database_url:
        return config.database_url
    info = read_servers_file(config)
    if info and info.get("database_url"):
        return str(info["database_url"])
    return ""


@contextlib.asynccontextmanager
async def database_url(config: KeelConfig) -> AsyncIterator[str]:
    """A usable database URL; starts the embedded PostgreSQL if none runs (stopped after)."""
    url = running_database_url(config)
    if url:
        yield url
        return
    import asyncio

    from ..embedded import EmbeddedPostgres

    server = EmbeddedPostgres(Path(config.data_dir) / "postgres")
    await asyncio.to_thread(server.start)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def open_registry(config: KeelConfig) -> AsyncIterator[ModelRegistry]:
    """The model registry of this node (migrated), closed afterwards."""
    async with database_url(config) as url:
        registry = await ModelRegistry.connect(url, data_dir=config.data_dir)
        try:
            yield registry
        finally:
            await registry.close()
