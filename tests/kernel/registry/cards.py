"""Model events for the registry tests."""

from __future__ import annotations

import hashlib

from contracts import ModelCard, ModelRegistered


def card(name: str = "embedder-tcn", version: int = 1, weights: bytes = b"w1",
         **extra: object) -> ModelCard:
    fields: dict[str, object] = {
        "name": name, "version": version, "kind": "embedder.tcn",
        "parameters": '{"window": 64, "dim": 128}', "data_start_ts": 1_000,
        "data_end_ts": 2_000, "data_hash": "ab" * 32, "metrics": '{"loss": 0.25}',
        "weights": weights, "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "libraries": {"torch": "2.13.0"},
    }
    fields.update(extra)
    return ModelCard(**fields)  # type: ignore[arg-type]


def registered(c: ModelCard, n: int = 1, ts: int = 5_000) -> ModelRegistered:
    return ModelRegistered(id=f"cli-{c.name}-{c.version}-{n}", ts=ts, producer="cli", card=c)
