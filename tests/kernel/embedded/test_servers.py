"""EmbeddedServers: both servers up together, down together."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import nats
import psutil
import pytest

from kernel.embedded import EmbeddedServers, start_servers


async def test_both_start_with_pgvector_and_stop_together(tmp_path: Path) -> None:
    with start_servers(tmp_path) as servers:
        assert servers.nats is not None and servers.postgres is not None
        pids = [servers.nats.pid, servers.postgres.pid]
        assert servers.nats.data_dir == (tmp_path / "nats").absolute()
        assert servers.nats_url is not None and servers.postgres_url is not None
        nc = await nats.connect(servers.nats_url)
        await nc.close()
        conn = await asyncpg.connect(servers.postgres_url)
        try:
            assert await conn.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
        finally:
            await conn.close()
    assert not any(psutil.pid_exists(pid) for pid in pids)


def test_only_what_was_asked_for(tmp_path: Path) -> None:
    with start_servers(tmp_path, postgres=False) as servers:
        assert servers.postgres is None and servers.postgres_url is None
        assert servers.nats is not None and servers.nats.running
    assert not (tmp_path / "postgres").exists()


def test_a_failed_start_stops_what_did_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers = EmbeddedServers(tmp_path)
    assert servers.postgres is not None and servers.nats is not None

    def broken() -> None:
        raise RuntimeError("postgres would not start")

    monkeypatch.setattr(servers.postgres, "start", broken)
    try:
        with pytest.raises(RuntimeError, match="would not start"):
            servers.start()
        assert not servers.nats.running
    finally:
        servers.stop()
