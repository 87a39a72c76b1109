"""Fixtures of the gateway suite: a running pipeline with the gateway in front."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.embedded import NatsServer

from .stack import Stack


@pytest.fixture(scope="module")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server of this module's own (the pipeline's log starts empty)."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="module")
def stack(module_nats: NatsServer) -> Iterator[Stack]:
    """risk, execution, paper, portfolio and gateway running, the gateway serving HTTP."""
    with Stack(module_nats.url) as s:
        yield s
