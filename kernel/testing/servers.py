"""pytest fixtures that start real servers on free ports in temporary dirs.

Import them into a ``conftest.py``: ``from kernel.testing.servers import
nats_server, postgres_server``. Both are session-scoped (one server for the
whole run, since starting costs up to a second); tests share them, so each
test should use its own stream, subject or database names.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.embedded import EmbeddedPostgres, NatsServer

__all__ = ["nats_server", "postgres_server"]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server with JetStream; connect to ``nats_server.url``."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL with pgvector available; connect to ``postgres_server.url``."""
    with EmbeddedPostgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server
