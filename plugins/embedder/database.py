"""Which PostgreSQL the embedder's queries and commands use."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["NoDatabaseError", "resolve_database_url"]


class NoDatabaseError(LookupError):
    """No database URL is configured and no embedded PostgreSQL is running."""


def resolve_database_url(configured: str, data_dir: str) -> str:
    """``configured``, else ``$KEEL_DATABASE_URL``, else the running embedded server's URL.

    Read only for queries and commands, never for anything a handler emits.
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
        "no database for the vector store: set KEEL_DATABASE_URL (or database_url in "
        f"keel.toml), or start the embedded servers with `keel servers` (data dir {data_dir})")
