"""The vector store's settings: bad values are refused naming the key; the knobs each
index kind's searches run with."""

from __future__ import annotations

from typing import Any

import pytest

from kernel import ConfigError, convert_config
from plugins.embedder.config import EmbedderConfig
from plugins.embedder.settings import StoreSettings


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
