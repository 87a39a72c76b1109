"""A fresh database per test on the session's embedded PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from kernel.embedded import EmbeddedPostgres
from kernel.registry import ModelRegistry

_n = itertools.count()


@pytest.fixture
async def db_url(postgres_server: EmbeddedPostgres) -> str:
    name = f"registry_{next(_n)}"
    await postgres_server.ensure_database(name)
    return postgres_server.dsn(name)


@pytest.fixture
async def registry(db_url: str, tmp_path) -> AsyncIterator[ModelRegistry]:  # type: ignore[no-untyped-def]
    reg = await ModelRegistry.connect(db_url, data_dir=tmp_path)
    try:
        yield reg
    finally:
        await reg.close()
