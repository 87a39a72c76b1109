"""Suite-wide fixtures: real servers from the kernel's testing kit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.embedded import NatsServer
from kernel.testing.servers import nats_server, postgres_server

__all__ = ["fresh_nats", "nats_server", "postgres_server"]


@pytest.fixture
def fresh_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of this test's own (an empty log), stopped afterwards."""
    with NatsServer(tmp_path / "nats") as server:
        yield server
