"""Registering and loading embedder models: one call each, through the model registry.

A model is registered by logging a ``ModelRegistered`` event (weights inline,
with their SHA-256) and projecting it into the registry; loading reads the
weights back from the registry, checked against that checksum.
"""

from __future__ import annotations

import json
from typing import Any

from kernel import KeelConfig

from .artifact import EmbeddingModel
from .config import parse_model_ref
from .core import KIND_PREFIX

__all__ = ["load_model", "model_event", "next_version", "register_model"]

PRODUCER = "embedder-train"


def model_event(*, name: str, version: int, model: EmbeddingModel, parameters: dict[str, Any],
                metrics: dict[str, Any], data_start_ts: int, data_end_ts: int, data_hash: str,
                ts: int) -> Any:
    """The ``ModelRegistered`` event of a trained model (id from name and version)."""
    import numpy
    import torch

    from contracts import ModelCard, ModelRegistered
    from kernel import IdSource

    weights = model.to_bytes()
    card = ModelCard(
        name=name, version=version, kind=f"{KIND_PREFIX}{model.cfg.kind}",
        parameters=json.dumps(parameters, sort_keys=True),
        data_start_ts=data_start_ts, data_end_ts=data_end_ts, data_hash=data_hash,
        metrics=json.dumps(metrics, sort_keys=True), weights=weights,
        weights_sha256=model.sha256(),
        libraries={"torch": str(torch.__version__), "numpy": str(numpy.__version__)})
    return ModelRegistered(id=IdSource(PRODUCER).natural(name, version), ts=ts,
                           producer=PRODUCER, card=card)


async def next_version(config: KeelConfig, name: str) -> int:
    """1 + the latest registered version of ``name`` (1 if none)."""
    from kernel.registry import open_registry

    async with open_registry(config) as registry:
        records = await registry.list_models(name)
    return 1 + max((r.version for r in records), default=0)


async def register_model(config: KeelConfig, event: Any) -> None:
    """Log the model event (on the running bus, else on a NATS started for the call)
    and project it into the registry."""
    from kernel.registry import open_registry, project_event

    from .logbus import publish_events

    await publish_events(config, [event])
    async with open_registry(config) as registry:
        await project_event(registry, event)


async def load_model(config: KeelConfig, ref: str) -> tuple[EmbeddingModel, str, int, str]:
    """``NAME[:VERSION]`` from the registry -> (model, name, version, sha256)."""
    from kernel.registry import open_registry

    name, version = parse_model_ref(ref)
    async with open_registry(config) as registry:
        record = await registry.get(name, version)
        if not record.kind.startswith(KIND_PREFIX):
            raise ValueError(f"model {name}:{record.version} is a {record.kind} model, "
                             "not an embedder")
        weights = await registry.weights(record.name, record.version)
    model = EmbeddingModel.from_bytes(weights, expected_sha256=record.weights_sha256)
    return model, record.name, record.version, record.weights_sha256
