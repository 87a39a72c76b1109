"""``kernel.node_cli.embedded_servers``: which servers a command starts beside running ones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest

from kernel import KeelConfig
from kernel.node_cli import embedded_servers

pytestmark = pytest.mark.timeout(120)


async def test_a_database_is_started_when_the_running_servers_have_none(
        nats_server: Any, tmp_path: Path) -> None:
    """`keel demo --keep` registers NATS only: `keel regime fit` beside it needs a
    database, and must not fall back to 127.0.0.1:5432 (ECONNREFUSED)."""
    data = tmp_path / "keel"
    data.mkdir()
    registered = {"pid": os.getpid(), "nats_url": nats_server.url, "database_url": ""}
    (data / "servers.json").write_text(json.dumps(registered))
    config = msgspec.convert({"data_dir": str(data)}, KeelConfig)
    async with embedded_servers(config) as cfg:
        assert cfg.nats_url == nats_server.url  # the running NATS, not a second one
        assert cfg.database_url.startswith("postgresql://")
        conn = await asyncpg.connect(cfg.database_url)
        try:
            assert await conn.fetchval("select 1") == 1
        finally:
            await conn.close()
        url = cfg.database_url
    # The running servers' registration is theirs: untouched; our database is gone.
    assert json.loads((data / "servers.json").read_text()) == registered
    with pytest.raises(OSError):
        await asyncpg.connect(url, timeout=5)


async def test_no_database_is_started_when_the_command_needs_none(
        nats_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "keel"
    data.mkdir()
    (data / "servers.json").write_text(json.dumps(
        {"pid": os.getpid(), "nats_url": nats_server.url, "database_url": ""}))
    config = msgspec.convert({"data_dir": str(data)}, KeelConfig)
    async with embedded_servers(config, postgres=False) as cfg:
        assert (cfg.nats_url, cfg.database_url) == (nats_server.url, "")
