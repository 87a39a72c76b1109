"""Market-state embeddings: a TCN/VAE embedder, the pgvector store and analog search."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifact import EmbeddingModel
    from .shell import Embedder

__all__ = ["Embedder", "EmbeddingModel"]


def __getattr__(name: str) -> Any:
    # Lazy: importing torch takes over a second, and every process that discovers
    # plugins (keel backtest, keel run) imports this package without running it.
    if name == "Embedder":
        from .shell import Embedder

        return Embedder
    if name == "EmbeddingModel":
        from .artifact import EmbeddingModel

        return EmbeddingModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
