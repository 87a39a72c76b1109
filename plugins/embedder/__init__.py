"""Market-state embeddings: a TCN/VAE embedder, the pgvector store and analog search.

torch is imported only when a model is built or loaded (``EmbeddingModel``,
``plugins.embedder.artifact``): every ``keel`` command loads every plugin, and
``keel halt`` must not wait seconds for torch.
"""

from typing import Any

from .shell import Embedder

__all__ = ["Embedder", "EmbeddingModel"]


def __getattr__(name: str) -> Any:
    if name == "EmbeddingModel":
        from .artifact import EmbeddingModel

        return EmbeddingModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
