"""The vector store's settings: bad values are refused naming the key; the knobs each
index kind's searches run with."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from kernel import ConfigError, convert_config
from plugins.embedder.config import EmbedderConfig
from plugins.embedder.settings import StoreSettings
from plugins.embedder.store import EmbeddingStore


def _conf(**store: Any) -> EmbedderConfig:
    return convert_config({"store": store}, EmbedderConfig, prefix="plugin.embedder")


@pytest.mark.parametrize(("store", "field"), [
    ({"build_memory": "lots"}, "build_memory"), ({"build_memory": "512"}, "build_memory"),
    ({"build_memory": "0MB"}, "build_memory"), ({"probes": 0}, "probes"),
    ({"ef_search": 0}, "ef_search"), ({"lists": -1}, "lists")])
def test_bad_store_values_name_the_field(store: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field) as info:
        _conf(**store)
    assert info.value.key.startswith("plugin.embedder")


@pytest.mark.parametrize("size", ["64kB", "512MB", "4GB"])
def test_build_memory_takes_postgres_sizes(size: str) -> None:
    assert _conf(build_memory=size).store.build_memory == size


def test_query_settings_per_index_kind() -> None:
    assert StoreSettings(ef_search=57).query_settings == {
        "hnsw.ef_search": "57", "hnsw.iterative_scan": "relaxed_order"}
    assert StoreSettings(index="ivfflat", probes=3).query_settings == {
        "ivfflat.probes": "3", "ivfflat.iterative_scan": "relaxed_order"}
    assert StoreSettings(index="none").query_settings == {}


async def test_an_index_build_past_build_memory_is_a_warning_naming_the_key(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(size=(6000, 128)).astype(np.float32)  # the column is vector(128)
    store = await EmbeddingStore.connect(db_url, StoreSettings(build_memory="1MB"))
    try:
        await store.copy_in(("SYN", "m", 1, i, i, Decimal(1), data[i], "{}", None, "e")
                            for i in range(len(data)))
        with caplog.at_level(logging.WARNING, logger="plugins.embedder.store"):
            await store.ensure_index(rebuild=True)
    finally:
        await store.close()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("maintenance_work_mem" in m and "build_memory" in m for m in warned), warned
