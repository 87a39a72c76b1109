"""A tiny trained embedder shared by the embedder tests (trained once, seconds)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from plugins.embedder.artifact import EmbeddingModel
from plugins.embedder.bars import BarArrays, from_bars
from plugins.embedder.train import TrainOptions, train
from plugins.marketdata.synthetic import RegimeSeries, regime_switching

TINY = TrainOptions(kind="tcn", window=16, epochs=1, seed=3, channels=16, levels=3,
                    batch_size=128)


@pytest.fixture(scope="session")
def series() -> RegimeSeries:
    return regime_switching(11, 1500, instrument="SYN", interval="1m")


@pytest.fixture(scope="session")
def arrays(series: RegimeSeries) -> BarArrays:
    return from_bars(series.bars)


@pytest.fixture(scope="session")
def tiny_model(arrays: BarArrays) -> EmbeddingModel:
    return train([arrays], TINY).model


def card(model: EmbeddingModel, name: str = "emb", version: int = 1, **over: Any) -> Any:
    """A model card as a model event carries it (duck-typed like ``contracts.ModelCard``)."""
    fields = {"name": name, "version": version, "kind": f"embedder.{model.cfg.kind}",
              "weights": model.to_bytes(), "weights_sha256": model.sha256()}
    fields.update(over)
    return SimpleNamespace(**fields)


_db = iter(range(10**6))


@pytest.fixture
async def db_url(postgres_server: Any) -> str:
    """A fresh database of this test's own on the session's embedded PostgreSQL."""
    name = f"embeddings_{next(_db)}"
    await postgres_server.ensure_database(name)
    url: str = postgres_server.dsn(name)
    return url


def embedding_log(series_bars: list[Any], model: EmbeddingModel, *, name: str = "emb",
                  every: int = 1) -> list[Any]:
    """Bars interleaved with the embedder's outputs, in log order (as the bus logs them)."""
    from contracts import EmbeddingComputed
    from kernel import IdSource
    from plugins.embedder.core import EmbedderCore

    core = EmbedderCore(name, every=every)
    core.on_model(card(model, name=name))
    ids = IdSource("embedder")
    out: list[Any] = []
    for bar in series_bars:
        out.append(bar)
        fields = core.on_bar(bar)
        if fields is not None:
            ids.begin(bar.id)
            out.append(EmbeddingComputed(id=ids.next(), ts=bar.ts, producer="embedder",
                                         causation=bar.id, **fields))
    return out
