from __future__ import annotations

import hashlib
import json
from pathlib import Path

import asyncpg
import pytest

from kernel.registry import (
    ModelNotFoundError,
    ModelRegistry,
    ModelVersionConflictError,
    WeightsMismatchError,
)

from .cards import card


async def test_put_list_get_and_weights(registry: ModelRegistry) -> None:
    assert await registry.put(card(version=1), event_id="e1", created_ts=10)
    assert await registry.put(card(version=2, weights=b"w2"), event_id="e2", created_ts=20)
    assert await registry.put(card(name="regime-EURUSD", kind="regime.gaussian_hmm"),
                              event_id="e3", created_ts=30)
    rows = await registry.list_models()
    assert [(r.name, r.version) for r in rows] == [
        ("embedder-tcn", 1), ("embedder-tcn", 2), ("regime-EURUSD", 1)]
    assert [r.name for r in await registry.list_models(kind="regime.gaussian_hmm")] == [
        "regime-EURUSD"]
    latest = await registry.get("embedder-tcn")
    assert latest.version == 2 and latest.created_ts == 20 and latest.event_id == "e2"
    assert latest.parameters == {"window": 64, "dim": 128}
    assert latest.metrics == {"loss": 0.25}
    assert latest.libraries == {"torch": "2.13.0"}
    assert latest.weights_size == 2
    assert latest.data_start_ts == 1_000 and latest.data_end_ts == 2_000
    assert latest.registered_at  # written by the database
    assert (await registry.get("embedder-tcn", 1)).weights_sha256 == hashlib.sha256(
        b"w1").hexdigest()
    assert await registry.weights("embedder-tcn", 1) == b"w1"


async def test_the_same_model_twice_is_a_no_op(registry: ModelRegistry) -> None:
    assert await registry.put(card(), event_id="e1", created_ts=10)
    assert not await registry.put(card(), event_id="e1", created_ts=10)
    assert len(await registry.list_models()) == 1


async def test_another_model_under_a_taken_version_is_refused(registry: ModelRegistry) -> None:
    await registry.put(card(weights=b"one"), event_id="e1", created_ts=10)
    with pytest.raises(ModelVersionConflictError, match="embedder-tcn version 1") as info:
        await registry.put(card(weights=b"two"), event_id="e2", created_ts=11)
    assert info.value.existing_sha256 == hashlib.sha256(b"one").hexdigest()
    assert info.value.new_sha256 == hashlib.sha256(b"two").hexdigest()
    assert await registry.weights("embedder-tcn", 1) == b"one"


async def test_unknown_model_names_the_known_ones(registry: ModelRegistry) -> None:
    await registry.put(card(), event_id="e1", created_ts=10)
    with pytest.raises(ModelNotFoundError, match="embedder-tcn"):
        await registry.get("nope")
    with pytest.raises(ModelNotFoundError, match="version 9"):
        await registry.get("embedder-tcn", 9)


async def test_altered_inline_weights_are_detected(registry: ModelRegistry, db_url: str) -> None:
    await registry.put(card(), event_id="e1", created_ts=10)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("UPDATE keel_models SET weights = 'evil'::bytea")
    finally:
        await conn.close()
    with pytest.raises(WeightsMismatchError, match="altered"):
        await registry.weights("embedder-tcn", 1)


async def test_weights_as_a_file_under_the_data_dir(registry: ModelRegistry,
                                                   tmp_path: Path) -> None:
    blob = b"\x00big weights\xff" * 100
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tcn-3.bin").write_bytes(blob)
    c = card(version=3, weights=b"", weights_path="models/tcn-3.bin",
             weights_sha256=hashlib.sha256(blob).hexdigest())
    await registry.put(c, event_id="e3", created_ts=10)
    rec = await registry.get("embedder-tcn", 3)
    assert rec.weights_path == "models/tcn-3.bin" and rec.weights_size == len(blob)
    assert await registry.weights("embedder-tcn", 3) == blob
    out = await registry.export("embedder-tcn", 3, tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == blob
    exported = json.loads((out / "model.json").read_text())
    assert exported["name"] == "embedder-tcn" and exported["version"] == 3
    assert exported["weights_sha256"] == hashlib.sha256(blob).hexdigest()
    (tmp_path / "models" / "tcn-3.bin").write_bytes(blob + b"!")
    with pytest.raises(WeightsMismatchError):
        await registry.export("embedder-tcn", 3, tmp_path / "out2")


async def test_reconnecting_keeps_rows_and_does_not_migrate_twice(db_url: str,
                                                                  tmp_path: Path) -> None:
    async with await ModelRegistry.connect(db_url, data_dir=tmp_path) as reg:
        await reg.put(card(), event_id="e1", created_ts=10)
    async with await ModelRegistry.connect(db_url, data_dir=tmp_path) as reg:
        assert len(await reg.list_models()) == 1
