"""Which PostgreSQL the registry uses: ``database_url`` (``KEEL_DATABASE_URL``), else
the embedded one a running ``keel up``/``keel servers`` started, else an
embedded one started for the duration of the command (data under
``data_dir/postgres``, so what it stores is there next time)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from ..config import KeelConfig
from ..errors import KeelError
from ..node import read_servers_file
from .models import ModelRegistry

__all__ = ["NoDatabaseError", "database_url", "open_registry", "plugin_database_url",
           "running_database_url"]

log = logging.getLogger("keel.registry")


def running_database_url(config: KeelConfig) -> str:
    """The configured URL, else that of a running embedded server; "" if neither."""
    if config.database_url:
        return config.database_url
    info = read_servers_file(config)
    if info and info.get("database_url"):
        return str(info["database_url"])
    return ""


class NoDatabaseError(KeelError, LookupError):
    """No database URL is configured and no embedded PostgreSQL is running."""


def plugin_database_url(configured: str, data_dir: str, what: str) -> str:
    """A plugin's database: ``configured`` (its ``database_url``), else
    ``$KEEL_DATABASE_URL``, else the running embedded server's URL (``servers.json``
    in ``data_dir``). For queries and commands only, never for what a handler emits.

    Raises ``NoDatabaseError`` saying how to get one; ``what`` names its use.
    """
    if configured:
        return configured
    env = os.environ.get("KEEL_DATABASE_URL", "")
    if env:
        return env
    try:
        info = json.loads((Path(data_dir) / "servers.json").read_text())
    except (FileNotFoundError, ValueError):
        info = {}
    url = info.get("database_url") or info.get("postgres_url") or ""
    if url:
        return str(url)
    raise NoDatabaseError(
        f"no database for {what}: set KEEL_DATABASE_URL (or database_url in keel.toml), or "
        f"start the embedded servers with `keel servers` (data dir {data_dir})")


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
